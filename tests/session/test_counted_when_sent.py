"""The limiter counts a request when it is handed to the transport, not when its slot was granted.

The portal's bucket counts a request when it reads it. A slot granted before the request is built (or to a
waiter that runs late) drains in the client's count while the request has not left yet; requests that then
leave together reach the portal bunched, over the burst the client thought it kept.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bitrix_bizproc._auth import WebhookAuth
from bitrix_bizproc._limiter import Limiter
from bitrix_bizproc._session import Session
from bitrix_bizproc._transport import HttpRequest, HttpResponse
from bitrix_bizproc.protocol.auth import WebhookCredentials
from bitrix_bizproc.protocol.errors import TokenStoreError, TransportError
from bitrix_bizproc.protocol.limits import BucketSpec

OK = HttpResponse(200, b'{"result": true, "time": {"start": 1.0, "finish": 1.0}}')


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class SlowAuth:
    """Builds requests slowly (``build`` seconds of the clock each) with the token current at that moment."""

    def __init__(self, clock: Clock, build: float) -> None:
        self.clock = clock
        self.build = build
        self.token = "token-1"

    async def request(self, method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        self.clock.now += self.build
        body = json.dumps({**params, "auth": self.token}).encode()
        return HttpRequest("POST", f"https://portal.example/rest/{method}", body), self.token

    async def on_expired(self, used: object) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        return (self.token,)


class Transport:
    """Records the clock and the body of each request handed to it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, bytes]] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append((self.clock.now, request.body or b""))
        return OK

    async def aclose(self) -> None:
        pass


def _session(spec: BucketSpec, build: float = 0.0) -> tuple[Session, SlowAuth]:
    clock = Clock()
    auth = SlowAuth(clock, build)
    limiter = Limiter(spec, clock=clock, sleep=clock.sleep)
    session = Session(auth=auth, transport=Transport(clock), limiter=limiter, clock=clock, sleep=clock.sleep)
    return session, auth


async def test_a_request_is_counted_at_hand_off_not_before_it_is_built() -> None:
    session, _ = _session(BucketSpec(rate=10.0, burst=5, headroom=0), build=0.05)
    await session.call("user.get")
    handed_at = session.transport.sent[0][0]  # type: ignore[attr-defined]
    bucket = session.limiter.bucket
    assert bucket is not None
    # Counted from the moment it left: a whole request pending then, none drained while it was being built.
    assert bucket.level(handed_at) == pytest.approx(1.0)
    await session.aclose()


async def test_a_waiter_is_counted_when_it_leaves_and_carries_the_token_current_then() -> None:
    session, auth = _session(BucketSpec(rate=1.0, burst=1, headroom=0))
    await session.call("user.get")  # fills the bucket: the next call waits one second
    waiting = asyncio.create_task(session.call("user.get"))
    await asyncio.sleep(0)
    auth.token = "token-2"  # refreshed while the call waited for its slot
    await waiting
    sent = session.transport.sent  # type: ignore[attr-defined]
    assert json.loads(sent[1][1])["auth"] == "token-2"
    assert session.limiter.bucket is not None
    assert session.limiter.bucket.level(sent[1][0]) == pytest.approx(1.0)
    await session.aclose()


