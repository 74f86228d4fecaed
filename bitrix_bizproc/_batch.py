"""Sending many calls as ``batch`` requests: the explicit composer and the automatic coalescer.

``async with client.batch() as batch:`` queues commands (through the same service namespaces as the
client) and sends them on leaving the block: chunks of at most 50, concurrently, each command resolving to
its own result or typed error. :class:`Coalescer` groups concurrent awaited calls into batches by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from ._call import Call, Pending
from .protocol.batch import (
    MAX_COMMANDS,
    CommandOutcome,
    Ref,
    batch_form,
    build_batch_params,
    chunk,
    parse_batch_result,
    references,
)
from .protocol.encoding import normalize
from .protocol.envelope import ApiResponse
from .protocol.errors import BitrixError, NotExecutedError, ServerError, ValidationError
from .protocol.methods import method_info

if TYPE_CHECKING:  # the namespaces live a layer above; the composer borrows the client's classes
    from .services import (
        ActivitiesService,
        EventsService,
        RobotsService,
        TasksService,
        TemplatesService,
        UsersService,
        WorkflowsService,
    )

__all__ = ["BatchCommand", "BatchComposer", "BatchExecutor", "BatchSession", "Coalescer"]

T = TypeVar("T")


class BatchSession(Protocol):
    """What batching needs from the session: one call, with its limiter, auth refresh and retries."""

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = True
    ) -> ApiResponse:
        """Send one request and return its answer, or raise its typed error."""
        ...


class _Client(Protocol):
    @property
    def session(self) -> BatchSession: ...


def _refused(message: str, method: str | None = None) -> ValidationError:
    return ValidationError(message, code="CLIENT_VALIDATION", method=method)


def _batch_form(method: str, params: Mapping[str, Any], batchable: bool = True) -> str | None:
    """The command's text inside a batch, or ``None`` when it must go on its own."""
    if not (batchable and method_info(method).batchable):
        return None
    return batch_form(method, params)


def _read(call: Call[T], response: ApiResponse) -> T:
    try:
        return call.parse(response)
    except BitrixError:
        raise
    except Exception as exc:  # a parser bug or an answer of an unexpected shape
        raise ServerError(f"could not read the answer: {exc}", method=call.method) from exc


class BatchCommand(Pending[T]):
    """A command queued in a :class:`BatchComposer`; its outcome is known once the block is left."""

    def __init__(self, call: Call[T], key: str) -> None:
        self.call = call
        self.key = key
        self._done = False
        self._value: T | None = None
        self._error: BitrixError | None = None
        self._executed = False

    @property
    def ref(self) -> Ref:
        """A reference to this command's answer for later commands: ``cmd.ref["0"]["ID"]``."""
        return Ref(self.key, origin=self)

    @property
    def done(self) -> bool:
        """Whether the outcome is known."""
        return self._done

    @property
    def error(self) -> BitrixError | None:
        """The command's own typed error, or ``None``."""
        return self._error

    @property
    def executed(self) -> bool:
        """False when the portal never ran the command (``halt=True`` stopped the batch before it)."""
        return self._executed

    def result(self) -> T:
        """The parsed result; raises the command's error (or :class:`RuntimeError` before sending)."""
        if not self._done:
            raise RuntimeError("the batch has not been sent yet: leave the `async with` block first")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def __await__(self) -> Generator[Any, None, T]:
        return _resolved(self).__await__()

    def _succeed(self, value: T) -> None:
        self._value, self._done, self._executed = value, True, True

    def _fail(self, error: BitrixError, *, executed: bool = True) -> None:
        self._error, self._done, self._executed = error, True, executed

    def _settle(self, outcome: CommandOutcome) -> None:
        if outcome.error is not None:
            self._fail(outcome.error, executed=outcome.executed)
            return
        try:
            self._succeed(_read(self.call, outcome.as_response(self.call.method)))
        except BitrixError as exc:
            self._fail(exc)

    def __repr__(self) -> str:
        state = "pending" if not self._done else ("ok" if self._error is None else type(self._error).__name__)
        return f"<BatchCommand {self.key} {self.call.method} {state}>"


async def _resolved(command: BatchCommand[T]) -> T:
    return command.result()


class BatchExecutor:
    """The executor service namespaces use inside a composer: it queues instead of sending."""

    client: None = None  # no client: paging (which needs more requests) is refused inside a batch

    def __init__(self, composer: BatchComposer) -> None:
        self._composer = composer

    def submit(self, call: Call[T]) -> BatchCommand[T]:
        """Queue ``call`` and return its handle."""
        return self._composer._add(call)


