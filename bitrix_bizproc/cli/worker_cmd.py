"""``bizproc worker``: an arq worker running fleet jobs (extra ``worker``) until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..protocol.auth import DEFAULT_TOKEN_URL, redact
from ._common import EXIT_CONNECTION, EXIT_USAGE, OAUTH_ENV, TOKEN_URL_ENV, positive_int

__all__ = ["register", "run"]

REDIS_ENV = "BIZPROC_REDIS_URL"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``worker`` subcommand."""
    parser = subparsers.add_parser(
        "worker",
        help="run fleet jobs from the Redis queue (arq) until interrupted",
        description=(
            "Run the per-portal jobs of a fleet (terminate, offboard) from an arq queue in Redis. "
            f"The OAuth app comes from {OAUTH_ENV['client_id']} and {OAUTH_ENV['client_secret']} "
            f"(and optionally {TOKEN_URL_ENV}); portals' tokens and buckets live in Redis. Start as many "
            "workers as you like: together they keep every portal under its limit."
        ),
    )
    parser.add_argument(
        "--redis", metavar="URL", help=f"Redis URL (default ${REDIS_ENV} or redis://localhost)"
    )
    parser.add_argument("--prefix", default="bizproc:fleet", help="Redis key prefix of the fleet's tokens")
    parser.add_argument("--queue", default=None, help="arq queue name (default bizproc:fleet:queue)")
    parser.add_argument(
        "--journal-dir",
        default=None,
        metavar="DIR",
        help="a directory every worker shares: one journal per run and portal (default $BIZPROC_JOURNAL_DIR "
        "or ./bizproc-journals)",
    )
    parser.add_argument(
        "--plan",
        choices=("standard", "enterprise", "off"),
        default="standard",
        help="plan of portals the job does not name one for (default standard)",
    )
    parser.add_argument("--max-jobs", type=positive_int, default=16, help="portals at once (default 16)")
    parser.add_argument(
        "--job-timeout", type=positive_int, default=3600, metavar="S", help="seconds per portal job"
    )
    parser.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Serve jobs until SIGINT/SIGTERM (or, with ``--burst``, an empty queue); 2 on a usage error."""
    env = os.environ if env is None else env
    try:
        from arq.worker import Worker

        from ..fleet.worker import DEFAULT_QUEUE, WorkerConfig, default_journal_dir, worker_settings
    except ImportError as exc:
        print(
            f"bizproc worker: needs arq and redis-py: pip install 'bitrix_bizproc[worker]' ({exc})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    client_id, secret = env.get(OAUTH_ENV["client_id"]), env.get(OAUTH_ENV["client_secret"])
    if not client_id or not secret:
        print(
            f"bizproc worker: set {OAUTH_ENV['client_id']} and {OAUTH_ENV['client_secret']} (the app)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    config = WorkerConfig(
        redis_url=args.redis or env.get(REDIS_ENV) or "redis://localhost:6379/0",
        client_id=client_id,
        client_secret=secret,
        prefix=args.prefix,
        journal_dir=args.journal_dir or default_journal_dir(),
        plan=args.plan,
        queue_name=args.queue or DEFAULT_QUEUE,
        max_jobs=args.max_jobs,
        job_timeout=float(args.job_timeout),
        token_url=env.get(TOKEN_URL_ENV) or DEFAULT_TOKEN_URL,
    )
    loop = asyncio.new_event_loop()  # arq runs on the current loop; ours, so it is closed however it ends
    asyncio.set_event_loop(loop)
    try:
        worker = Worker(**worker_settings(config, burst=args.burst, poll_delay=0.1))
        worker.run()
    except Exception as exc:
        if not redis_unreachable(exc):
            raise
        print(f"bizproc worker: {unreachable_message(config.redis_url, exc)}", file=sys.stderr)
        return EXIT_CONNECTION
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return 0


def redis_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says Redis could not be reached (or answered with an error)."""
    try:
        from redis.exceptions import RedisError
    except ImportError:
        return isinstance(exc, OSError)
    return isinstance(exc, RedisError | OSError)


def unreachable_message(url: str, exc: BaseException) -> str:
    """One line naming Redis's host and port (never the URL's password) and the reason."""
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"cannot reach Redis at {where}: {redact(reason)}"
