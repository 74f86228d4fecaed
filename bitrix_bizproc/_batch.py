"""Sending many calls as ``batch`` requests: the explicit composer and the automatic coalescer.

``async with client.batch() as batch:`` queues commands (through the same service namespaces as the
client) and sends them on leaving the block: chunks of at most 50, concurrently, each command resolving to
its own result or typed error. :class:`Coalescer` groups concurrent awaited calls into batches by itself.

Cancellation never drops a command silently: if the task sending a composer is cancelled, each command
of a chunk that was already sent fails with :class:`OutcomeUnknownError` (it may have run), each command
not sent yet with :class:`NotExecutedError` (``executed`` is False); commands answered before the
cancellation keep their outcome. ``after_unknown`` on a command says an earlier try of its batch was sent
and its answer lost, so "not found" may mean that try did it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, overload

from ._call import Call, Pending
from ._coalescer import MAX_CONCURRENT_BATCHES, BatchSession, Coalescer, Turns, fits_batch
from ._commands import send_commands
from .protocol.batch import (
    MAX_COMMANDS,
    CommandOutcome,
    Ref,
    chunk,
    encode_command,
    survey,
)
from .protocol.encoding import normalize
from .protocol.errors import (
    BitrixError,
    ClientValidationError,
    NotExecutedError,
    OutcomeUnknownError,
)
from .protocol.methods import method_info
from .services import (
    ActivitiesService,
    EventsService,
    RobotsService,
    Service,
    TaskCommands,
    TemplateCommands,
    UserCommands,
    WorkflowCommands,
)

__all__ = ["BatchCommand", "BatchComposer", "BatchExecutor", "BatchSession", "Coalescer"]

T = TypeVar("T")

logger = logging.getLogger("bitrix_bizproc")

_NO_REFS: frozenset[str] = frozenset()


class _Client(Protocol):
    @property
    def session(self) -> BatchSession: ...


class BatchCommand(Pending[T]):
    """A command queued in a :class:`BatchComposer`; its outcome is known once the block is left."""

    # Slots, no instance dict: a composer holds one command per item (fewer objects for the collector).
    __slots__ = ("_done", "_error", "_executed", "_value", "after_unknown", "call", "key")

    def __init__(self, call: Call[T], key: str) -> None:
        self.call = call
        self.key = key
        self._done = False
        self._value: T | None = None
        self._error: BitrixError | None = None
        self._executed = False
        self.after_unknown = False  # an earlier try of its batch was sent and the answer lost

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
    def ok(self) -> bool:
        """True once the command has succeeded."""
        return self._done and self._error is None  # the base's rule, read directly: a loop over every command

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
            self._succeed(self.call.read_outcome(outcome))
        except BitrixError as exc:
            self._fail(exc)

    def __repr__(self) -> str:
        state = "pending" if not self._done else ("ok" if self._error is None else type(self._error).__name__)
        return f"<BatchCommand {self.key} {self.call.method} {state}>"


def _skip(command: BatchCommand[Any]) -> None:
    error = NotExecutedError(
        "not executed: an earlier command failed and halt=True stopped the batch",
        code="NOT_EXECUTED",
        method=command.call.method,
    )
    command._fail(error, executed=False)


def _cancelled(command: BatchCommand[Any], *, sent: bool) -> None:
    """Settle a command whose sender was cancelled: unknown if its batch had left, not executed otherwise."""
    if command.done:
        return
    if sent:
        error: BitrixError = OutcomeUnknownError(
            "cancelled after the batch was sent: the command may have run",
            code="CANCELLED",
            method=command.call.method,
        )
        command._fail(error, executed=True)
    else:
        skipped = NotExecutedError(
            "cancelled before the batch was sent", code="CANCELLED", method=command.call.method
        )
        command._fail(skipped, executed=False)


async def _resolved(command: BatchCommand[T]) -> T:
    return command.result()


class BatchExecutor:
    """The executor service namespaces use inside a composer: it queues the calls instead of sending them.

    Each command is sorted as it is added (into a batch, or on its own, with its references), so that
    leaving the block can cut the first chunk at once, whatever the number of commands queued.
    """

    def __init__(self) -> None:
        self.commands: list[BatchCommand[Any]] = []  # every command, in the order added
        self.batched: list[BatchCommand[Any]] = []  # those that ride in batches
        self.direct: list[BatchCommand[Any]] = []  # those sent on their own
        self.refs: dict[str, tuple[Ref, ...]] = {}  # the references of the commands holding any, by key
        self.closed = False  # sent, or the block failed: no more commands

    def submit(self, call: Call[T]) -> BatchCommand[T]:
        """Queue ``call`` and return its handle."""
        if self.closed:
            raise ClientValidationError(
                "this batch has already been sent: open a new `client.batch()`", method=call.method
            )
        command = BatchCommand(call, f"c{len(self.commands)}")
        if call.plain:  # its service checked it: it rides in a batch as it is
            self.batched.append(command)
        else:
            self._sort(command)
        self.commands.append(command)
        return command

    def _sort(self, command: BatchCommand[Any]) -> None:
        """Where a command its service did not check goes: into a batch or on its own; its references."""
        call = command.call
        if call.method.lower().removesuffix(".json") == "batch":
            raise ClientValidationError("a batch cannot contain another batch", method="batch")
        found = survey(call.method, call.params)
        if found.refs:  # checked when the batch is sent (a reference may still be refused then)
            self.refs[command.key] = found.refs
        if fits_batch(call.method, found.fits, call.batchable):
            self.batched.append(command)
        else:
            self.direct.append(command)


S = TypeVar("S", bound=Service)


class BatchNamespace(Generic[S]):
    """A composer attribute: the namespace ``cls`` over the composer's executor, built on first use."""

    def __init__(self, cls: type[S]) -> None:
        self._cls = cls
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, composer: None, owner: type[Any]) -> BatchNamespace[S]: ...
    @overload
    def __get__(self, composer: BatchComposer, owner: type[Any]) -> S: ...
    def __get__(self, composer: BatchComposer | None, owner: type[Any]) -> S | BatchNamespace[S]:
        if composer is None:
            return self
        namespace: S | None = composer.__dict__.get(self._name)
        if namespace is None:
            namespace = composer.__dict__[self._name] = self._cls(composer.executor)
        return namespace