@attrs.frozen
class _Chunk:
    commands: Sequence[BatchCommand[Any]]
    forms: Mapping[str, str]  # key -> "method?query"

    def params(self, halt: bool) -> dict[str, Any]:
        return build_batch_params({c.key: self.forms[c.key] for c in self.commands}, halt=halt)

    @property
    def idempotent(self) -> bool:
        return all(c.call.idempotent for c in self.commands)


class BatchComposer:
    """``async with client.batch() as batch:`` queue commands; leaving the block sends and resolves them."""

    def __init__(self, client: _Client, *, halt: bool = False) -> None:
        self._client = client
        self.halt = halt
        self.executor = BatchExecutor(self)
        self._commands: list[BatchCommand[Any]] = []
        self._sent = False
        self._namespaces: dict[str, Any] = {}

    def _namespace(self, name: str) -> Any:
        """The client's namespace of that name, rebuilt over this batch's executor."""
        namespace = self._namespaces.get(name)
        if namespace is None:
            namespace = self._namespaces[name] = type(getattr(self._client, name))(self.executor)
        return namespace

    @property
    def workflows(self) -> WorkflowsService:
        """``client.workflows``, queued into this batch."""
        return self._namespace("workflows")  # type: ignore[no-any-return]

    @property
    def templates(self) -> TemplatesService:
        """``client.templates``, queued into this batch."""
        return self._namespace("templates")  # type: ignore[no-any-return]

    @property
    def tasks(self) -> TasksService:
        """``client.tasks``, queued into this batch."""
        return self._namespace("tasks")  # type: ignore[no-any-return]

    @property
    def activities(self) -> ActivitiesService:
        """``client.activities``, queued into this batch."""
        return self._namespace("activities")  # type: ignore[no-any-return]

    @property
    def robots(self) -> RobotsService:
        """``client.robots``, queued into this batch."""
        return self._namespace("robots")  # type: ignore[no-any-return]

    @property
    def events(self) -> EventsService:
        """``client.events``, queued into this batch."""
        return self._namespace("events")  # type: ignore[no-any-return]

    @property
    def users(self) -> UsersService:
        """``client.users``, queued into this batch."""
        return self._namespace("users")  # type: ignore[no-any-return]

    @property
    def results(self) -> list[BatchCommand[Any]]:
        """Every command, in the order it was added."""
        return list(self._commands)

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> BatchCommand[Any]:
        """Queue any REST method by name; parameters are encoded exactly as for a direct call."""
        info = method_info(method)
        call: Call[Any] = Call(method, normalize(params or {}), idempotent=not info.creates)
        return self._add(call)

    def _add(self, call: Call[T]) -> BatchCommand[T]:
        if self._sent:
            raise _refused("this batch has already been sent: open a new `client.batch()`", call.method)
        if call.method.lower().removesuffix(".json") == "batch":
            raise _refused("a batch cannot contain another batch", "batch")
        command = BatchCommand(call, f"c{len(self._commands)}")
        self._commands.append(command)
        return command

    async def __aenter__(self) -> BatchComposer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.send()
        else:
            self._sent = True  # the block failed: send nothing

    async def send(self) -> None:
        """Send every queued command (once) and resolve each; raises only if the commands are inconsistent."""
        if self._sent:
            raise _refused("this batch has already been sent")
        self._sent = True
        chunks, direct = self._plan()
        session = self._client.session
        direct_jobs = [self._send_direct(session, c) for c in direct]
        if self.halt:
            await asyncio.gather(self._send_in_turn(session, chunks), *direct_jobs)
        else:
            await asyncio.gather(*(self._send_chunk(session, c) for c in chunks), *direct_jobs)

    def _plan(self) -> tuple[list[_Chunk], list[BatchCommand[Any]]]:
        """Split into batch chunks and direct calls; refuse bad references before anything is sent."""
        by_key = {c.key: c for c in self._commands}
        batched: dict[str, set[str]] = {}
        forms: dict[str, str] = {}
        direct: list[BatchCommand[Any]] = []
        for command in self._commands:
            call = command.call
            refs = references(call.params)
            for ref in refs:
                if ref.origin is not None and by_key.get(ref.key) is not ref.origin:
                    raise _refused(f"command {command.key} refers to a command of another batch", call.method)
            form = _batch_form(call.method, call.params, call.batchable)
            if form is None:
                if refs:
                    raise _refused(
                        f"{call.method} is sent on its own, so it cannot use references", call.method
                    )
                direct.append(command)
                continue
            batched[command.key] = {ref.key for ref in refs}
            forms[command.key] = form
        for key, targets in batched.items():
            for target in targets:
                if target in by_key and target not in batched:
                    raise _refused(
                        f"command {key} refers to {target} ({by_key[target].call.method}), "
                        "which is sent on its own, outside the batch",
                        by_key[key].call.method,
                    )
        groups = chunk(batched)
        return [_Chunk([by_key[k] for k in keys], forms) for keys in groups], direct

    async def _send_in_turn(self, session: BatchSession, chunks: Sequence[_Chunk]) -> None:
        """halt=True: one chunk after another; after a failure the rest are not executed."""
        for n, part in enumerate(chunks):
            if not await self._send_chunk(session, part):
                for later in chunks[n + 1 :]:
                    for command in later.commands:
                        command._fail(
                            NotExecutedError(
                                "not executed: an earlier command failed and halt=True stopped the batch",
                                code="NOT_EXECUTED",
                                method=command.call.method,
                            ),
                            executed=False,
                        )
                return

    async def _send_chunk(self, session: BatchSession, part: _Chunk) -> bool:
        """Send one chunk and resolve its commands; True when every command succeeded."""
        try:
            response = await session.call("batch", part.params(self.halt), idempotent=part.idempotent)
            keys = [c.key for c in part.commands]
            methods = {c.key: c.call.method for c in part.commands}
            outcomes = parse_batch_result(keys, response.result, halt=self.halt, methods=methods)
        except BitrixError as exc:  # the whole request failed (after the session's retries)
            for command in part.commands:
                command._fail(exc)
            return False
        for command in part.commands:
            command._settle(outcomes[command.key])
        return all(c.error is None for c in part.commands)

    async def _send_direct(self, session: BatchSession, command: BatchCommand[Any]) -> None:
        call = command.call
        try:
            response = await session.call(call.method, call.params, idempotent=call.idempotent)
            command._succeed(_read(call, response))
        except BitrixError as exc:
            command._fail(exc)


