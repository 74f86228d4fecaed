"""An append-only JSON-lines journal that makes bulk jobs resumable after a crash or a kill.

Each line is one record. Item records say what happened to one item::

    {"ts": "...", "item": "66e4...", "action": "terminate", "outcome": "started"}
    {"ts": "...", "item": "66e4...", "action": "terminate", "outcome": "done"}
    {"ts": "...", "item": "66e5...", "action": "terminate", "outcome": "failed",
     "code": "ACCESS_DENIED", "description": "...", "transient": false}

``started`` is written (and fsynced) before a command is sent, the outcome after its answer. An item whose
last record is ``started`` was in flight when the process died, and one recorded ``unknown`` was sent but
its answer was lost (a reset, a timeout, a 5xx page, a truncated body): either way its fate is unknown, so a
resumed run sends it again, and an answer "not found" then means the earlier send did it: ``done``, not
``already_gone``. An item recorded ``excluded`` was listed but failed the job's own filter re-check: no
run with this journal acts on it. Event records (``"event": "run_start"`` ...) carry no item. A torn
last line (a kill mid-write) is dropped on open.

Writes from a running job go through :meth:`Journal.commit`: the records are written and fsynced in a
worker thread (the event loop never blocks on the disk), records of concurrent callers share one fsync, and
``commit`` returns only once they are durable. A file that is not a journal is refused, never appended to;
every I/O failure is a :class:`~bitrix_bizproc.JournalError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import enum
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs

from ..protocol.errors import JournalError

__all__ = ["Journal", "JournalEntry", "JournalOutcome", "Outcome"]


class JournalOutcome(enum.StrEnum):
    """What a journal record says about an item."""

    STARTED = "started"  # sent (or about to be): the outcome is not known yet
    DONE = "done"
    ALREADY_GONE = "already_gone"  # the portal no longer knew the item: nothing left to do
    FAILED = "failed"
    UNKNOWN = "unknown"  # sent, but the answer was lost: a resumed run settles it against the portal
    EXCLUDED = "excluded"  # listed, but failed the job's own filter re-check: never acted on, not on resume

    @property
    def final(self) -> bool:
        """Whether nothing is left to do for the item (done either way)."""
        return self in (JournalOutcome.DONE, JournalOutcome.ALREADY_GONE)


Outcome = JournalOutcome
"""The former name of :class:`JournalOutcome`, kept for existing imports."""


@attrs.frozen
class JournalEntry:
    """The last known state of one item for one action."""

    item: str
    action: str
    outcome: Outcome
    code: str = ""
    description: str = ""
    transient: bool = False

    @property
    def needs_retry(self) -> bool:
        """Whether a resumed run should send the item again (in flight when killed, or failed transiently)."""
        return self.outcome in (JournalOutcome.STARTED, JournalOutcome.UNKNOWN) or (
            self.outcome is JournalOutcome.FAILED and self.transient
        )

    @property
    def uncertain(self) -> bool:
        """Whether the item may have been done by a send whose answer never came (in flight, or lost)."""
        return self.outcome in (JournalOutcome.STARTED, JournalOutcome.UNKNOWN)


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iter_records(raw: bytes) -> Iterator[Mapping[str, Any]]:
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a torn (or garbled) line: treat as never written
        if isinstance(record, Mapping):
            yield record


def _is_journal_record(line: bytes) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, Mapping) and "ts" in record and ("item" in record or "event" in record)


def _check_is_journal(path: Path, raw: bytes) -> None:
    """Refuse a file that is not a journal (its first complete line must be a journal record)."""
    lines = raw.split(b"\n")
    complete = [line for line in lines[:-1] if line.strip()]  # the last piece may be a torn record
    if complete and not _is_journal_record(complete[0]):
        raise JournalError(
            f"{str(path)!r} is not a job journal (its first line is not a journal record); "
            "refusing to write to it: choose another --journal path",
            code="NOT_A_JOURNAL",
        )


def _io_error(path: Path, doing: str, exc: OSError) -> JournalError:
    reason = exc.strerror or type(exc).__name__
    return JournalError(f"cannot {doing} the journal {str(path)!r}: {reason}", code="JOURNAL_IO")


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), Mapping)
    except (ValueError, RecursionError):
        return False


def _text(value: Any) -> str:
    """A record's text field; a value of another shape (a garbled line) reads as empty."""
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) and value else ""


