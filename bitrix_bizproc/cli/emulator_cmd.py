"""``bizproc emulator``: serve the emulated portal until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..protocol.auth import is_loopback
from ._common import EXIT_USAGE, non_negative_int

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``emulator`` subcommand."""
    parser = subparsers.add_parser(
        "emulator",
        help="serve an emulated Bitrix24 portal on this machine",
        description="Serve an emulated Bitrix24 portal. The first line printed is 'webhook: <url>'.",
    )
    parser.add_argument("--port", type=_port, default=0, help="TCP port (0 picks a free one; default 0)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--plan",
        choices=("standard", "enterprise", "unlimited"),
        default="standard",
        help="limits (default standard)",
    )
    parser.add_argument(
        "--seed-instances", type=non_negative_int, default=0, metavar="N", help="seed N workflow instances"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the deterministic generator (default 0)")
    parser.set_defaults(run=run)


def _port(text: str) -> int:
    port = non_negative_int(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 0..65535, got {text!r}")
    return port


_WILDCARDS = ("0.0.0.0", "::", "")


def urls_to_print(webhook_url: str, host: str, *, hostname: str | None = None) -> tuple[str, str | None]:
    """The webhook URL for this machine (one the client accepts as is), and the hint for other machines.

    A wildcard ``--host`` (``0.0.0.0``, ``::``) is reached here as ``127.0.0.1``; other machines reach it by
    this machine's name over plain http, which the client accepts only with ``--allow-http``.
    """
    parts = urlsplit(webhook_url)
    port = f":{parts.port}" if parts.port else ""
    if host in _WILDCARDS:
        local = urlunsplit(parts._replace(netloc=f"127.0.0.1{port}"))
        name = hostname or socket.gethostname()
    elif is_loopback(host):
        return webhook_url, None
    else:
        local, name = webhook_url, None
    if name is None:
        return local, f"{local} (plain http: pass --allow-http, or allow_http=True in Python)"
    remote = urlunsplit(parts._replace(netloc=f"{name}{port}"))
    return local, f"{remote} (plain http: pass --allow-http, or allow_http=True in Python)"


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; exit status 0 (2 if it cannot listen on --host/--port)."""
    try:
        return asyncio.run(_serve(args))
    except OSError as exc:  # the port is taken, the host does not resolve or is not ours
        print(
            f"bizproc emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE


async def _serve(args: argparse.Namespace) -> int:
    from ..emulator import EmulatedPortal, Plan, PortalConfig

    portal = EmulatedPortal(PortalConfig(plan=Plan.named(args.plan)), host=args.host, port=args.port)
    if args.seed_instances:
        from ..emulator.seed import seed

        seed(portal.state, instances=args.seed_instances, seed=args.seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with portal:
        local, remote = urls_to_print(portal.webhook_url, args.host)
        print(f"webhook: {local}", flush=True)
        if remote is not None:
            print(f"webhook from other machines: {remote}")
        app = portal.oauth_app
        print(f"oauth client_id: {app.client_id}")
        print(f"oauth client_secret: {app.client_secret}")
        print(f"oauth token url: {portal.token_url}")
        print(f"oauth rest url: {portal.rest_url}")
        tokens = portal.issue_tokens()  # the emulator's own, for trying the BITRIX24_* OAuth variables
        print(f"oauth access token: {tokens['access_token']}")
        print(f"oauth refresh token: {tokens['refresh_token']}")
        print(f"vibecode url: {portal.vibecode_url}")
        print(f"vibecode api key: {portal.add_vibecode_key()}")
        print(f"plan: {portal.config.plan.name}; press Ctrl+C to stop", flush=True)
        await stop.wait()
    return 0
