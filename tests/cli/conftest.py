"""Driving ``bizproc`` as a user would: argv in; exit code and output out; stdin a terminal or not."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable

import attrs
import pytest

from bitrix_bizproc.cli import main
from bitrix_bizproc.cli._common import (
    OAUTH_ENV,
    TOKEN_URL_ENV,
    VIBECODE_ENV,
    VIBECODE_TOKEN_ENV,
    VIBECODE_URL_ENV,
    WEBHOOK_ENV,
)

VIBECODE_ENVS = (VIBECODE_ENV, VIBECODE_TOKEN_ENV, VIBECODE_URL_ENV)


@attrs.frozen
class Result:
    """What one ``bizproc`` run did."""

    code: int
    out: str
    err: str


class FakeStdin(io.StringIO):
    """Typed answers, and whether it claims to be a terminal."""

    def __init__(self, text: str = "", *, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


Run = Callable[..., Awaitable[Result]]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials leak in from the environment running the tests."""
    for name in (WEBHOOK_ENV, TOKEN_URL_ENV, *OAUTH_ENV.values(), *VIBECODE_ENVS):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bizproc(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run ``bizproc *argv`` in a worker thread (the portal keeps serving on the test's loop)."""

    async def run(*argv: str, stdin: str = "", tty: bool = False) -> Result:
        monkeypatch.setattr("sys.stdin", FakeStdin(stdin, tty=tty))
        capsys.readouterr()
        try:
            code = await asyncio.to_thread(main, list(argv))
        except SystemExit as exc:  # argparse: usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
