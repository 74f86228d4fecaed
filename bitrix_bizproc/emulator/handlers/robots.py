"""bizproc.robot.add / update / delete / list: application automation rules."""

from __future__ import annotations

from .activities import Kind, make_handlers
from .common import Handler

__all__ = ["HANDLERS", "ROBOT"]

ROBOT = Kind(True, "bizproc.robot", "Activity or Robot already installed!", "Activity or Robot not found!")

HANDLERS: dict[str, Handler] = make_handlers(ROBOT)
