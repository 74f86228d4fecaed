"""Testing your own code against the emulated portal: the pytest plugin and a portal served from a thread.

The plugin (:mod:`bitrix_bizproc.testing.pytest_plugin`) is registered as a ``pytest11`` entry point, so
installing ``bitrix_bizproc`` gives every pytest run the ``bitrix_portal``, ``bitrix_portal_factory`` and
``bitrix_client`` fixtures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._threaded import PortalThread, start_portal

__all__ = ["PortalThread", "start_portal"]


def __getattr__(name: str) -> Any:
    # Lazy: pytest loads the plugin in every run, which must not pay for the emulator until it is used.
    if name in __all__:
        from . import _threaded

        return getattr(_threaded, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
