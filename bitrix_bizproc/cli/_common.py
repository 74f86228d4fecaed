"""What every ``bizproc`` command shares: the connection, exit codes, error messages, dates, confirmation.

Exit codes (stable; scripts may rely on them):

====  ===========================================================================
0     everything matched was done (or nothing matched; a dry run that listed fine)
1     the job ran but some items failed (the report lists them with their codes)
2     usage or bad input: unknown option, bad date or filter, no credentials, user not found
3     connection or authentication: portal unreachable, credentials refused, job stopped early
4     not confirmed: a destructive command without a terminal and without ``--yes`` only listed
5     the ``--journal`` failed mid-run (disk full, I/O error): the job stopped, the report says how far
      it got; rerun with the same journal once it is writable to resume
130   interrupted (Ctrl+C); a job run with ``--journal FILE`` resumes when rerun with the same FILE
====  ===========================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as _dt
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any, TextIO

from .._client import BizprocClient
from .._observe import AnswerEvent, Event, RequestEvent, RetryEvent, ThrottleEvent
from ..jobs import JobAbortedError
from ..protocol.auth import redact
from ..protocol.errors import (
    AccessDeniedError,
    AuthError,
    BitrixError,
    JournalError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
    ValidationError,
)
from ..protocol.limits import LimiterOption
from ..protocol.retry import RetryPolicy

__all__ = [
    "DATE_FIELDS",
    "EXIT_CONNECTION",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_JOURNAL",
    "EXIT_NOT_CONFIRMED",
    "EXIT_OK",
    "EXIT_UNSUPPORTED",
    "EXIT_USAGE",
    "OAUTH_ENV",
    "UsageError",
    "add_connection_options",
    "ask",
    "client_from_args",
    "ctrl_c_raises",
    "iso_date",
    "key_value",
    "non_negative_int",
    "positive_int",
    "run_async",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_NOT_CONFIRMED = 4
EXIT_UNSUPPORTED = 5  # the connection (the Vibecode gateway) cannot do this at all; nothing was changed
EXIT_JOURNAL = 6  # the journal failed mid-run (disk full, I/O error): the job stopped; resume with it
EXIT_INTERRUPTED = 130

WEBHOOK_ENV = "BITRIX24_WEBHOOK_URL"
OAUTH_ENV = {
    "client_id": "BITRIX24_CLIENT_ID",
    "client_secret": "BITRIX24_CLIENT_SECRET",
    "access_token": "BITRIX24_ACCESS_TOKEN",
    "refresh_token": "BITRIX24_REFRESH_TOKEN",
    "client_endpoint": "BITRIX24_CLIENT_ENDPOINT",
}
TOKEN_URL_ENV = "BITRIX24_TOKEN_URL"  # optional: another OAuth server (region, or the emulator)
VIBECODE_ENV = "VIBECODE_API_KEY"  # a Vibecode gateway key instead of a webhook
VIBECODE_TOKEN_ENV = "VIBECODE_SESSION_TOKEN"  # the user's session token, with an app key (vibe_app_...)
VIBECODE_URL_ENV = "VIBECODE_BASE_URL"  # optional: another gateway address (the emulator's /v1)


class UsageError(Exception):
    """Bad input found by the command itself (exit code 2)."""


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """``--webhook`` and ``--limiter`` (credentials otherwise come from the environment)."""
    group = parser.add_argument_group(
        "connection",
        f"--webhook, or {WEBHOOK_ENV}, or the OAuth variables {', '.join(OAUTH_ENV.values())} "
        f"(and optionally {TOKEN_URL_ENV}); or through the Vibecode gateway: --vibecode-key or "
        f"{VIBECODE_ENV} (plus {VIBECODE_TOKEN_ENV} for an app key; {VIBECODE_URL_ENV} for another address)",
    )
    group.add_argument(
        "--webhook", metavar="URL", help="incoming webhook URL https://<portal>/rest/<user>/<code>/"
    )
    group.add_argument(
        "--vibecode-key",
        metavar="KEY",
        help=f"a Vibecode gateway API key, vibe_api_... or vibe_app_... (safer: set {VIBECODE_ENV})",
    )
    group.add_argument(
        "--limiter",
        choices=("standard", "enterprise", "vibecode", "off"),
        default=None,
        help="the request bucket to stay under (default: standard, 2 req/s burst 50; "
        "vibecode, 300 req/min, through the gateway)",
    )
    group.add_argument(
        "--retries",
        type=non_negative_int,
        default=4,
        metavar="N",
        help="retries of a failed request (5xx, dropped connection, rate limit) before giving up (default 4)",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="give up on one request after SECONDS without a whole answer (default 30)",
    )
    group.add_argument(
        "--allow-http",
        action="store_true",
        help="accept a plain http:// webhook or endpoint (a self-hosted portal on an intranet)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show each request, answer, retry and rate-limit wait on stderr as it happens",
    )


def positive_int(text: str) -> int:
    """An argparse type: an integer > 0 (IDs, counts)."""
    if not text.strip().isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def positive_float(text: str) -> float:
    """An argparse type: a number > 0 (seconds)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0 (limits, retries)."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return int(text)


