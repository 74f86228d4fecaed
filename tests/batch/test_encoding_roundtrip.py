"""Awkward parameter values survive a batch through the real emulator exactly as they would a direct call."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal

from .conftest import DEAL

AWKWARD = [
    "a&b=c",
    "x&ID=1&STATUS=hacked",
    "[0]",
    "]]",
    "100% done",
    "+1 %2B",
    "$5 [each]",
    "#frag?q=1",
    "Привет, мир",
    "日本語 テキスト",
    "emoji 🎉",
    "tab\there",
    "line\nbreak",
    "",
    " lead and trail ",
]


def _random_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    alphabet = "&=[]%$?#+ ;/\\\"'üß日€\t" + "abcXYZ019"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16))) for _ in range(n)]


async def test_awkward_status_texts_round_trip(
    client: BizprocClient, portal: EmulatedPortal, instances: Callable[[int], list[str]]
) -> None:
    texts = [t for t in AWKWARD if t.strip()] + _random_texts(60)
    ids = instances(len(texts))
    async with client.batch() as batch:
        commands = [batch.workflows.terminate(wf, status=text) for wf, text in zip(ids, texts, strict=True)]
    assert all(c.ok for c in commands)
    assert portal.counters.batches == 2 and portal.counters.requests == 2
    assert [portal.state.instance(wf).status_text for wf in ids] == texts


async def test_nested_parameters_round_trip(client: BizprocClient, portal: EmulatedPortal) -> None:
    names = ["text", "flag", "off", "when", "day", "items", "map", "nothing"]
    template = portal.state.add_template(
        "Typed", DEAL, parameters={name: {"Type": "string"} for name in names}
    )
    parameters: dict[str, Any] = {
        "text": "a&b=c [x] 100% $y ünï",
        "flag": True,
        "off": False,
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "day": dt.date(2024, 2, 29),
        "items": ["a&b", ["c=d", "e"], {"k": "v["}],
        "map": {"x&y": {"z": "1"}, "日本": "語"},
        "nothing": None,
    }
    async with client.batch() as batch:
        started = batch.workflows.start(template.id, ["crm", "CCrmDocumentDeal", "DEAL_9"], parameters)
    stored = portal.state.instance(started.result()).parameters
    assert stored["text"] == parameters["text"]
    assert stored["flag"] == "1"
    assert (
        stored.get("off", "0") == "0"
    )  # PHP's empty("0"): the portal may drop it, as it drops a direct false
    assert stored["when"] == "2024-01-02T03:04:05+00:00"
    assert stored["day"] == "2024-02-29"
    assert stored["items"] == ["a&b", ["c=d", "e"], {"k": "v["}]
    assert stored["map"] == {"x&y": {"z": "1"}, "日本": "語"}
    assert "nothing" not in stored or stored["nothing"] in ("", None)


async def test_text_that_looks_like_a_reference_is_sent_alone_and_kept_literally(
    client: BizprocClient, portal: EmulatedPortal, instances: Callable[[int], list[str]]
) -> None:
    ids = instances(3)
    async with client.batch() as batch:
        batch.workflows.terminate(ids[0], status="ok")
        literal = batch.workflows.terminate(ids[1], status="$result[c0]")
        batch.workflows.terminate(ids[2], status="ok")
    assert literal.ok
    assert portal.state.instance(ids[1]).status_text == "$result[c0]"  # inside a batch it would read "1"
    assert (portal.counters.requests, portal.counters.batches) == (2, 1)


async def test_names_a_query_string_cannot_carry_go_alone(
    client: BizprocClient, portal: EmulatedPortal, instances: Callable[[int], list[str]]
) -> None:
    template = portal.state.add_template("Typed", DEAL, parameters={"data": {"Type": "string"}})
    ids = instances(2)
    async with client.batch() as batch:
        batch.workflows.terminate(ids[0])
        started = batch.workflows.start(
            template.id, ["crm", "CCrmDocumentDeal", "DEAL_1"], {"data": {"k]": "v"}}
        )
        batch.workflows.terminate(ids[1])
    assert portal.state.instance(started.result()).parameters == {"data": {"k]": "v"}}
    assert (portal.counters.requests, portal.counters.batches) == (2, 1)
