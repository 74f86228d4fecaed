"""``bizproc fleet terminate``: queue one termination job per portal for the ``bizproc worker`` s.

As ``bizproc terminate`` does, it lists first (per portal, with the fleet's OAuth app from the environment),
then asks on a terminal; ``--dry-run`` only lists; without a terminal and without ``--yes`` it lists and
exits 4. ``--yes`` queues at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from ..jobs import instance_filter
from ..protocol.auth import DEFAULT_TOKEN_URL
from ._common import (
    EXIT_CONNECTION,
    EXIT_FAILED,
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    EXIT_USAGE,
    OAUTH_ENV,
    TOKEN_URL_ENV,
    ask,
    iso_date,
    positive_int,
)
from ._jobrun import EPILOG, RunMode, run_mode
from .worker_cmd import REDIS_ENV, redis_unreachable, unreachable_message

if TYPE_CHECKING:
    from ..fleet.jobs import FleetReport

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
            "run them. A second call with the same --run-id queues nothing new. Lists what each portal would "
            f"terminate first (the app from {OAUTH_ENV['client_id']} and {OAUTH_ENV['client_secret']}, "
            f"optionally {TOKEN_URL_ENV}), then asks; without a terminal it only lists unless --yes is given."
        ),
        epilog=EPILOG,
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
    mode = terminate.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="list what each portal would do; queue nothing")
    mode.add_argument("-y", "--yes", action="store_true", help="queue without listing or asking")
    terminate.add_argument(
        "--format", choices=("text", "json"), default="text", help="the listing and the --wait report"
    )
    terminate.add_argument("--json", action="store_true", help="the same as --format json")
    terminate.add_argument(
        "-v", "--verbose", action="store_true", help="list the workflow IDs, not only counts"
    )
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
    except _MissingApp as exc:
        print(f"bizproc fleet terminate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:
        print(
            f"bizproc fleet: needs arq and redis-py: pip install 'bitrix_bizproc[worker]' ({exc})",
            file=sys.stderr,
        )
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

    as_json = args.json or args.format == "json"
    pool = await create_pool(RedisSettings.from_dsn(_redis_url(args)))
    try:
        mode = run_mode(args)
        app = _app_from_env() if mode is not RunMode.YES else None
        members = args.member or await RedisPortalStore(pool, args.prefix).members()
        if app is not None:
            listing = await _list(pool, args, app, members, criteria)
            _print_listing(listing, args, as_json)
            planned = {m: r.planned for m, r in listing.portals.items() if r.planned}
            total = sum(len(ids) for ids in planned.values())
            if listing.failures:
                print(
                    f"bizproc fleet: {len(listing.failures)} portal(s) could not be listed; nothing queued "
                    "for them",
                    file=sys.stderr,
                )
            if mode is RunMode.DRY_RUN or not planned:
                return EXIT_FAILED if listing.failures else EXIT_OK
            if mode is RunMode.UNCONFIRMED:
                print(
                    f"bizproc: not confirmed: {total} listed on {len(planned)} portal(s), nothing queued "
                    f"(no terminal to ask on; pass --yes to act) (exit {EXIT_NOT_CONFIRMED})",
                    file=sys.stderr,
                )
                return EXIT_NOT_CONFIRMED
            verb = "Kill" if args.kill else "Terminate"
            if not ask(f"{verb} {total} running workflows on {len(planned)} portal(s)?"):
                print("declined: nothing was queued", file=sys.stderr)
                return EXIT_OK
            members = list(planned)  # the portals listed with work; the workers list again when they run
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
    print(json.dumps(report.to_dict(), indent=2) if as_json else report)
    return EXIT_OK if report.ok else EXIT_FAILED


class _MissingApp(Exception):
    """The listing needs the fleet's OAuth app and the environment does not name it."""


def _app_from_env() -> dict[str, str]:
    client_id, secret = os.environ.get(OAUTH_ENV["client_id"]), os.environ.get(OAUTH_ENV["client_secret"])
    if not client_id or not secret:
        raise _MissingApp(
            f"set {OAUTH_ENV['client_id']} and {OAUTH_ENV['client_secret']} (the app) to list what each "
            "portal would terminate, or pass --yes to queue without listing"
        )
    return {
        "client_id": client_id,
        "client_secret": secret,
        "token_url": os.environ.get(TOKEN_URL_ENV) or DEFAULT_TOKEN_URL,
    }


async def _list(
    pool: Any, args: argparse.Namespace, app: dict[str, str], members: list[str], criteria: dict[str, Any]
) -> FleetReport:
    """A dry run of the termination on every portal, paced by the workers' shared per-portal buckets."""
    from ..fleet import Fleet
    from ..fleet.jobs import terminate_fleet
    from ..fleet.redis import RedisPortalStore
    from ..protocol.limits import BucketSpec
    from ..redis import RedisBucket

    def bucket(member_id: str, spec: BucketSpec) -> RedisBucket:
        return RedisBucket(pool, f"{args.prefix}:bucket:{member_id}", spec)

    store = RedisPortalStore(pool, args.prefix)
    fleet = Fleet(
        store,
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        token_url=app["token_url"],
        shared_bucket=bucket,
    )
    async with fleet:
        return await terminate_fleet(
            fleet, filter=criteria, members=members, mode="kill" if args.kill else "terminate", dry_run=True
        )


def _print_listing(listing: FleetReport, args: argparse.Namespace, as_json: bool) -> None:
    action = "kill" if args.kill else "terminate"
    if as_json:
        portals = {
            m: {"count": len(r.planned), "ids": list(r.planned)} for m, r in sorted(listing.portals.items())
        }
        failures = {
            m: {"error": f.error, "code": f.code, "message": f.message}
            for m, f in sorted(listing.failures.items())
        }
        print(
            json.dumps(
                {"dry_run": True, "action": action, "portals": portals, "failures": failures}, indent=2
            )
        )
        return
    for member_id, report in sorted(listing.portals.items()):
        print(f"{member_id}: {len(report.planned)} to {action}")
        if args.verbose:
            for item in report.planned:
                print(f"  {item}")
    for member_id, failure in sorted(listing.failures.items()):
        print(f"{member_id}: not listed: {failure.error} {failure.code}: {failure.message}")
    if args.dry_run:
        print("dry run: nothing was queued")
