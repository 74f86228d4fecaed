"""A recording executor: service methods hand it their calls, nothing is sent."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from bitrix_bizproc._call import Call, Pending
from bitrix_bizproc.protocol.errors import BitrixError

T = TypeVar("T")


class Recorded(Pending[T]):
    """A handle that only remembers its call."""

    def __init__(self, call: Call[T]) -> None:
        self.call = call

    def __await__(self) -> Generator[Any, None, T]:
        raise AssertionError("the recorder sends nothing")

    @property
    def done(self) -> bool:
        return False

    @property
    def error(self) -> BitrixError | None:
        return None

    def result(self) -> T:
        raise RuntimeError("not sent")


class Recorder:
    """An executor for tests: it records the calls instead of sending them."""

    def __init__(self) -> None:
        self.calls: list[Call[Any]] = []

    def submit(self, call: Call[T]) -> Recorded[T]:
        self.calls.append(call)
        return Recorded(call)
