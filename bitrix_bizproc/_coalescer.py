"""Automatic coalescing: concurrent calls grouped into shared ``batch`` requests, each caller its own answer.

The client routes ``await client.workflows.terminate(id)`` here when ``auto_batch=True``: calls that
arrive within ``window`` seconds of each other go out together, up to 50 per request (a full group leaves
at once). A call alone goes out as a plain call. Whatever cannot ride in a batch goes out on its own.

Cancellation: a caller cancelled before its group leaves is dropped (never sent). A caller cancelled after
its command was sent cannot take it back: the command may run. Such commands are recorded, not dropped:
``unclaimed`` lists each one's method and outcome (``done``, the error code, or ``unknown``) and a warning
is logged, so the work the portal did for nobody is visible.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from ._call import Call
from ._commands import CommandSession, send_commands
from ._tasks import wait_for_all
from .protocol.batch import MAX_COMMANDS, encode_command, survey
from .protocol.envelope import ApiResponse
from .protocol.errors import BitrixError, ClientValidationError
from .protocol.methods import method_info

logger = logging.getLogger("bitrix_bizproc")

__all__ = ["MAX_CONCURRENT_BATCHES", "BatchSession", "Coalescer", "Queued", "Turns", "fits_batch"]

T = TypeVar("T")

MAX_CONCURRENT_BATCHES = 64
"""Batch requests a composer or coalescer has in flight or queued in the limiter at once.

Above the standard burst of 50, so a first burst leaves at once; the rest wait unencoded, and are encoded
as senders free up: the first requests are not held back while thousands of commands are encoded.
"""


BatchSession = CommandSession  # the name the composer and the coalescer have used


class Turns:
    """Encoding turns: one batch encoded and handed over per pass of the event loop.

    Encoding a batch is CPU work, and a request handed to the transport reaches its socket only when the
    event loop next polls. Were a burst's batches encoded back to back, the first request would leave after
    the last was encoded, all of them together, while the limiter had counted them one by one as they were
    handed over: the portal would see them bunched, above the burst the client kept. One turn per pass lets
    each request leave (the loop polls between turns) before the next is encoded.
    """

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._taken = False  # a turn was given in this pass of the loop

    async def take(self) -> None:
        """Wait for a turn: at once if none was given in this pass, else in a later pass, in FIFO order."""
        loop = asyncio.get_running_loop()
        if not self._taken and not self._waiting:
            self._taken = True
            loop.call_soon(self._next)
            return
        turn = loop.create_future()
        self._waiting.append(turn)
        await turn

    def _next(self) -> None:
        """At the next pass: hand the turn to the first caller still waiting."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                turn.get_loop().call_soon(self._next)
                return
        self._taken = False


def fits_batch(method: str, fits: bool, batchable: bool = True) -> bool:
    """Whether a command rides in a batch: its parameters (``fits``), the call and the method allow it."""
    return fits and batchable and method_info(method).batchable


class Queued(Generic[T]):
    """A call waiting in a coalescer; ``_future`` (set when queued) takes its parsed answer.

    A :class:`~bitrix_bizproc.DirectCall` is one itself, so an awaited call is queued as it is.
    """

    __slots__ = ("_future", "call")

    def __init__(self, call: Call[T]) -> None:
        self.call = call
        self._future: asyncio.Future[T]


def _reject(item: Queued[Any], error: BaseException) -> bool:
    """Hand the error to the caller; False if the caller has gone (cancelled)."""
    if item._future.done():
        return False
    item._future.set_exception(error)
    return True


def _response(response: ApiResponse) -> ApiResponse:
    """The parser of :meth:`Coalescer.submit`: the answer itself."""
    return response


_KEYS = tuple(f"c{n}" for n in range(MAX_COMMANDS))  # a batch's command keys, in order


