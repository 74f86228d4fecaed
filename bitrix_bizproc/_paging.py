"""Async walks over list methods: ``async for row in Paginator(...)``, ``.pages()``, ``.collect()``.

The strategy (see :mod:`bitrix_bizproc.protocol.paging` for what each guarantees under change) is picked
per method and may be overridden. Every walk is lazy: nothing is sent before iteration starts, breaking
out (or ``aclose()``, or cancelling the consuming task) cancels the requests still in flight, and
``limit`` stops the walk without fetching further pages. ``Paginator.aclose()`` works from any task: a
walk another task is iterating has its requests cancelled (their answers discarded) and its ``async for``
simply ends there, with no error.

A job that removes the rows it walks (terminating workflow instances takes them out of the list, shifting
every later offset) must not page by offset. Two safe patterns::

    ids = await client.paginate("bizproc.workflow.instances", params).snapshot_ids()  # then terminate
    async for inst in client.paginate("bizproc.workflow.instances", params).drain():  # re-reads start=0
        await client.workflows.terminate(inst["ID"])
"""

from __future__ import annotations

import asyncio
import copy
import logging
import types
import weakref
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from ._commands import send_commands
from .models.page import Page
from .protocol import paging as pg
from .protocol.batch import Ref, encode_command
from .protocol.dialect import PORTAL, Dialect
from .protocol.envelope import ApiResponse
from .protocol.errors import ClientValidationError, ServerError
from .protocol.window import LatencyEstimate, inflight_window

__all__ = ["DEFAULT_BUFFERED_PAGES", "Page", "Paginator", "SupportsSession"]

DEFAULT_BUFFERED_PAGES = 1_000  # the memory budget: 50,000 rows ahead (about 25 MB of instance rows)

if TYPE_CHECKING:  # rows are plain dicts unless an ``item`` parser says otherwise (PEP 696 default)
    from typing_extensions import TypeVar as _TypeVarWithDefault

    T = _TypeVarWithDefault("T", default=dict[str, Any])
else:
    T = TypeVar("T")
G = TypeVar("G", bound=AsyncGenerator[Any, None])
R = TypeVar("R")
F = TypeVar("F", bound="asyncio.Future[Any]")
log = logging.getLogger("bitrix_bizproc")


class _Session(Protocol):
    def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> Awaitable[ApiResponse]: ...


class SupportsSession(Protocol):
    """Anything with a ``session`` that can ``call`` (the client)."""

    @property
    def session(self) -> _Session: ...


def identity(row: Any) -> Any:
    """The default row parser: the row as the portal sent it."""
    return row


@attrs.frozen
class _Raw:
    rows: list[Any]
    total: int | None
    next: int | None


def _rows(result: Any, method: str) -> list[Any]:
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping):  # PHP: an empty list may arrive as {} and 0..n-1 keys as a map
        return list(result.values())
    if result in (None, ""):
        return []
    raise ServerError(f"a list method answered with {type(result).__name__}, not a list", method=method)


class _Closed(Exception):
    """Raised inside a walk that ``aclose()`` stopped from another task; the walk ends quietly."""


@attrs.define(eq=False)
class _Stop:
    """A walk's off switch: ``close()`` (from any task) cancels its requests in flight and ends it."""

    closing: bool = False
    inflight: set[asyncio.Future[Any]] = attrs.field(factory=set)
    finished: asyncio.Event = attrs.field(factory=asyncio.Event)

    def close(self) -> None:
        """Mark the walk closing and cancel what it awaits; its answers are discarded."""
        self.closing = True
        for future in list(self.inflight):
            future.cancel()

    def track(self, future: F) -> F:
        """Register a request task so that ``close()`` cancels it."""
        self.inflight.add(future)
        future.add_done_callback(self.inflight.discard)
        return future

    async def wait(self, request: Awaitable[R]) -> R:
        """Await ``request``; raises :class:`_Closed` if ``close()`` cancelled it (or came first)."""
        if self.closing:
            if isinstance(request, Coroutine):
                request.close()
            raise _Closed
        future = self.track(asyncio.ensure_future(request))
        try:
            return await future
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.closing and (task is None or not task.cancelling()):
                raise _Closed from None
            raise


def _check_limit(limit: object) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ClientValidationError(f"limit must be a non-negative int, got {limit!r}")


