"""Ctrl+C is armed before the question is printed: a SIGINT the moment "[y/N]" appears interrupts."""

from __future__ import annotations

import io
import signal

from bitrix_bizproc.cli._common import ask


class _Watching(io.StringIO):
    """Records, at each write, whether SIGINT would raise :class:`KeyboardInterrupt` right now."""

    def __init__(self) -> None:
        super().__init__()
        self.armed: list[bool] = []

    def write(self, text: str) -> int:
        self.armed.append(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        return super().write(text)


def test_ctrl_c_is_armed_before_the_question_is_written() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under asyncio.run: not raising
    try:
        out = _Watching()
        assert ask("Terminate 3?", stdin=io.StringIO("y\n"), out=out) is True
        assert out.getvalue() == "Terminate 3? [y/N] "
        assert out.armed and all(out.armed)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # restored afterwards
    finally:
        signal.signal(signal.SIGINT, previous)