class Coalescer:
    """Groups concurrent calls into ``batch`` requests; each caller still gets its own answer."""

    def __init__(self, session: BatchSession, *, window: float = 0.005, max_size: int = MAX_COMMANDS) -> None:
        if not 0 <= window <= 1:
            raise ClientValidationError(f"window must be between 0 and 1 second, got {window!r}")
        if not 1 <= max_size <= MAX_COMMANDS:
            raise ClientValidationError(f"max_size must be between 1 and {MAX_COMMANDS}, got {max_size!r}")
        self._session = session
        self.window = window
        self.max_size = max_size
        self._queue: list[Queued[Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._groups: deque[list[Queued[Any]]] = deque()  # flushed, waiting for a sender
        self._senders = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns = Turns()
        self._closed = False
        self.unclaimed: list[tuple[str, str]] = []  # (method, outcome) of commands sent for cancelled callers

    @property
    def pending(self) -> int:
        """Calls queued for the next batch."""
        return len(self._queue)

    async def submit(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        """Send one call, inside a shared batch when others are in flight; raises the call's typed error."""
        if idempotent is None:
            idempotent = not method_info(method).creates
        queued = Queued(Call(method, params or {}, _response, idempotent))
        if not self.enqueue(queued):
            return await self._session.call(method, params or {}, idempotent=idempotent)
        try:
            return await queued._future
        except GeneratorExit:  # collected unfinished: the queue and its loop are gone too
            raise
        except BaseException:
            self.gave_up(queued)
            raise

    def enqueue(self, item: Queued[Any]) -> bool:
        """Queue ``item`` for a shared batch and give it the future of its answer (False: send it alone)."""
        if self._closed:
            raise RuntimeError("the coalescer is closed")
        call = item.call
        if not call.plain:  # its service did not check it: survey it
            found = survey(call.method, call.params)
            if found.refs:
                raise ClientValidationError(
                    "references ($result[...]) work only inside `client.batch()`", method=call.method
                )
            if not fits_batch(call.method, found.fits, call.batchable):
                return False
        loop = asyncio.get_running_loop()
        item._future = loop.create_future()
        queue = self._queue
        queue.append(item)
        if len(queue) >= self.max_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.window, self._flush)
        return True

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._queue = self._queue, []
        if items:
            self._groups.append(items)
            if self._senders < MAX_CONCURRENT_BATCHES:
                self._senders += 1
                task = asyncio.get_running_loop().create_task(self._drain())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        """Send flushed groups in order until none is left."""
        try:
            while self._groups:  # callers that gave up meanwhile are dropped
                items = [i for i in self._groups.popleft() if not i._future.done()]
                if items:
                    await self._send(items)
        except asyncio.CancelledError:
            if self._senders == 1:  # the last sender: nobody is left to send the rest
                while self._groups:
                    for item in self._groups.popleft():
                        item._future.cancel()
            raise
        finally:
            self._senders -= 1

    async def _send(self, items: list[Queued[Any]]) -> None:
        try:
            if len(items) == 1:  # alone: a direct call costs the same and reads simpler
                item = items[0]
                call = item.call
                answer = await self._session.call(call.method, call.params, idempotent=call.idempotent)
                if not item._future.done():
                    self._deliver(item._future, call.read, answer)
                else:
                    self._unclaimed(item, "done")
            else:
                await self._send_batch(items)
        except Exception as exc:  # the whole request failed (after the session's retries), or a bug
            for item in items:
                if not _reject(item, exc):
                    self._unclaimed(item, getattr(exc, "code", "") or type(exc).__name__)
        except asyncio.CancelledError:  # never leave a caller waiting forever
            for item in items:
                if item._future.done():
                    self._unclaimed(item, "unknown")
                item._future.cancel()
            raise

    @staticmethod
    def _deliver(future: asyncio.Future[T], read: Callable[[Any], T], answer: Any) -> None:
        """Parse ``answer`` for a caller still waiting: its value, or its typed error."""
        try:
            value = read(answer)
        except BitrixError as exc:
            future.set_exception(exc)
        else:
            future.set_result(value)

    def gave_up(self, item: Queued[Any]) -> None:
        """``item``'s caller left its wait by an exception: not sent if it is still queued, else recorded.

        A cancellation usually cancels the future itself; one that comes after the answer is in (a task
        group cancelling a sibling woken in the same pass), or another exception, leaves it to this.
        """
        future = item._future
        if not future.done():
            future.cancel()  # dropped if its group has not left yet, recorded when its answer comes
        elif not future.cancelled():
            error = future.exception()
            outcome = "done" if error is None else getattr(error, "code", "") or type(error).__name__
            self._unclaimed(item, outcome)

    def _unclaimed(self, item: Queued[Any], outcome: str) -> None:
        """Record a command that was sent for a caller who had already given up."""
        method = item.call.method
        self.unclaimed.append((method, outcome))
        logger.warning("%s was sent for a cancelled caller; outcome: %s", method, outcome)

    async def _send_batch(self, items: list[Queued[Any]]) -> None:
        await self._turns.take()  # encoded and handed over in a pass of its own: it leaves as it is counted
        queued: dict[str, Queued[Any]] = {}
        commands: dict[str, str] = {}
        methods: dict[str, str] = {}
        idempotent = True
        live = [i for i in items if not i._future.done()]  # callers that gave up during the wait
        for key, item in zip(_KEYS, live, strict=False):
            call = item.call
            try:
                commands[key] = encode_command(call.method, call.params)
            except BitrixError as exc:  # this caller's bad value fails this caller only
                _reject(item, exc)
            else:
                queued[key] = item
                methods[key] = call.method
                idempotent = idempotent and call.idempotent
        if not queued:
            return
        outcomes = (await send_commands(self._session, commands, methods, idempotent=idempotent)).outcomes
        for key, item in queued.items():
            outcome = outcomes[key]
            error = outcome.error
            future = item._future
            if future.done():
                self._unclaimed(item, "done" if error is None else error.code or type(error).__name__)
            elif error is not None:
                future.set_exception(error)
            else:
                try:
                    value = item.call.read_outcome(outcome)
                except BitrixError as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(value)

    async def aclose(self) -> None:
        """Send what is queued, wait for every batch in flight, and refuse new calls."""
        self._closed = True
        self._flush()
        await wait_for_all(self._tasks)
