"""The ``batch`` method: commands -> payloads of at most 50, references, and answers -> per-command outcomes.

A command is ``"method?query"`` with the query in PHP ``parse_str`` form (:func:`encode_command`). A command
may use an earlier command's answer through a :class:`Ref` (``$result[key][0][ID]``); :func:`chunk` keeps
every command in the same batch as the commands it refers to, or refuses before anything is sent.
:func:`parse_batch_result` reads the answer, PHP JSON quirks included, into one :class:`CommandOutcome`
per key: a result, the command's own typed error, or "not executed" (``halt=1`` stopped before it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import attrs

from .encoding import MAX_INPUT_VARS, Verbatim, encode_checked_query, flat_query
from .envelope import ApiResponse, TimeInfo, by_command_key, count_field, short_text
from .errors import (
    BitrixError,
    ClientValidationError,
    MalformedResponseError,
    NotExecutedError,
    ServerError,
    error_from_code,
)

__all__ = [
    "MAX_COMMANDS",
    "NO_ANSWER",
    "CommandOutcome",
    "Macro",
    "Ref",
    "Survey",
    "build_batch_params",
    "chunk",
    "encode_command",
    "parse_batch_result",
    "plain_text",
    "references",
    "survey",
]

NO_ANSWER = "NO_ANSWER"
"""The code of a halt=0 batch command missing from the answer: it may have run (``NOT_EXECUTED`` did not)."""

MAX_COMMANDS = 50
"""The portal runs at most this many commands per ``batch`` (the rest get ``ERROR_BATCH_LENGTH_EXCEEDED``)."""

RefKind = Literal["result", "next", "total", "error"]

_KEY = re.compile(r"[A-Za-z0-9_]+")
_SEGMENT = re.compile(r"[A-Za-z0-9_.\-]+")
_METHOD = re.compile(r"[A-Za-z0-9_.]+")
# What the portal would take for a reference inside a value: ``$result[``, ``$next[`` ... (any case).
_MACRO_LIKE = re.compile(r"\$(result|next|total|error|error_description)\[", re.IGNORECASE)


@attrs.frozen
class Ref:
    """A reference to an earlier command's answer: ``ref["0"]["ID"]`` renders ``$result[key][0][ID]``."""

    key: str
    kind: RefKind = "result"
    path: tuple[str, ...] = ()
    # The command referred to, when known: lets a composer refuse a reference into another batch.
    origin: object = attrs.field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not _KEY.fullmatch(self.key):
            raise ClientValidationError(
                f"batch command key {self.key!r} must be letters, digits or '_'", method="batch"
            )

    def __getitem__(self, segment: str | int) -> Ref:
        """The reference one level deeper: a field name or a list index."""
        if self.kind in ("next", "total"):
            raise ClientValidationError(
                f"${self.kind}[{self.key}] is a number: it has no fields", method="batch"
            )
        if isinstance(segment, bool) or not isinstance(segment, str | int):
            raise ClientValidationError(
                f"a reference path segment must be a str or int, not {type(segment).__name__}", method="batch"
            )
        text = str(segment)
        if not _SEGMENT.fullmatch(text):
            raise ClientValidationError(
                f"reference path segment {text!r} must be letters, digits, '_', '.' or '-'", method="batch"
            )
        return attrs.evolve(self, path=(*self.path, text))

    @property
    def next(self) -> Ref:
        """``$next[key]``: the offset of the referenced list's next page."""
        return Ref(self.key, "next", origin=self.origin)

    @property
    def total(self) -> Ref:
        """``$total[key]``: the referenced list's row count."""
        return Ref(self.key, "total", origin=self.origin)

    @property
    def error(self) -> Ref:
        """``$error[key]``: the referenced command's error."""
        return Ref(self.key, "error", origin=self.origin)

    def render(self) -> str:
        """The macro text the portal substitutes."""
        return f"${self.kind}[{self.key}]" + "".join(f"[{seg}]" for seg in self.path)

    def __str__(self) -> str:
        return self.render()

    def __bitrix_wire__(self) -> Macro:
        """The wire form: the macro text, marked so the query encoder writes it unencoded."""
        return Macro(self)


class Macro(Verbatim):
    """A rendered :class:`Ref`: the macro text, remembering which command it refers to."""

    ref: Ref

    def __new__(cls, ref: Ref) -> Macro:
        """Render ``ref``."""
        self = super().__new__(cls, ref.render())
        self.ref = ref
        return self


@attrs.frozen
class Survey:
    """What one pass over a command's parameters found."""

    refs: tuple[Ref, ...]  # every reference, in order
    fits: bool  # False: inside a batch the command would mean something else; send it on its own


_PLAIN = Survey((), True)


