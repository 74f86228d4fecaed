"""An emulated portal served by its own event loop in a daemon thread: usable from any test, sync or async."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..emulator import EmulatedPortal, Plan, PortalConfig

__all__ = ["PortalThread", "start_portal"]

_SEED_OPTIONS = ("users", "templates", "instances", "tasks_ratio", "dismissed_task_share", "start", "years")


class PortalThread:
    """Serves ``portal`` from a thread of its own until :meth:`stop`; the test's loop stays the test's."""

    def __init__(self, portal: EmulatedPortal) -> None:
        self.portal = portal
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bitrix-portal", daemon=True)

    def start(self, timeout: float = 30.0) -> EmulatedPortal:
        """Start the thread and the server; returns the portal once it listens."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.portal.start(), self._loop).result(timeout)
        return self.portal

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server, the loop and the thread."""
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.portal.stop(), self._loop).result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._loop.close()


def start_portal(
    *,
    plan: str | Plan = "unlimited",
    config: PortalConfig | None = None,
    seed: int | None = None,
    **options: Any,
) -> PortalThread:
    """A started portal in a thread: ``plan`` (``unlimited``, ``standard``, ``enterprise``) or a whole
    ``config``; with ``seed`` (or any of ``users``, ``templates``, ``instances``, ...) filled with the
    deterministic generator of :func:`bitrix_bizproc.emulator.seed.seed`."""
    unknown = set(options) - set(_SEED_OPTIONS)
    if unknown:
        raise TypeError(f"unknown bitrix_portal option(s): {', '.join(sorted(unknown))}")
    if config is None:
        config = PortalConfig(plan=plan if isinstance(plan, Plan) else Plan.named(plan))
    portal = EmulatedPortal(config)
    if seed is not None or options:
        from ..emulator.seed import seed as fill

        fill(portal.state, seed=seed or 0, **options)
    runner = PortalThread(portal)
    runner.start()
    return runner