class Paginator(Generic[T]):
    """A lazy walk over a list method; iterate it for rows, or use ``pages()``/``collect()``.

    ``strategy`` is ``"auto"`` (keyset where the method allows it, else parallel offsets for known list
    methods, else sequential), or one of ``"sequential"``, ``"parallel"``, ``"keyset"``. Guarantees while
    rows change: no row is yielded twice (by ``id_key``); keyset never skips a row that matched throughout;
    offset walks can skip rows when earlier rows are removed (use :meth:`drain` or :meth:`snapshot_ids`).
    Without an ``order`` of the caller's, offset walks order by ``ID ASC`` and dedupe against the latest
    10,000 IDs (looked up, never compared: the portal's collation cannot hide a row); with one, every ID
    seen is kept.

    Parallel walks keep as many batches in flight as the limiter's rate times the measured latency (and
    its free slots) call for, so the bucket stays busy at any latency; ``max_buffered_pages`` is the
    memory budget: at most that many pages (of 50 rows) are fetched ahead of the consumer.
    """

    def __init__(
        self,
        client: SupportsSession,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        item: Callable[[Any], T] = identity,
        id_key: str = "ID",
        numeric_id: bool | None = None,
        strategy: str | pg.Strategy = "auto",
        dialect: Dialect = PORTAL,
        limit: int | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        max_buffered_pages: int = DEFAULT_BUFFERED_PAGES,
    ) -> None:
        _check_limit(limit)
        if (
            isinstance(max_buffered_pages, bool)
            or not isinstance(max_buffered_pages, int)
            or max_buffered_pages < 1
        ):
            raise ClientValidationError("max_buffered_pages must be a positive int")
        self._session = client.session
        self.method = method
        self._params = pg.normalize_list_params(params, id_key=id_key)
        fixed = dialect.list_order(method)
        if fixed and not self._params.order:  # the far side lists ``method`` in one order only
            self._params = attrs.evolve(self._params, order=dict(fixed))
        self.strategy = pg.choose_strategy(
            method, strategy, params=self._params, id_key=id_key, numeric_id=numeric_id
        )
        auto_keyset = self.strategy is pg.Strategy.KEYSET and strategy in ("auto", pg.Strategy.AUTO)
        if auto_keyset and not dialect.keyset_paging:  # the Vibecode gateway
            self.strategy = pg.Strategy.PARALLEL
        self._numeric = pg.numeric_ids(method, numeric_id)
        self._item = item
        self._id_key = id_key
        self._limit = limit
        self._progress = progress
        self._max_buffered = max_buffered_pages
        # Weak: a walk abandoned by ``break`` is finalized (and its requests cancelled) by the event loop.
        self._walks: weakref.WeakKeyDictionary[AsyncGenerator[Any, None], _Stop] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"Paginator({self.method!r}, strategy={self.strategy.value}, limit={self._limit})"

    # -- public views ------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncGenerator[T, None]:
        stop = _Stop()
        return self._track(self._items(stop), stop)

    def pages(self) -> AsyncGenerator[Page[T], None]:
        """The walk page by page as :class:`~bitrix_bizproc.models.Page` (repeats removed, ``limit`` applied).

        Each page's ``next`` is the offset the portal reported (``None`` on keyset walks, which do not count).
        """
        stop = _Stop()
        seen = pg.SeenIds.for_order(self._order(), self._id_key)
        return self._track(self._pages(self._walk(stop), seen, stop), stop)

    async def collect(self, limit: int | None = None) -> list[T]:
        """Every row of the walk (at most ``limit`` of them) in a list."""
        _check_limit(limit)
        cap = self._limit if limit is None else limit if self._limit is None else min(limit, self._limit)
        out: list[T] = []
        if cap == 0:
            return out
        stop = _Stop()  # not tracked: aclose() leaves a collect() alone (cancel its task instead)
        seen = pg.SeenIds.for_order(self._order(), self._id_key)
        walk = self._pages(self._walk(stop, cap), seen, stop, cap)
        async with aclosing(walk):
            async for page in walk:
                out.extend(page.items)
        return out

    async def snapshot_ids(self) -> list[Any]:
        """The IDs of every matching row, read before anything is changed (then terminate from this list)."""
        only_ids = copy.copy(self)
        only_ids._params = attrs.evolve(self._params, select=(self._id_key,))
        only_ids._item = identity
        only_ids._walks = weakref.WeakKeyDictionary()
        return [pg.id_value(row, self._id_key, numeric=self._numeric) for row in await only_ids.collect()]

    def drain(self) -> AsyncGenerator[T, None]:
        """Rows for a consumer that removes each one: every round re-reads from ``start=0``.

        Never skips a row that matches throughout, whatever this consumer removes; yields each ID once.
        Rows the consumer keeps (a failed termination) are skipped on later rounds at the cost of re-reads.
        Keeps the yielded IDs in memory.
        """
        stop = _Stop()
        return self._track(self._drain(stop), stop)

    async def aclose(self) -> None:
        """Stop every walk started from this paginator, from any task.

        Requests in flight are cancelled and their answers discarded. A walk another task is iterating
        ends quietly there: its ``async for`` loop finishes (no error, no cancellation of that task) after
        the rows already yielded. Returns once every walk has finished. :meth:`collect` is not affected.
        """
        walks = list(self._walks.items())
        for _, stop in walks:
            stop.close()
        for walk, stop in walks:
            if isinstance(walk, types.AsyncGeneratorType) and walk.ag_running:  # awaiting in another task
                await stop.finished.wait()
            else:
                await walk.aclose()

    async def __aenter__(self) -> Paginator[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plumbing ----------------------------------------------------------------------------------

    def _track(self, walk: G, stop: _Stop) -> G:
        self._walks[walk] = stop
        return walk

    def _order(self) -> dict[str, str]:
        if self.strategy is pg.Strategy.KEYSET:
            return {self._id_key: "ASC"}
        order: dict[str, str] = pg.stable_order(self._params, self._id_key)
        return order

    async def _items(self, stop: _Stop) -> AsyncGenerator[T, None]:
        pages = self.pages()
        try:
            async for page in pages:
                for item in page.items:
                    yield item
        finally:
            await pages.aclose()
            self._walks.pop(pages, None)
            stop.finished.set()

    async def _pages(
        self, walk: AsyncGenerator[_Raw, None], seen: pg.SeenIds, stop: _Stop, limit: int | None = None
    ) -> AsyncGenerator[Page[T], None]:
        limit = self._limit if limit is None else limit
        count = 0
        first_total: int | None = None
        try:
            async with aclosing(walk):
                if limit == 0:
                    return
                async for raw in walk:
                    ids = self._ids(raw.rows)
                    rows = raw.rows if limit is None else raw.rows[: limit - count]
                    items: list[T]
                    if seen.all_new(ids[: len(rows)]):  # the common page: no per-row bookkeeping
                        items = rows if self._item is identity else [self._item(r) for r in rows]
                        count += len(items)
                    else:
                        items = []
                        for row, row_id in zip(raw.rows, ids, strict=True):
                            if seen.first_time(row_id):
                                items.append(self._item(row))
                                count += 1
                                if count == limit:
                                    break
                    if first_total is None:
                        first_total = raw.total
                    elif raw.total is not None and raw.total < first_total:
                        self._warn_shrunk(first_total, raw.total)
                        first_total = raw.total
                    if self._progress is not None:
                        self._progress(count, raw.total)
                    yield Page(items, raw.total, raw.next)
                    if count == limit:
                        return
        except _Closed:
            return  # aclose() from another task: end quietly
        finally:
            stop.finished.set()

    def _ids(self, rows: list[Any]) -> list[Any]:
        """Each row's ID (as ``int`` for numeric IDs); plain dicts carrying the key take the fast way."""
        key = self._id_key
        try:
            ids = [row[key] for row in rows if type(row) is dict]
            if len(ids) == len(rows) and all(type(i) is str or type(i) is int for i in ids):
                return [int(i) for i in ids] if self._numeric else ids
        except (KeyError, ValueError):
            pass  # the careful way below raises the typed error
        return [pg.id_value(row, key, numeric=self._numeric) for row in rows]

    def _warn_shrunk(self, before: int, now: int) -> None:
        log.info(
            "%s: the list shrank from %d to %d rows during an offset walk, so rows may have been skipped;"
            " use snapshot_ids() or drain() when removing rows",
            self.method,
            before,
            now,
        )

    def _walk(self, stop: _Stop, limit: int | None = None) -> AsyncGenerator[_Raw, None]:
        _check_limit(limit)
        cap = self._limit if limit is None else limit
        if self.strategy is pg.Strategy.KEYSET:
            return self._keyset(stop, cap)
        if self.strategy is pg.Strategy.PARALLEL:
            return self._parallel(stop, cap)
        return self._sequential(stop)

    async def _get(self, params: Mapping[str, Any], stop: _Stop) -> _Raw:
        response = await stop.wait(self._session.call(self.method, params))
        return _Raw(_rows(response.result, self.method), response.total, response.next)

    async def _batch(
        self, commands: Mapping[str, Mapping[str, Any]], latency: LatencyEstimate | None = None
    ) -> list[_Raw | Exception]:
        """Send up to 50 page requests of this method as one ``batch``; each page or its own error."""
        wire = {key: encode_command(self.method, params) for key, params in commands.items()}
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent = await send_commands(self._session, wire, dict.fromkeys(wire, self.method))
        if latency is not None:
            latency.observe(loop.time() - started)
        out: list[_Raw | Exception] = []
        for outcome in sent.outcomes.values():
            if outcome.error is not None:
                out.append(outcome.error)
            else:
                out.append(_Raw(_rows(outcome.result, self.method), outcome.total, outcome.next))
        return out

    def _offset(self, start: int) -> dict[str, Any]:
        params: dict[str, Any] = pg.offset_params(self._params, start, id_key=self._id_key)
        return params

    # -- strategies --------------------------------------------------------------------------------

    async def _sequential(self, stop: _Stop) -> AsyncGenerator[_Raw, None]:
        """``start``/``next``, one request at a time."""
        start = 0
        while True:
            page = await self._get(self._offset(start), stop)
            yield page
            if page.next is None or not page.rows:
                return
            start = page.next

    async def _parallel(self, stop: _Stop, limit: int | None) -> AsyncGenerator[_Raw, None]:
        """The first page gives ``total``; the other offsets go out 50 pages a batch, a window ahead."""
        loop = asyncio.get_running_loop()
        sent = loop.time()
        first = await self._get(self._offset(0), stop)
        first_seconds = loop.time() - sent
        yield first
        if first.next is None or not first.rows:
            return
        if first.total is None:  # no count to plan by: go on one page at a time
            page = first
            while page.next is not None and page.rows:
                page = await self._get(self._offset(page.next), stop)
                yield page
            return
        per_batch = min(pg.MAX_BATCH_COMMANDS, self._max_buffered)
        plan = pg.OffsetPlan(limit, per_batch)
        plan.extend(first.next, first.total, len(first.rows))
        pending: deque[asyncio.Task[list[_Raw | Exception]]] = deque()
        latency = LatencyEstimate()
        latency.observe(first_seconds)
        try:
            while True:
                window = self._window(latency, per_batch)
                while len(pending) < window and (starts := plan.take()) is not None:
                    commands = {f"s{start}": self._offset(start) for start in starts}
                    pending.append(stop.track(asyncio.ensure_future(self._batch(commands, latency))))
                if not pending:
                    return
                results = await stop.wait(pending[0])
                pending.popleft()
                for result in results:
                    if isinstance(result, Exception):
                        raise result
                    yield result
                    plan.rows += len(result.rows)
                if any(isinstance(r, _Raw) and not r.rows for r in results):
                    plan.stop()  # the list ended before its reported total: plan no further
                last = results[-1]
                if not pending and plan.exhausted and isinstance(last, _Raw) and last.rows:
                    plan.extend(last.next, last.total, plan.rows)  # the list grew: walk on from here
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _window(self, latency: LatencyEstimate, pages_per_batch: int) -> int:
        """Batches to keep in flight now: Little's law on the limiter's pace, within the memory budget."""
        pace = getattr(getattr(self._session, "limiter", None), "pace", None)
        rate, free = pace() if callable(pace) else (None, None)
        return inflight_window(
            latency=latency.seconds,
            rate=rate,
            free_slots=free,
            rows_per_request=pages_per_batch * pg.PAGE_SIZE,
            budget_rows=self._max_buffered * pg.PAGE_SIZE,
        )

    async def _keyset(self, stop: _Stop, limit: int | None) -> AsyncGenerator[_Raw, None]:
        """``>ID`` after the last ID, ``start=-1``; after the first page, chains of pages in one batch."""
        page = await self._get(pg.keyset_params(self._params, None, id_key=self._id_key), stop)
        yield page
        rows, chain = len(page.rows), 2
        while len(page.rows) >= pg.PAGE_SIZE:
            wanted = pg.MAX_BATCH_COMMANDS if limit is None else pg.pages_needed(limit - rows)
            size = max(1, min(chain, wanted, self._max_buffered, pg.MAX_BATCH_COMMANDS))
            after: Any = pg.id_value(page.rows[-1], self._id_key, numeric=True)
            commands: dict[str, dict[str, Any]] = {}
            for i in range(size):
                commands[f"k{i}"] = pg.keyset_params(self._params, after, id_key=self._id_key)
                after = Ref(f"k{i}")[pg.PAGE_SIZE - 1][self._id_key]
            for result in await stop.wait(self._batch(commands)):
                if isinstance(result, Exception):
                    raise result
                page = result
                yield page
                rows += len(page.rows)
                if len(page.rows) < pg.PAGE_SIZE:
                    return  # later commands read a short page's missing row: their answers mean nothing
            chain *= 2

    async def _drain(self, stop: _Stop) -> AsyncGenerator[T, None]:
        seen: set[Any] = set()
        count = 0
        try:
            while self._limit is None or count < self._limit:
                start, fresh = 0, list[Any]()
                while not fresh:
                    page = await self._get(self._offset(start), stop)
                    fresh = [
                        r
                        for r in page.rows
                        if pg.id_value(r, self._id_key, numeric=self._numeric) not in seen
                    ]
                    if not fresh and (page.next is None or len(page.rows) < pg.PAGE_SIZE):
                        return
                    start = page.next if page.next is not None else start + pg.PAGE_SIZE
                for row in fresh:
                    seen.add(pg.id_value(row, self._id_key, numeric=self._numeric))
                    count += 1
                    if self._progress is not None:
                        self._progress(count, None)
                    yield self._item(row)
                    if count == self._limit:
                        return
        except _Closed:
            return  # aclose() from another task: end quietly
        finally:
            stop.finished.set()
