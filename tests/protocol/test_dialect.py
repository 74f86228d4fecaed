"""The dialects: what the REST portal and the Vibecode gateway can do, read by walks instead of probing."""

from __future__ import annotations

from bitrix_bizproc import BizprocClient
from bitrix_bizproc._paging import Paginator
from bitrix_bizproc.protocol import paging as pg
from bitrix_bizproc.protocol.dialect import PORTAL, VIBECODE

INSTANCES = "bizproc.workflow.instances"


def test_the_portal_filters_every_field_and_pages_by_keyset() -> None:
    assert PORTAL.served_filters(INSTANCES) is None and PORTAL.keyset_paging
    assert PORTAL.list_order(INSTANCES) is None


def test_the_gateway_filters_two_fields_in_one_order_by_offset() -> None:
    assert VIBECODE.served_filters(INSTANCES) == {"TEMPLATE_ID", "STARTED_BY"}
    assert VIBECODE.served_filters("bizproc.task.list") == frozenset()
    assert VIBECODE.list_order(INSTANCES.upper() + ".json") == {"MODIFIED": "DESC"}
    assert not VIBECODE.keyset_paging


async def test_a_client_hands_its_sessions_dialect_to_its_walks() -> None:
    key = "vibe_api_" + "a" * 16
    async with BizprocClient.from_vibecode(key, base_url="http://127.0.0.1:9/v1", limiter="off") as gateway:
        assert gateway.session.dialect is VIBECODE
        walk = gateway.paginate("bizproc.task.list")
        assert walk.strategy is pg.Strategy.PARALLEL  # auto picks keyset on a portal, offsets here
    webhook = "https://example.bitrix24.com/rest/1/abc/"
    async with BizprocClient.from_webhook(webhook, limiter="off") as portal:
        assert portal.session.dialect is PORTAL
        assert portal.paginate("bizproc.task.list").strategy is pg.Strategy.KEYSET
    assert isinstance(walk, Paginator)