def _entry(record: Mapping[str, Any]) -> JournalEntry | None:
    item, action, outcome = record.get("item"), record.get("action"), record.get("outcome")
    if not isinstance(item, str) or not isinstance(action, str) or not isinstance(outcome, str):
        return None
    try:
        parsed = JournalOutcome(outcome)
    except ValueError:
        return None
    return JournalEntry(
        item=item,
        action=action,
        outcome=parsed,
        code=_text(record.get("code")),
        description=_text(record.get("description")),
        transient=bool(record.get("transient", False)),
    )


def _encode(records: Sequence[Mapping[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(r, ensure_ascii=False, separators=(",", ":"), default=str).encode() + b"\n"
        for r in records
    )


class Journal:
    """An append-only, fsync-safe JSON-lines journal; reopen the same path to resume a job."""

    def __init__(
        self, path: str | os.PathLike[str], *, durable: bool = True, clock: Callable[[], str] = _utc_now
    ) -> None:
        self.path = Path(path)
        self.durable = durable
        self._clock = clock
        self._file: IO[bytes] | None = None
        self._entries: dict[tuple[str, str], JournalEntry] = {}
        self._events: list[Mapping[str, Any]] = []
        self._io_lock = threading.Lock()  # one writer at a time: the loop's sync writes or the commit thread
        self._buffer: list[bytes] = []  # encoded records waiting for the commit thread
        self._flushed: asyncio.Future[None] | None = None  # resolved when the buffer is on disk
        self._writer: asyncio.Task[None] | None = None
        self._load()
        self._check_writable()

    def _check_writable(self) -> None:
        """Fail up front (typed) on a journal that can never be written, before any item is sent."""
        if self.path.is_dir():
            raise JournalError(f"the journal {str(self.path)!r} is a directory", code="JOURNAL_IO")
        if self.path.exists():
            try:
                with open(self.path, "ab"):
                    pass
            except OSError as exc:
                raise _io_error(self.path, "write to", exc) from None
            return
        ancestor = self.path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
            raise JournalError(
                f"cannot create the journal {str(self.path)!r}: "
                f"{str(ancestor)!r} is not a writable directory",
                code="JOURNAL_IO",
            )

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise _io_error(self.path, "read", exc) from None
        _check_is_journal(self.path, raw)
        for record in _iter_records(raw):
            entry = _entry(record)
            if entry is not None:
                self._entries[(entry.item, entry.action)] = entry
            elif "event" in record:
                self._events.append(record)

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            handle = open(self.path, "ab+")  # noqa: SIM115 - kept open for the journal's lifetime
            self._drop_torn_tail(handle)
            self._file = handle
            if created and self.durable:  # make the new file's directory entry durable too
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        return self._file

    @staticmethod
    def _drop_torn_tail(handle: IO[bytes]) -> None:
        """Cut a partial last line left by a kill mid-write, so the next record starts on its own line."""
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(max(0, size - 65536))
        tail = handle.read()
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        new_size = size - len(tail) + cut + 1 if cut >= 0 else (0 if size <= 65536 else size)
        # One giant line with no newline in the last 64 KiB, or a whole record (read as such on load)
        # that only misses its newline: end it instead.
        if new_size == size or _is_record(tail[cut + 1 :]):
            handle.write(b"\n")
        else:
            handle.truncate(new_size)
        handle.seek(0, os.SEEK_END)

    # -- reading -------------------------------------------------------------------------------------

    def entry(self, item: str, action: str) -> JournalEntry | None:
        """The last known state of ``item`` for ``action``, or ``None`` if the journal never saw it."""
        return self._entries.get((item, action))

    def entries(self, action: str | None = None) -> list[JournalEntry]:
        """The last known state of every item (of one action, if given), in first-seen order."""
        return [e for e in self._entries.values() if action is None or e.action == action]

    @property
    def events(self) -> list[Mapping[str, Any]]:
        """The run-level event records (``run_start``, ``run_end``) in order."""
        return list(self._events)

    # -- writing -------------------------------------------------------------------------------------

    def record_event(self, event: str, **fields: Any) -> None:
        """Append a run-level event (no item), e.g. ``run_start`` with the job's parameters."""
        record = {"ts": self._clock(), "event": event, **fields}
        self._events.append(record)
        self._write([record])

    async def commit_event(self, event: str, **fields: Any) -> None:
        """:meth:`record_event` off the event loop, after every record committed before it."""
        record = {"ts": self._clock(), "event": event, **fields}
        self._events.append(record)
        await self._commit(_encode([record]))

    def record_started(self, items: Iterable[str], action: str) -> None:
        """Mark items as about to be sent, durably, before sending them."""
        self.record(
            [JournalEntry(item=item, action=action, outcome=JournalOutcome.STARTED) for item in items]
        )

    def record(self, entries: Iterable[JournalEntry]) -> None:
        """Append outcome records (one write, one fsync for the lot), blocking until durable."""
        records = self._remember(entries)
        if records:
            self._write(records)

    async def commit(self, entries: Iterable[JournalEntry]) -> None:
        """Append outcome records off the event loop; returns once they are durable (fsynced)."""
        records = self._remember(entries)
        if records:
            await self._commit(_encode(records))

    async def commit_started(self, items: Iterable[str], action: str) -> None:
        """:meth:`record_started` off the event loop: durable before the items are sent."""
        await self.commit(
            JournalEntry(item=item, action=action, outcome=JournalOutcome.STARTED) for item in items
        )

    async def _commit(self, data: bytes) -> None:
        self._buffer.append(data)
        if self._flushed is None:
            self._flushed = asyncio.get_running_loop().create_future()
        flushed = self._flushed
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop())
        await asyncio.shield(flushed)  # a cancelled caller does not cancel the write the others wait for

    async def _write_loop(self) -> None:
        """Write what is buffered, one write and one fsync for everything that arrived meanwhile."""
        while self._buffer:
            data, self._buffer = b"".join(self._buffer), []
            flushed, self._flushed = self._flushed, None
            try:
                await asyncio.to_thread(self._write_bytes, data)
            except BaseException as exc:
                if flushed is not None and not flushed.done():
                    flushed.set_exception(exc if isinstance(exc, Exception) else JournalError("cancelled"))
                    flushed.exception()  # retrieved: the waiters may have gone
                if not isinstance(exc, Exception):
                    raise
            else:
                if flushed is not None and not flushed.done():
                    flushed.set_result(None)

    def _remember(self, entries: Iterable[JournalEntry]) -> list[dict[str, Any]]:
        batch = list(entries)
        records: list[dict[str, Any]] = []
        for entry in batch:
            self._entries[(entry.item, entry.action)] = entry
            record: dict[str, Any] = {
                "ts": self._clock(),
                "item": entry.item,
                "action": entry.action,
                "outcome": entry.outcome.value,
            }
            if entry.outcome is JournalOutcome.FAILED or entry.code or entry.description:
                record.update(code=entry.code, description=entry.description)
            if entry.outcome is JournalOutcome.FAILED:
                record["transient"] = entry.transient
            records.append(record)
        return records

    def _write(self, records: Sequence[Mapping[str, Any]]) -> None:
        self._write_bytes(_encode(records))

    def _write_bytes(self, data: bytes) -> None:
        with self._io_lock:
            try:
                handle = self._open()
                handle.write(data)
                handle.flush()
                if self.durable:
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise _io_error(self.path, "write to", exc) from exc

    async def drain(self) -> None:
        """Wait until every committed record is on disk."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def close(self) -> None:
        """Close the file (records already written stay durable)."""
        with self._io_lock:
            if self._file is not None:
                with contextlib.suppress(OSError):  # the data was fsynced (or its failure reported) already
                    self._file.close()
                self._file = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, items={len(self._entries)})"
