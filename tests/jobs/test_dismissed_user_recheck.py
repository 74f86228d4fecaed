"""The dismissed employee an offboarding acts on is the one named, and provably dismissed.

``user.get`` keeps a filter key only if its field is among the fields the caller's scope may read, and
drops the rest silently (avshatalov48/bitrix-core-business modules/rest/lib/api/user.php,
prepareUserFilter: ``if (in_array($code, $allowedUserFields, true))``). A dropped ``NAME`` or ``ACTIVE``
widens the answer; the job must check each returned user against what it asked for.
"""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc import BizprocClient, NotFoundError, ValidationError
from bitrix_bizproc.emulator.handlers import dispatch
from bitrix_bizproc.jobs import offboard_employee

from ._seed import PortalFactory, seed_dismissed_employee
from .conftest import FAST_RETRY


def _dropping(field: str) -> Any:
    """A portal whose ``user.get`` ignores the filter condition on ``field``."""

    def dispatcher(state: Any, ctx: Any, method: str, params: dict[str, Any]) -> Any:
        if method == "user.get":
            filter = {k: v for k, v in (params.get("FILTER") or {}).items() if k.upper() != field}
            params = {**params, "FILTER": filter}
        return dispatch(state, ctx, method, params)

    return dispatcher


@pytest.mark.parametrize(
    ("dropped", "users", "asked"),
    [
        ("NAME", [("Maria", "Petrova", False)], "Anna Petrova"),  # another dismissed Petrova
        ("ACTIVE", [("Anna", "Petrova", True)], "Anna Petrova"),  # Anna still works here
        ("ACTIVE", [("Anna", "Petrova", True)], "id"),
    ],
)
async def test_a_user_the_portal_returns_but_that_was_not_asked_for_is_never_offboarded(
    portal_factory: PortalFactory, dropped: str, users: list[tuple[str, str, bool]], asked: str
) -> None:
    portal = await portal_factory(dispatcher=_dropping(dropped))
    state = portal.state
    state.add_user("Admin", "Adminov", id=1, is_admin=True)
    made = [state.add_user(first, last, active=active) for first, last, active in users]
    target: int | str = made[0].id if asked == "id" else asked
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        with pytest.raises(NotFoundError):
            await offboard_employee(client, user=target, dry_run=True)


async def test_a_dismissed_recipient_is_refused_even_when_the_portal_drops_active(
    portal_factory: PortalFactory,
) -> None:
    portal = await portal_factory(dispatcher=_dropping("ACTIVE"))
    anna = seed_dismissed_employee(portal, workflows=2)
    gone = portal.state.add_user("Oleg", "Gone", active=False)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        with pytest.raises(ValidationError, match="not active"):
            await offboard_employee(client, user=anna.user_id, action="delegate", to_user=gone.id)
    assert not [t for t in portal.state.tasks if t.user_id == gone.id]


async def test_a_not_found_message_reads_one_page_of_active_users_when_the_portal_drops_name(
    portal_factory: PortalFactory,
) -> None:
    """Building the "still active" hint must not walk every active user of a portal that drops NAME."""
    calls: list[int] = []
    dropping = _dropping("NAME")

    def dispatcher(state: Any, ctx: Any, method: str, params: dict[str, Any]) -> Any:
        if method == "user.get":
            calls.append(int(params.get("START") or 0))
        return dropping(state, ctx, method, params)

    portal = await portal_factory(dispatcher=dispatcher)
    state = portal.state
    state.add_user("Admin", "Adminov", id=1, is_admin=True)
    for i in range(160):  # four pages of active users, none of them the one asked for
        state.add_user(f"Worker{i}", "Busy")
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        with pytest.raises(NotFoundError):
            await offboard_employee(client, user="Nobody", dry_run=True)
    assert len(calls) == 2  # the inactive users (none), then one page of active ones