def plain_text(text: str) -> bool:
    """Whether ``text`` rides in a batch command as it is: nothing in it the portal reads as a reference."""
    return "$" not in text or _MACRO_LIKE.search(text) is None


@functools.lru_cache(maxsize=256)
def _method_ok(method: str) -> bool:
    return _METHOD.fullmatch(method) is not None


def _walk(value: Any, refs: list[Ref]) -> bool:
    """Collect references below ``value``; False if something in it cannot ride in a batch."""
    kind = type(value)
    if kind is str:  # plain text, the usual case
        return "$" not in value or _MACRO_LIKE.search(value) is None
    if kind is int or kind is bool or kind is float or value is None:
        return True
    if kind is dict:
        return _walk_items(value, refs)
    fits = True
    if isinstance(value, Macro):
        refs.append(value.ref)
    elif isinstance(value, str):
        return plain_text(value)
    elif isinstance(value, Ref):
        refs.append(value)
    elif isinstance(value, Mapping):
        return _walk_items(value, refs)
    elif isinstance(value, list | tuple):
        for item in value:
            fits = _walk(item, refs) and fits
    return fits


def _walk_items(mapping: Mapping[Any, Any], refs: list[Ref]) -> bool:
    fits = True
    for key, item in mapping.items():
        if isinstance(key, str) and ("[" in key or "]" in key):
            fits = False
        if type(item) is str:  # inline: most values are plain text
            if "$" in item and _MACRO_LIKE.search(item) is not None:
                fits = False
        elif not _walk(item, refs):
            fits = False
    return fits


def survey(method: str, params: Mapping[str, Any]) -> Survey:
    """Find the references in ``params`` and whether the command can ride in a batch unchanged.

    It cannot when a plain text looks like a reference (the portal would substitute it), a name holds a
    bracket (a query string cannot carry it) or a top-level name holds ``.`` or space (PHP rewrites them
    to ``_``), or the method name is not one a query string carries.
    """
    refs: list[Ref] = []
    fits = _walk(params, refs) and _method_ok(method)
    for key in params:
        if isinstance(key, str) and (" " in key or "." in key):
            fits = False
    if fits and not refs:
        return _PLAIN
    return Survey(tuple(refs), fits)


def references(params: Mapping[str, Any]) -> list[Ref]:
    """Every reference in ``params``, in order."""
    return list(survey("_", params).refs)


def encode_command(method: str, params: Mapping[str, Any] | None = None) -> str:
    """One batch command: ``method?query``, every value percent-encoded, references left as macros."""
    if not _method_ok(method):
        raise ClientValidationError(
            f"method name {method!r} must be letters, digits, '.' or '_'", method="batch"
        )
    if not params:
        return method
    query = flat_query(params) if len(params) <= MAX_INPUT_VARS else None  # the usual command
    if query is None:
        query = encode_checked_query(params, what=method)  # the portal parse_str()s each command
    return f"{method}?{query}" if query else method


def build_batch_params(commands: Mapping[str, str], *, halt: bool) -> dict[str, Any]:
    """The ``batch`` request parameters: ``{"halt": 0|1, "cmd": {key: command}}``."""
    if not commands:
        raise ClientValidationError("a batch needs at least one command", method="batch")
    if len(commands) > MAX_COMMANDS:
        raise ClientValidationError(
            f"a batch holds at most {MAX_COMMANDS} commands, got {len(commands)}", method="batch"
        )
    for key in commands:
        if not _KEY.fullmatch(key):
            raise ClientValidationError(
                f"batch command key {key!r} must be letters, digits or '_'", method="batch"
            )
    return {"halt": 1 if halt else 0, "cmd": dict(commands)}