def client_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> BizprocClient:
    """A client from ``--webhook`` or ``--vibecode-key``, else the same from the environment, else OAuth."""
    env = os.environ if env is None else env
    limiter: LimiterOption = getattr(args, "limiter", None) or "standard"
    retry = RetryPolicy(max_attempts=1 + getattr(args, "retries", 4))
    common: dict[str, Any] = {"timeout": getattr(args, "timeout", 30.0)}
    if getattr(args, "verbose", False):
        common["hooks"] = [show_event]
    allow_http: bool = getattr(args, "allow_http", False)
    flag_key = getattr(args, "vibecode_key", None)
    if flag_key and getattr(args, "webhook", None):
        raise UsageError("give --webhook or --vibecode-key, not both")
    url = getattr(args, "webhook", None) or (None if flag_key else env.get(WEBHOOK_ENV))
    vibecode_key = flag_key or (None if url else env.get(VIBECODE_ENV))
    try:
        if vibecode_key:
            return _vibecode_client(args, env, vibecode_key, retry, common)
        if url:
            return BizprocClient.from_webhook(
                url, limiter=limiter, retry=retry, allow_http=allow_http, **common
            )
        oauth = {name: env.get(var) for name, var in OAUTH_ENV.items()}
        if any(oauth.values()):
            missing = [OAUTH_ENV[name] for name, value in oauth.items() if not value]
            if missing:
                raise UsageError(f"incomplete OAuth settings: {', '.join(missing)} not set")
            extra: dict[str, Any] = {"token_url": env[TOKEN_URL_ENV]} if env.get(TOKEN_URL_ENV) else {}
            extra.update(common, limiter=limiter, retry=retry, allow_http=allow_http)
            return BizprocClient.from_oauth(**oauth, **extra)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        secrets = [*_url_secrets(url), *(v for v in (vibecode_key, *env.values()) if v and len(v) >= 8)]
        raise UsageError(redact(str(exc), secrets)) from None
    raise UsageError(
        f"no credentials: pass --webhook URL or --vibecode-key KEY, or set {WEBHOOK_ENV}, "
        f"{VIBECODE_ENV}, or the OAuth variables {', '.join(OAUTH_ENV.values())}"
    )


def _vibecode_client(
    args: argparse.Namespace, env: Mapping[str, str], api_key: str, retry: RetryPolicy, common: dict[str, Any]
) -> BizprocClient:
    """A client through the Vibecode gateway, paced by its own limit unless ``--limiter`` says otherwise."""
    limiter: LimiterOption = getattr(args, "limiter", None) or "vibecode"
    extra: dict[str, Any] = {"base_url": env[VIBECODE_URL_ENV]} if env.get(VIBECODE_URL_ENV) else {}
    token = env.get(VIBECODE_TOKEN_ENV) or None
    return BizprocClient.from_vibecode(
        api_key, session_token=token, limiter=limiter, retry=retry, **extra, **common
    )


def show_event(event: Event) -> None:
    """``--verbose``: one line on stderr per request, answer, retry and rate-limit wait (no secrets)."""
    where = f"{event.method} on {event.host}"
    if isinstance(event, RequestEvent):
        line = f"-> {where} (try {event.attempt})"
    elif isinstance(event, AnswerEvent):
        outcome = f"HTTP {event.status}" if event.status else "no answer"
        error = f" {event.error}" if event.error else ""
        line = f"<- {where}: {outcome}{error} in {event.seconds:.2f} s"
    elif isinstance(event, RetryEvent):
        line = f"retrying {where} in {event.delay:.1f} s ({event.reason}, try {event.attempt + 1} next)"
    elif isinstance(event, ThrottleEvent):
        line = f"waited {event.waited:.1f} s for {where}: staying under the portal's limits"
    else:
        return
    sys.stderr.write(f"bizproc: {line}\n")
    sys.stderr.flush()


def _url_secrets(url: str | None) -> list[str]:
    """What in a mistyped webhook URL may be its code: path parts but ``rest`` and the user ID, a password."""
    if not url:
        return []
    authority, _, path = url.split("://", 1)[-1].partition("/")
    parts = [*re.split(r"[/?#&=]", path), authority.rpartition("@")[0].partition(":")[2]]
    return [p for p in parts if len(p) >= 8 and not p.isdigit()]


