"""Print how many inputs the fuzz suite ran (per parser and in all)."""

from __future__ import annotations

import pytest

from ._support import INPUTS, PROFILE


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per parser, then the total (only when fuzz tests ran)."""
    if not INPUTS:
        return
    terminalreporter.section(f"fuzz inputs (profile {PROFILE})")
    for parser, n in sorted(INPUTS.items()):
        terminalreporter.write_line(f"{parser}: {n}")
    terminalreporter.write_line(f"total: {sum(INPUTS.values())}")