async def test_a_slot_whose_request_never_left_is_given_back() -> None:
    session, auth = _session(BucketSpec(rate=1.0, burst=2, headroom=0))
    await session.call("user.get")  # one of the two places taken
    assert session.limiter.pace() == (1.0, 1)
    calls = 0

    async def broken_after_the_wait(method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        nonlocal calls
        calls += 1
        if calls > 1:  # the rebuild after a wait for the place (e.g. the token store failed meanwhile)
            raise TokenStoreError("the store failed", code="TOKEN_STORE_FAILED")
        return await SlowAuth.request(auth, method, params)

    auth.request = broken_after_the_wait  # type: ignore[method-assign]
    await session.call("user.get")  # the second place: no wait, built once
    calls = 0
    with pytest.raises(TokenStoreError):
        await session.call("user.get")  # waits for a place, then its rebuild fails: nothing leaves
    assert len(session.transport.sent) == 2  # type: ignore[attr-defined]
    bucket = session.limiter.bucket
    assert bucket is not None and bucket.held == 0  # the place went back
    await session.aclose()


async def test_a_place_let_go_still_counts_while_its_request_is_rebuilt_slowly() -> None:
    """The next waiter is not let go while the one before still holds its place (a slow token refresh).

    A held place counts in full until its request leaves; letting the next waiter go after the wait
    computed when the place was granted sends both at once when the first rebuild outlasts that wait.
    """
    session, auth = _session(BucketSpec(rate=1.0, burst=1, headroom=0))
    await session.call("user.get")  # fills the bucket: the next calls wait
    bucket = session.limiter.bucket
    assert bucket is not None
    refreshed = False

    async def refreshing_once(method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        nonlocal refreshed
        if bucket.held and not refreshed:  # the first rebuild after a wait: its token is refreshed (1.5 s)
            refreshed = True
            await session.limiter._sleep(1.5)
        return await SlowAuth.request(auth, method, params)

    auth.request = refreshing_once  # type: ignore[method-assign]
    await asyncio.gather(session.call("user.get"), session.call("user.get"))
    times = [at for at, _ in session.transport.sent]  # type: ignore[attr-defined]
    assert len(times) == 3 and refreshed
    assert times[2] - times[1] >= 1.0 - 1e-9  # one bucket of 1 at 1/s: a second apart at the portal
    await session.aclose()


class Failing(Transport):
    """Answers, fails, or hangs, as told per request."""

    def __init__(self, clock: Clock, outcomes: list[str]) -> None:
        super().__init__(clock)
        self.outcomes = outcomes

    async def send(self, request: HttpRequest) -> HttpResponse:
        await super().send(request)
        outcome = self.outcomes.pop(0)
        if outcome == "reset":
            raise TransportError(
                "connection lost", code="CONNECTION_ERROR", details={"sent": True, "timeout": False}
            )
        if outcome == "hang":
            await asyncio.Event().wait()
        if outcome == "500":
            return HttpResponse(500, b"<html>Internal Server Error</html>")
        return OK


async def test_every_try_reports_its_answer_or_its_loss() -> None:
    """The answer bound counts a request in full until its try ends; every ending is reported once."""
    clock = Clock()
    spec = BucketSpec(rate=10.0, burst=5, jitter_allowance=1.0)
    limiter = Limiter(spec, clock=clock, sleep=clock.sleep)
    transport = Failing(clock, ["ok", "500", "reset", "ok", "hang"])
    session = Session(
        auth=SlowAuth(clock, 0.0), transport=transport, limiter=limiter, clock=clock, sleep=clock.sleep
    )
    bucket = limiter.bucket
    assert bucket is not None
    await session.call("user.get")  # answered
    assert bucket.in_flight == 0 and bucket._answered_level(clock.now) == pytest.approx(1.0)
    await session.call("user.get")  # a 500 page, retried, then reset, retried, then answered: 3 tries
    assert len(transport.sent) == 4
    assert bucket.in_flight == 0
    lost_until = transport.sent[2][0] + spec.jitter_allowance
    assert bucket._answered_t == pytest.approx(lost_until)  # the reset counts as arriving an allowance later
    hanging = asyncio.create_task(session.call("user.get"))
    for _ in range(50):  # until it has reached the transport (after the pacer's wait, if any)
        if len(transport.sent) == 5:
            break
        await asyncio.sleep(0)
    assert bucket.in_flight == 1  # on its way: in full
    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging
    assert bucket.in_flight == 0  # a cancelled try is a lost one
    await session.aclose()


async def test_a_webhook_request_is_built_once_even_after_a_wait() -> None:
    """A webhook's request does not change while it waits for its place: it is not encoded again."""
    clock = Clock()
    auth = WebhookAuth(WebhookCredentials.parse("https://portal.example/rest/1/secretcode/"))
    built: list[str] = []
    encode = auth.request

    async def counting(method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        built.append(method)
        return await encode(method, params)

    auth.request = counting  # type: ignore[method-assign]
    limiter = Limiter(BucketSpec(rate=1.0, burst=1, headroom=0), clock=clock, sleep=clock.sleep)
    session = Session(auth=auth, transport=Transport(clock), limiter=limiter, clock=clock, sleep=clock.sleep)
    await session.call("user.get")
    await session.call("user.get")  # waits a second for its place
    assert len(session.transport.sent) == 2  # type: ignore[attr-defined]
    assert built == ["user.get", "user.get"]  # once each (a token-based auth builds it again after the wait)
    await session.aclose()


# The docs' example of an answer's `time` block (settings/performance/limits.md): 0.62 s in all, of which
# the method ran 0.032 s.
DOCS_TIME = (
    b'{"result": true, "time": {"start": 1778747192.910734, "finish": 1778747193.530359, '
    b'"duration": 0.6196250915527344, "processing": 0.032338857650756836, '
    b'"date_start": "2026-05-14T10:26:32+02:00", "date_finish": "2026-05-14T10:26:33+02:00", '
    b'"operating_reset_at": 1778747792, "operating": 3.3076241016387939}}'
)


class AnsweredSpy(Limiter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[bool, float | None, float | None]] = []

    def answered(
        self, *, lost: bool = False, processing: float | None = None, sent: float | None = None
    ) -> None:
        self.seen.append((lost, processing, sent))
        super().answered(lost=lost, processing=processing, sent=sent)


async def test_an_answer_counts_from_before_the_portal_ran_it() -> None:
    """The session hands the limiter the answer's ``time.processing`` and the moment the request left."""
    clock = Clock()

    class Slow(Transport):
        async def send(self, request: HttpRequest) -> HttpResponse:
            self.clock.now += 0.62
            return HttpResponse(200, DOCS_TIME)

    limiter = AnsweredSpy(BucketSpec(rate=2.0, burst=50), clock=clock, sleep=clock.sleep)
    session = Session(auth=SlowAuth(clock, 0.0), transport=Slow(clock), limiter=limiter, clock=clock)
    await session.call("user.get", {})
    assert limiter.seen == [(False, pytest.approx(0.032338857650756836), 1000.0)]


def test_processing_never_counts_a_request_from_before_it_left() -> None:
    clock = Clock()
    spec = BucketSpec(rate=1.0, burst=5, headroom=4)
    limiters = [Limiter(spec, clock=clock) for _ in range(3)]
    for limiter in limiters:
        for _ in range(5):
            assert limiter.try_acquire("m", hold=True)
    sent = []
    for limiter in limiters:
        moments = [limiter.sent() for _ in range(5)]
        sent.append(moments[0])
    clock.now += 2.0
    for _ in range(5):
        limiters[0].answered(processing=1.5, sent=sent[0])  # it ran 1.5 s of the 2 s since it left
        limiters[1].answered(processing=float("nan"), sent=sent[1])
        limiters[2].answered()
    free = [limiter.pace()[1] for limiter in limiters[:3]]
    assert free[0] == 1  # counted from 1.5 s ago: one slot drained
    assert free[1] == free[2] == 0  # counted from now


def test_an_impossible_processing_figure_counts_as_none() -> None:
    """A request reaches the portal after it leaves, so it cannot have run for all the time since.

    ``time.processing`` as long as the round trip (or longer: an odd block, a simulated figure) is not
    the portal's: clamped to the round trip it would count the request from the moment it left, before
    the portal counted it, and the answer bound (no headroom) would let the client overfill the bucket.
    """
    clock = Clock()
    spec = BucketSpec(rate=1.0, burst=5, headroom=4)
    limiters = [Limiter(spec, clock=clock) for _ in range(2)]
    sent = []
    for limiter in limiters:
        for _ in range(5):
            assert limiter.try_acquire("m", hold=True)
        moments = [limiter.sent() for _ in range(5)]
        sent.append(moments[0])
    clock.now += 2.0
    for _ in range(5):
        limiters[0].answered(processing=100.0, sent=sent[0])  # more than the 2 s since it left
        limiters[1].answered(processing=2.0, sent=sent[1])  # all of it: no time to get there and back
    # Had they reached the portal 0.1 s after they left, it would hold 5 - 1.9 = 3.1 of 5: one slot free,
    # not the two that counting from the moment they left makes.
    assert [limiter.pace()[1] for limiter in limiters] == [0, 0]  # counted from now, as with no figure


async def test_a_processing_longer_than_its_own_duration_counts_as_none() -> None:
    """``processing`` is a part of the request's ``duration`` (``finish - start``,
    api-reference/data-types.md; every recorded answer has it smaller, settings/performance/huge-data.md
    and settings/how-to-call-rest-api/batch.md included): a block that says otherwise is odd, unused."""
    clock = Clock()
    odd = DOCS_TIME.replace(b'"processing": 0.032338857650756836', b'"processing": 0.6')
    odd = odd.replace(b'"duration": 0.6196250915527344', b'"duration": 0.1')

    class Slow(Transport):
        async def send(self, request: HttpRequest) -> HttpResponse:
            self.clock.now += 0.62
            return HttpResponse(200, odd)

    limiter = AnsweredSpy(BucketSpec(rate=2.0, burst=50), clock=clock, sleep=clock.sleep)
    session = Session(auth=SlowAuth(clock, 0.0), transport=Slow(clock), limiter=limiter, clock=clock)
    await session.call("user.get", {})
    assert limiter.seen == [(False, None, 1000.0)]