_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def iso_date(text: str) -> _dt.datetime:
    """An argparse type: ``2025-01-01``, ``2025-01-01T10:00:00+03:00`` or ``01.01.2025`` (naive = UTC)."""
    value = text.strip()
    dotted = _DOTTED.fullmatch(value)
    if dotted:
        value = f"{dotted.group(3)}-{int(dotted.group(2)):02d}-{int(dotted.group(1)):02d}"
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use 2025-01-01, 2025-01-01T09:00:00+03:00 or 01.01.2025)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


# Filter fields that hold datetimes: the portal silently matches nothing for a value it cannot read.
DATE_FIELDS = frozenset(
    {"STARTED", "MODIFIED", "OWNED_UNTIL", "WORKFLOW_STARTED", "OVERDUE_DATE", "DATE_REGISTER", "LAST_LOGIN"}
)


def key_value(text: str) -> tuple[str, Any]:
    """An argparse type for ``--filter KEY=VALUE``: digits become numbers, dates of date fields ISO 8601."""
    key, sep, value = text.partition("=")
    if sep and key.strip() in ("<", ">", "!"):  # "<=STARTED=...", "!=ID=...": split at the operator's "="
        rest, sep, value = value.partition("=")
        key = key.strip() + "=" + rest
    if not sep or not key.strip("!<>= "):
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE, e.g. TEMPLATE_ID=12 or '<STARTED=2025-01-01', got {text!r}"
        )
    key = key.strip()
    if key.lstrip("!<>=").upper() in DATE_FIELDS:
        try:
            return key, iso_date(value).isoformat()
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{key}: {exc}") from None
    return key, int(value) if value.strip().isdigit() else value


@contextlib.contextmanager
def ctrl_c_raises() -> Iterator[None]:
    """Ctrl+C raises at once: under ``asyncio.run`` it would only cancel the task, once the answer is in."""
    if threading.current_thread() is not threading.main_thread():  # signal handlers belong to the main one
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ask(question: str, *, stdin: TextIO | None = None, out: TextIO | None = None) -> bool:
    """Ask a yes/no question on the terminal; anything but y/yes is no, Ctrl+C interrupts."""
    stdin = stdin or sys.stdin
    out = out or sys.stderr
    with ctrl_c_raises():  # armed first: a Ctrl+C the moment the question shows must interrupt
        out.write(f"{question} [y/N] ")
        out.flush()
        answer = stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _message(exc: BaseException) -> str:
    return redact(str(exc))


def exit_code_for(exc: BaseException) -> int:
    """The exit code an error maps to.

    A ``--journal`` refused when opened (another file, unreadable, unwritable) is a usage error: nothing
    was sent. A journal failing mid-run stops the job instead (:class:`JobAbortedError` caused by a
    :class:`JournalError`): :data:`EXIT_JOURNAL`, not a connection error.
    """
    if isinstance(exc, UnsupportedOperationError):
        return EXIT_UNSUPPORTED
    if isinstance(exc, UsageError | ValidationError | NotFoundError | JournalError):
        return EXIT_USAGE
    if isinstance(exc, AuthError | AccessDeniedError | TransportError | ServerError | RateLimitError):
        return EXIT_CONNECTION
    if isinstance(exc, JobAbortedError):
        return EXIT_JOURNAL if isinstance(exc.cause, JournalError) else EXIT_CONNECTION
    return EXIT_FAILED


def run_async(
    command: Callable[[], Coroutine[Any, Any, int]],
    *,
    err: TextIO | None = None,
    prog: str = "bizproc",
    journal: str | None = None,
) -> int:
    """Run a command's coroutine; map errors to exit codes with a one-line message, never a traceback.

    ``journal`` is the command's ``--journal`` file, named in the hint printed on Ctrl+C once it exists.
    """
    err = err or sys.stderr
    try:
        return asyncio.run(command())
    except KeyboardInterrupt:
        hint = f"; rerun with --journal {journal} to resume" if journal and os.path.isfile(journal) else ""
        err.write(f"{prog}: interrupted{hint}\n")
        return EXIT_INTERRUPTED
    except JobAbortedError as exc:
        err.write("\n".join(exc.report.lines()) + "\n")
        err.write(f"{prog}: stopped early: {_message(exc.cause)}\n")
        return exit_code_for(exc)
    except (UsageError, BitrixError) as exc:
        err.write(f"{prog}: error: {_message(exc)}\n")
        return exit_code_for(exc)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as other shell tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe, not even at exit
        os.close(devnull)
        return EXIT_OK  # the reader had what it wanted: not a failure
    except OSError as exc:  # a journal that cannot be written
        err.write(f"{prog}: error: {_message(exc)}\n")
        return EXIT_FAILED
