"""``bizproc worker`` and ``bizproc fleet terminate`` with Redis unreachable: one line and exit 3 (as every
other command does for a portal it cannot reach, issue 18 item 4), never a traceback."""

from __future__ import annotations

import pytest

from bitrix_bizproc.cli import main

pytest.importorskip("arq", reason="arq is not installed (extra: worker)")

DOWN = "redis://:pw-s3cret@127.0.0.1:1/0"  # nothing listens on port 1


@pytest.mark.parametrize(
    "argv",
    [
        ["fleet", "terminate", "--run-id", "r1", "--started-before", "2024-01-01", "--redis", DOWN],
        ["worker", "--redis", DOWN, "--burst"],
    ],
)
def test_redis_unreachable_is_one_line_and_exit_3(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BITRIX24_CLIENT_ID", "local.app")
    monkeypatch.setenv("BITRIX24_CLIENT_SECRET", "app-s3cret")
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "Redis" in err and "127.0.0.1:1" in err
    assert "pw-s3cret" not in err and "app-s3cret" not in err
