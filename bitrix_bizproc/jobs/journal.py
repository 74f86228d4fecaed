"""An append-only JSON-lines journal that makes bulk jobs resumable after a crash or a kill.

Each line is one record. Item records say what happened to one item::

    {"ts": "...", "item": "66e4...", "action": "terminate", "outcome": "started"}
    {"ts": "...", "item": "66e4...", "action": "terminate", "outcome": "done"}
    {"ts": "...", "item": "66e5...", "action": "terminate", "outcome": "failed",
     "code": "ACCESS_DENIED", "description": "...", "transient": false}

``started`` is written (and fsynced) before a command is sent, the outcome after its answer. An item whose
last record is ``started`` was in flight when the process died: its fate is unknown, so a resumed run sends
it again (an answer "not found" then means it was done the first time: ``already_gone``). Event records
(``"event": "run_start"`` ...) carry no item. A torn last line (a kill mid-write) is dropped on open.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs

__all__ = ["Journal", "JournalEntry", "Outcome"]


class Outcome(enum.StrEnum):
    """What a journal record says about an item."""

    STARTED = "started"  # sent (or about to be): the outcome is not known yet
    DONE = "done"
    ALREADY_GONE = "already_gone"  # the portal no longer knew the item: nothing left to do
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """Whether nothing is left to do for the item (done either way)."""
        return self in (Outcome.DONE, Outcome.ALREADY_GONE)


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
        return self.outcome is Outcome.STARTED or (self.outcome is Outcome.FAILED and self.transient)


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
        parsed = Outcome(outcome)
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
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
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

    def record_started(self, items: Iterable[str], action: str) -> None:
        """Mark items as about to be sent, durably, before sending them."""
        self.record([JournalEntry(item=item, action=action, outcome=Outcome.STARTED) for item in items])

    def record(self, entries: Iterable[JournalEntry]) -> None:
        """Append outcome records (one write, one fsync for the lot)."""
        batch = list(entries)
        if not batch:
            return
        records: list[dict[str, Any]] = []
        for entry in batch:
            self._entries[(entry.item, entry.action)] = entry
            record: dict[str, Any] = {
                "ts": self._clock(),
                "item": entry.item,
                "action": entry.action,
                "outcome": entry.outcome.value,
            }
            if entry.outcome is Outcome.FAILED or entry.code or entry.description:
                record.update(code=entry.code, description=entry.description)
            if entry.outcome is Outcome.FAILED:
                record["transient"] = entry.transient
            records.append(record)
        self._write(records)

    def _write(self, records: Sequence[Mapping[str, Any]]) -> None:
        handle = self._open()
        data = b"".join(
            json.dumps(r, ensure_ascii=False, separators=(",", ":"), default=str).encode() + b"\n"
            for r in records
        )
        handle.write(data)
        handle.flush()
        if self.durable:
            os.fsync(handle.fileno())

    def close(self) -> None:
        """Close the file (records already written stay durable)."""
        if self._file is not None:
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
