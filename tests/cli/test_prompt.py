"""The confirmation prompt reaches the real terminal, not the progress bar's stand-in for stderr."""

from __future__ import annotations

import io
import sys

import pytest

from bitrix_bizproc.cli._jobrun import confirmer
from bitrix_bizproc.cli._progress import ProgressDisplay


class _Bar(ProgressDisplay):
    """While drawing, rich replaces ``sys.stderr`` with a proxy that renders markup; ``close`` restores it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, real: io.StringIO) -> None:
        super().__init__(real, rich=False)
        self._monkeypatch, self._real = monkeypatch, real
        monkeypatch.setattr(sys, "stderr", io.StringIO())

    def close(self) -> None:
        self._monkeypatch.setattr(sys, "stderr", self._real)


def test_the_question_is_written_after_the_bar_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = io.StringIO()
    bar = _Bar(monkeypatch, real)
    proxy = sys.stderr
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    confirm = confirmer(bar, lambda n: f"Terminate {n} running workflows?", show=1)
    assert confirm(["66e4.1", "66e4.2"]) is True
    assert real.getvalue() == "2 to do:\n  66e4.1\n  ... and 1 more\nTerminate 2 running workflows? [y/N] "
    assert isinstance(proxy, io.StringIO) and proxy.getvalue() == ""