@attrs.define
class _Queued:
    method: str
    params: Mapping[str, Any]
    command: str
    idempotent: bool
    future: asyncio.Future[ApiResponse]

    def resolve(self, response: ApiResponse) -> None:
        if not self.future.done():
            self.future.set_result(response)

    def reject(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class Coalescer:
    """Groups concurrent calls into ``batch`` requests; each caller still gets its own answer."""

    def __init__(self, session: BatchSession, *, window: float = 0.005, max_size: int = MAX_COMMANDS) -> None:
        if not 0 <= window <= 1:
            raise _refused(f"window must be between 0 and 1 second, got {window!r}")
        if not 1 <= max_size <= MAX_COMMANDS:
            raise _refused(f"max_size must be between 1 and {MAX_COMMANDS}, got {max_size!r}")
        self._session = session
        self.window = window
        self.max_size = max_size
        self._queue: list[_Queued] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        """Calls queued for the next batch."""
        return len(self._queue)

    async def submit(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        """Send one call, inside a shared batch when others are in flight; raises the call's typed error."""
        if self._closed:
            raise RuntimeError("the coalescer is closed")
        wire = normalize(params or {})
        if idempotent is None:
            idempotent = not method_info(method).creates
        if references(wire):
            raise _refused("references ($result[...]) work only inside `client.batch()`", method)
        form = _batch_form(method, wire)
        if form is None:
            return await self._session.call(method, wire, idempotent=idempotent)
        loop = asyncio.get_running_loop()
        item = _Queued(method, wire, form, idempotent, loop.create_future())
        self._queue.append(item)
        if len(self._queue) >= self.max_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.window, self._flush)
        return await item.future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._queue = self._queue, []
        items = [i for i in items if not i.future.done()]  # drop callers that gave up
        if items:
            task = asyncio.get_running_loop().create_task(self._send(items))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, items: list[_Queued]) -> None:
        try:
            if len(items) == 1:  # alone: a direct call costs the same and reads simpler
                item = items[0]
                item.resolve(await self._session.call(item.method, item.params, idempotent=item.idempotent))
            else:
                await self._send_batch(items)
        except BitrixError as exc:  # the whole request failed, after the session's retries
            for item in items:
                item.reject(exc)
        except BaseException as exc:  # cancelled, or a bug: never leave a caller waiting forever
            for item in items:
                item.reject(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise

    async def _send_batch(self, items: list[_Queued]) -> None:
        keys = [f"c{n}" for n in range(len(items))]
        params = build_batch_params({k: i.command for k, i in zip(keys, items, strict=True)}, halt=False)
        idempotent = all(i.idempotent for i in items)
        response = await self._session.call("batch", params, idempotent=idempotent)
        methods = {k: i.method for k, i in zip(keys, items, strict=True)}
        outcomes = parse_batch_result(keys, response.result, halt=False, methods=methods)
        for key, item in zip(keys, items, strict=True):
            outcome = outcomes[key]
            if outcome.error is not None:
                item.reject(outcome.error)
            else:
                item.resolve(outcome.as_response(item.method))

    async def aclose(self) -> None:
        """Send what is queued, wait for every batch in flight, and refuse new calls."""
        self._closed = True
        self._flush()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