def chunk(
    refs: Mapping[str, Collection[str]], *, max_size: int = MAX_COMMANDS, ordered: bool = False
) -> list[list[str]]:
    """Split command keys (in order, each with the keys it refers to) into batches of at most ``max_size``.

    Commands linked by references land in the same batch, in their original order. ``ordered`` (for
    ``halt=1``, sent one batch after another) never puts a later group into an earlier batch. Raises
    :class:`ValidationError` for a reference to an unknown or later command, or a linked group too big.
    """
    if not 1 <= max_size <= MAX_COMMANDS:
        raise ClientValidationError(
            f"max_size must be between 1 and {MAX_COMMANDS}, got {max_size}", method="batch"
        )
    order = {key: i for i, key in enumerate(refs)}
    parent = list(range(len(order)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for key, targets in refs.items():
        for target in targets:
            if target not in order:
                raise ClientValidationError(
                    f"command {key!r} refers to {target!r}, which is not in this batch", method="batch"
                )
            if order[target] >= order[key]:
                raise ClientValidationError(
                    f"command {key!r} refers to {target!r}: only earlier commands may be referred to",
                    method="batch",
                )
            parent[root(order[key])] = root(order[target])

    groups: dict[int, list[str]] = {}
    for key, i in order.items():
        groups.setdefault(root(i), []).append(key)
    chunks: list[list[str]] = []
    open_chunks: list[list[str]] = []  # first fit among the chunks with room left
    for members in groups.values():  # in order of each group's first command
        if len(members) > max_size:
            raise ClientValidationError(
                f"commands {members[0]!r}..{members[-1]!r} are linked by references into a group of "
                f"{len(members)}; one batch holds at most {max_size}",
                method="batch",
            )
        candidates = chunks[-1:] if ordered else open_chunks
        target_chunk = next((c for c in candidates if len(c) + len(members) <= max_size), None)
        if target_chunk is None:
            target_chunk = []
            chunks.append(target_chunk)
            open_chunks.append(target_chunk)
        target_chunk.extend(members)
        if len(target_chunk) == max_size:
            open_chunks.remove(target_chunk)
    return [sorted(c, key=order.__getitem__) for c in chunks]


class CommandOutcome(NamedTuple):
    """What became of one batch command: its result and list metadata, or its own error.

    A named tuple (immutable, compared by value): one is built per command of every answer, and a tuple
    costs a fraction of a frozen attrs class.
    """

    key: str
    result: Any = None
    error: BitrixError | None = None
    total: int | None = None
    next: int | None = None
    time: TimeInfo | None = None
    executed: bool = True

    @property
    def ok(self) -> bool:
        """True when the command ran and succeeded."""
        return self.error is None

    def as_response(self, method: str | None = None) -> ApiResponse:
        """The answer a direct call would have had; raises the command's error."""
        if self.error is not None:
            raise self.error
        return ApiResponse(self.result, self.total, self.next, self.time, method)


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    return by_command_key(data.get(name))


def _command_error(value: Any, method: str | None) -> BitrixError:
    if isinstance(value, Mapping):
        code = value.get("error")
        description = value.get("error_description") or ""
        return error_from_code(
            "" if code is None else short_text(code, 100), short_text(description), method=method
        )
    return error_from_code("", short_text(value), method=method)


def parse_batch_result(
    keys: Sequence[str], result: Any, *, halt: bool, methods: Mapping[str, str] | None = None
) -> dict[str, CommandOutcome]:
    """Read a batch answer's ``result`` into one :class:`CommandOutcome` per key, in the order of ``keys``.

    A command whose ``total``/``next`` is out of range gets a :class:`MalformedResponseError` of its own.
    A key absent from every section was not run: after ``halt=1`` stopped the batch, or (never seen, but
    possible) when the portal dropped it. Both give :class:`NotExecutedError` with ``executed=False``.
    """
    methods = methods or {}
    if not isinstance(result, Mapping):
        if result == [] and not keys:
            return {}
        raise ServerError(f"unexpected batch answer of type {type(result).__name__}", method="batch")
    results = _section(result, "result")
    errors = _section(result, "result_error")
    totals = _section(result, "result_total")
    nexts = _section(result, "result_next")
    times = _section(result, "result_time")
    outcomes: dict[str, CommandOutcome] = {}
    for key in keys:
        time = TimeInfo.from_wire(times.get(key))  # read when first used
        raw_total, raw_next = totals.get(key), nexts.get(key)
        total: int | None = None
        next_: int | None = None
        if raw_total is not None or raw_next is not None:  # a list's page
            try:
                total = count_field(raw_total, "total", method=methods.get(key))
                next_ = count_field(raw_next, "next", method=methods.get(key))
            except MalformedResponseError as exc:  # this command's answer is unusable; the others stand
                total = next_ = None
                if key not in errors:
                    outcomes[key] = CommandOutcome(key, error=exc, time=time)
                    continue
        if key in errors:
            error = _command_error(errors[key], methods.get(key))
            outcome = CommandOutcome(key, error=error, total=total, next=next_, time=time)
        elif key in results:
            outcome = CommandOutcome(key, results[key], None, total, next_, time)
        else:
            method = methods.get(key)
            if halt:  # a halt=1 skip: the portal never ran it
                error = NotExecutedError(
                    "not executed: an earlier command failed and halt=1 stopped the batch",
                    code="NOT_EXECUTED",
                    method=method,
                )
            else:  # halt=0 runs every command: a missing answer may hide a run
                error = NotExecutedError("no answer for this command", code=NO_ANSWER, method=method)
            outcome = CommandOutcome(key, error=error, executed=False)
        outcomes[key] = outcome
    return outcomes