class _Chunk:
    """The commands of one batch request."""

    __slots__ = ("commands",)

    def __init__(self, commands: Sequence[BatchCommand[Any]]) -> None:
        self.commands = commands

    def encoded(self) -> dict[str, str]:
        """Encoded when the chunk is sent, so the first chunk leaves before the last is encoded."""
        return {c.key: encode_command(c.call.method, c.call.params) for c in self.commands}

    @property
    def methods(self) -> dict[str, str]:
        return {c.key: c.call.method for c in self.commands}

    @property
    def idempotent(self) -> bool:
        return all(c.call.idempotent for c in self.commands)


class BatchComposer:
    """``async with client.batch() as batch:`` queue commands; leaving the block sends and resolves them."""

    # The namespaces, each the single calls of the client's (no walks: they need more than one request).
    workflows = BatchNamespace(WorkflowCommands)
    templates = BatchNamespace(TemplateCommands)
    tasks = BatchNamespace(TaskCommands)
    activities = BatchNamespace(ActivitiesService)
    robots = BatchNamespace(RobotsService)
    events = BatchNamespace(EventsService)
    users = BatchNamespace(UserCommands)

    def __init__(self, client: _Client, *, halt: bool = False) -> None:
        self._client = client
        self.halt = halt
        self.executor = BatchExecutor()
        self._turns = Turns()

    @property
    def results(self) -> list[BatchCommand[Any]]:
        """Every command, in the order it was added."""
        return list(self.executor.commands)

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> BatchCommand[Any]:
        """Queue any REST method by name; parameters are encoded exactly as for a direct call."""
        info = method_info(method)
        call: Call[Any] = Call(method, normalize(params or {}), idempotent=not info.creates)
        return self.executor.submit(call)

    async def __aenter__(self) -> BatchComposer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.send()
        else:
            self.executor.closed = True  # the block failed: send nothing

    async def send(self) -> None:
        """Send every queued command (once) and resolve each; raises only if the commands are inconsistent."""
        if self.executor.closed:
            raise ClientValidationError("this batch has already been sent")
        self.executor.closed = True
        chunks, direct = self._plan()
        try:
            await self._send_planned(chunks, direct)
        except asyncio.CancelledError:
            unsent = [c for c in self.executor.commands if not c.done]
            for command in unsent:
                _cancelled(command, sent=False)
            if unsent:
                logger.warning("batch cancelled: %d command(s) not sent", len(unsent))
            raise

    async def _send_planned(self, chunks: list[_Chunk], direct: list[BatchCommand[Any]]) -> None:
        session = self._client.session
        if self.halt:  # commands sent on their own go last, in turn, and only while nothing has failed
            ok = await self._send_in_turn(session, chunks)
            for command in direct:
                if ok:
                    await self._send_direct(session, command)
                    ok = command.error is None
                else:
                    _skip(command)
        else:
            await asyncio.gather(
                self._send_all(session, chunks), *(self._send_direct(session, c) for c in direct)
            )

    def _plan(self) -> tuple[list[_Chunk], list[BatchCommand[Any]]]:
        """Split into batch chunks and direct calls; refuse bad references before anything is sent."""
        queue = self.executor
        if not queue.refs:  # nothing refers to anything: plain slices, in order (what chunk() would give)
            batched, step = queue.batched, MAX_COMMANDS
            return [_Chunk(batched[i : i + step]) for i in range(0, len(batched), step)], queue.direct
        by_key = {c.key: c for c in queue.commands}
        in_batch = {c.key for c in queue.batched}
        refers: dict[str, frozenset[str]] = {}  # key -> the keys it refers to
        for command in queue.commands:
            refs = queue.refs.get(command.key)
            if not refs:
                continue
            call = command.call
            for ref in refs:
                if ref.origin is not None and by_key.get(ref.key) is not ref.origin:
                    raise ClientValidationError(
                        f"command {command.key} refers to a command of another batch", method=call.method
                    )
            if command.key not in in_batch:
                raise ClientValidationError(
                    f"{call.method} is sent on its own, so it cannot use references", method=call.method
                )
            refers[command.key] = frozenset(ref.key for ref in refs)
        for key, targets in refers.items():
            for target in targets:
                if target in by_key and target not in in_batch:
                    raise ClientValidationError(
                        f"command {key} refers to {target} ({by_key[target].call.method}), "
                        "which is sent on its own, outside the batch",
                        method=by_key[key].call.method,
                    )
        linked = {c.key: refers.get(c.key, _NO_REFS) for c in queue.batched}
        return [_Chunk([by_key[k] for k in keys]) for keys in chunk(linked, ordered=self.halt)], queue.direct

    async def _send_all(self, session: BatchSession, chunks: Sequence[_Chunk]) -> None:
        """halt=False: the chunks in order, at most ``MAX_CONCURRENT_BATCHES`` at a time."""
        remaining = iter(chunks)

        async def sender() -> None:
            for part in remaining:
                await self._send_chunk(session, part)

        await asyncio.gather(*(sender() for _ in range(min(MAX_CONCURRENT_BATCHES, len(chunks)))))

    async def _send_in_turn(self, session: BatchSession, chunks: Sequence[_Chunk]) -> bool:
        """halt=True: one chunk after another; after a failure the rest are not executed (False)."""
        for n, part in enumerate(chunks):
            if not await self._send_chunk(session, part):
                for later in chunks[n + 1 :]:
                    for command in later.commands:
                        _skip(command)
                return False
        return True

    async def _send_chunk(self, session: BatchSession, part: _Chunk) -> bool:
        """Send one chunk and resolve its commands; True when every command succeeded."""
        await self._turns.take()  # encoded and handed over in a pass of its own: it leaves as counted
        try:
            sent = await send_commands(
                session, part.encoded(), part.methods, halt=self.halt, idempotent=part.idempotent
            )
        except asyncio.CancelledError:  # it may have run: unknown, never dropped
            for command in part.commands:
                _cancelled(command, sent=True)
            logger.warning("batch cancelled in flight: %d command(s) of unknown outcome", len(part.commands))
            raise
        except BitrixError as exc:  # the whole request failed (after the session's retries)
            for command in part.commands:
                command._fail(exc)
            return False
        for command in part.commands:
            command.after_unknown = sent.after_unknown
            command._settle(sent.outcomes[command.key])
        return all(c.error is None for c in part.commands)

    async def _send_direct(self, session: BatchSession, command: BatchCommand[Any]) -> None:
        call = command.call
        try:
            response = await session.call(call.method, call.params, idempotent=call.idempotent)
        except asyncio.CancelledError:
            _cancelled(command, sent=True)
            raise
        except BitrixError as exc:
            command._fail(exc)
            return
        command.after_unknown = response.after_unknown
        try:
            command._succeed(call.read(response))
        except BitrixError as exc:
            command._fail(exc)
