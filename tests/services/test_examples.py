"""Every namespace example in examples/ runs against the emulated portal."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ["workflows", "templates", "tasks", "robots", "activities", "events", "users", "robot_app"]


@pytest.fixture
def examples_on_path() -> Iterator[None]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield
    finally:
        sys.path.remove(str(EXAMPLES))
        for name in [*NAMES, "_demo"]:
            sys.modules.pop(name, None)


@pytest.mark.parametrize("name", NAMES)
async def test_example_runs(examples_on_path: None, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(name)
    await module.main()
    assert capsys.readouterr().out.strip()
