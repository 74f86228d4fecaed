"""A described call (method, params, how to read the answer) and the awaitable handle it becomes.

Service namespaces build :class:`Call` objects and hand them to an :class:`Executor`. The client's
executor sends them (directly, or coalesced into batches); a batch composer's executor queues them.
Either way the service method returns a :class:`Pending`, so one namespace class serves both::

    await client.workflows.terminate(wf_id)          # a DirectCall: awaiting sends it
    cmd = batch.workflows.terminate(wf_id)           # a BatchCommand: resolved when the batch is sent
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, Protocol, TypeVar

from .protocol.batch import CommandOutcome
from .protocol.envelope import ApiResponse
from .protocol.errors import BitrixError, ServerError

__all__ = ["Call", "Executor", "Pending", "ResultParser", "result_of"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class ResultParser(Generic[T_co]):
    """A parser that reads only an answer's ``result`` (``@ResultParser`` on a function of the result).

    A batch command's answer is then read straight from its outcome, without an :class:`ApiResponse`
    built for it (ten thousand terminations, ten thousand responses nobody looks at).
    """

    __slots__ = ("of",)

    def __init__(self, of: Callable[[Any], T_co]) -> None:
        self.of = of

    def __call__(self, response: ApiResponse) -> T_co:
        return self.of(response.result)

    def __repr__(self) -> str:
        return f"<parser {self.of.__qualname__}>"


@ResultParser
def result_of(result: Any) -> Any:
    """The default parser: the bare ``result``."""
    return result


class Call(Generic[T]):
    """One REST call, fully validated and encoded to wire values, plus the parser for its answer.

    Read-only by convention. A plain slots class rather than an attrs one: a composer's loop builds one per
    command before anything is sent, and a frozen class's ``__init__`` cost a third of that loop.
    """

    __slots__ = ("batchable", "idempotent", "method", "params", "parse", "plain")

    def __init__(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        parse: Callable[[ApiResponse], T] = result_of,
        idempotent: bool = True,
        batchable: bool = True,
        plain: bool = False,
    ) -> None:
        self.method = method
        # Not in the repr: params can carry secrets such as an event token.
        self.params: Mapping[str, Any] = {} if params is None else params
        self.parse = parse
        # Whether the call may be sent again after an ambiguous failure (sent, no answer).
        self.idempotent = idempotent
        # False for calls that must go out on their own (never inside a batch).
        self.batchable = batchable
        # True when its builder checked that it rides in a batch as it is: a batchable method, flat plain
        # values under plain names, no reference and no text a batch reads as one (False: not known).
        self.plain = plain

    def __repr__(self) -> str:
        return (
            f"Call(method={self.method!r}, parse={self.parse!r}, idempotent={self.idempotent!r}, "
            f"batchable={self.batchable!r})"
        )

    def read(self, response: ApiResponse) -> T:
        """The answer parsed; a parser bug or an answer of an unexpected shape is a :class:`ServerError`."""
        return self._parsed(self.parse, response)

    def read_outcome(self, outcome: CommandOutcome) -> T:
        """A batch command's answer parsed (``outcome`` has no error), as :meth:`read` would parse it."""
        parse = self.parse
        if type(parse) is ResultParser:  # only the result is read: no response to build
            return self._parsed(parse.of, outcome.result)
        return self._parsed(parse, outcome.as_response(self.method))

    def _parsed(self, parse: Callable[[Any], T], answer: Any) -> T:
        try:
            return parse(answer)
        except BitrixError:
            raise
        except Exception as exc:
            raise ServerError(
                f"could not read the answer ({type(exc).__name__}: {exc})", method=self.method
            ) from exc


class Pending(abc.ABC, Generic[T]):
    """The outcome of a submitted call: await it, or read ``result()``/``error``/``ok`` once done."""

    __slots__ = ()  # a subclass may keep its state in slots (a composer holds one command per item)

    @abc.abstractmethod
    def __await__(self) -> Generator[Any, None, T]: ...

    @property
    @abc.abstractmethod
    def done(self) -> bool:
        """Whether the outcome is known."""

    @property
    @abc.abstractmethod
    def error(self) -> BitrixError | None:
        """The typed error, or ``None`` on success (or while not done)."""

    @abc.abstractmethod
    def result(self) -> T:
        """The parsed result; raises the call's error, or :class:`RuntimeError` if not done yet."""

    @property
    def ok(self) -> bool:
        """True once the call has succeeded."""
        return self.done and self.error is None


class Executor(Protocol):
    """Where service namespaces send their calls."""

    def submit(self, call: Call[T]) -> Pending[T]:
        """Send (or queue) ``call`` and return its handle."""
        ...
