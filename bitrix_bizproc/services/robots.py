"""``client.robots``: application automation rules (robots), the same shape as actions."""

from __future__ import annotations

from typing import ClassVar

from .activities import ActivitiesService

__all__ = ["RobotsService"]


class RobotsService(ActivitiesService):
    """Automation rules (``bizproc.robot.*``): CRM automation, workflows and smart scripts.

    ``add``, ``update``, ``delete`` and ``list`` take the same arguments, with the same checks, as
    :class:`ActivitiesService`'s; they call ``bizproc.robot.*``.
    """

    _prefix: ClassVar[str] = "bizproc.robot"
    _what: ClassVar[str] = "robot"
