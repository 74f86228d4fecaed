"""``bizproc worker``: registered in the command table; refuses to start without the app's credentials."""

from __future__ import annotations

import pytest

from bitrix_bizproc.cli import build_parser, main
from bitrix_bizproc.cli.worker_cmd import run


def test_the_worker_command_is_registered() -> None:
    args = build_parser().parse_args(["worker", "--redis", "redis://127.0.0.1:1/0", "--max-jobs", "4"])
    assert args.run is run and args.max_jobs == 4 and args.plan == "standard"


def test_without_the_app_credentials_it_says_which_variables_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BITRIX24_CLIENT_ID", raising=False)
    monkeypatch.setenv("BITRIX24_CLIENT_SECRET", "s3cret-value")
    assert main(["worker", "--redis", "redis://127.0.0.1:1/0"]) == 2
    err = capsys.readouterr().err
    assert "BITRIX24_CLIENT_ID" in err and "s3cret-value" not in err
