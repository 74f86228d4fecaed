"""``bizproc fleet terminate``: queue one termination job per portal for the ``bizproc worker`` s."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from ..jobs import instance_filter
from ._common import EXIT_CONNECTION, EXIT_FAILED, EXIT_OK, EXIT_USAGE, iso_date, positive_int
from .worker_cmd import REDIS_ENV, redis_unreachable, unreachable_message

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``fleet`` subcommand (``fleet terminate``)."""
    parser = subparsers.add_parser("fleet", help="fan jobs out over many portals (arq workers)")
    commands = parser.add_subparsers(dest="fleet_command", metavar="COMMAND")
    terminate = commands.add_parser(
        "terminate",
        help="queue a termination on every portal (or --member ones) for the workers",
        description=(
            "Queue one terminate job per portal of the fleet's Redis token store; `bizproc worker` processes "
            "run them. A second call with the same --run-id queues nothing new."
        ),
    )
    terminate.add_argument("--redis", metavar="URL", help=f"Redis URL (default ${REDIS_ENV} or localhost)")
    terminate.add_argument("--prefix", default="bizproc:fleet", help="Redis key prefix of the fleet's tokens")
    terminate.add_argument("--queue", default=None, help="arq queue name (default bizproc:fleet:queue)")
    terminate.add_argument("--run-id", required=True, help="names this run: its jobs and journals")
    terminate.add_argument("--member", action="append", default=[], help="only this portal (repeatable)")
    terminate.add_argument("--started-before", type=iso_date, metavar="DATE", help="started before DATE")
    terminate.add_argument("--started-after", type=iso_date, metavar="DATE", help="started on/after DATE")
    terminate.add_argument("--template", type=positive_int, metavar="ID", help="of this template")
    terminate.add_argument("--kill", action="store_true", help="delete the workflows (default: terminate)")
    terminate.add_argument("--wait", action="store_true", help="wait for every portal and print the report")
    terminate.add_argument("--json", action="store_true", help="with --wait: the report as JSON")
    terminate.set_defaults(run=_run)
    parser.set_defaults(run=lambda args: parser.print_help() or EXIT_USAGE)


def _run(args: argparse.Namespace) -> int:
    criteria = instance_filter(
        started_before=args.started_before, started_after=args.started_after, template_id=args.template
    )
    if not criteria:
        print("bizproc fleet terminate: say which workflows (--started-before, ...)", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(_queue(args, criteria))
    except ImportError as exc:
        print(f"bizproc fleet: needs arq and redis-py: pip install 'bitrix_bizproc[worker]' ({exc})",
              file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if not redis_unreachable(exc):
            raise
        print(f"bizproc fleet: {unreachable_message(_redis_url(args), exc)}", file=sys.stderr)
        return EXIT_CONNECTION


def _redis_url(args: argparse.Namespace) -> str:
    return str(args.redis or os.environ.get(REDIS_ENV) or "redis://localhost:6379/0")


async def _queue(args: argparse.Namespace, criteria: dict[str, Any]) -> int:
    from arq.connections import RedisSettings, create_pool

    from ..fleet.redis import RedisPortalStore
    from ..fleet.worker import DEFAULT_QUEUE, collect, enqueue_terminate

    pool = await create_pool(RedisSettings.from_dsn(_redis_url(args)))
    try:
        members = args.member or await RedisPortalStore(pool, args.prefix).members()
        jobs = await enqueue_terminate(
            pool,
            members,
            run_id=args.run_id,
            filter=criteria,
            mode="kill" if args.kill else "terminate",
            queue_name=args.queue or DEFAULT_QUEUE,
        )
        print(f"queued {len(jobs)} portal job(s) of run {args.run_id}", file=sys.stderr)
        if not args.wait:
            return EXIT_OK
        report = await collect(jobs)
    finally:
        await pool.aclose()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return EXIT_OK if report.ok else EXIT_FAILED
