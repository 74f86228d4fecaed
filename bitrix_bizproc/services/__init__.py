"""Resource namespaces (``client.workflows``, ``templates``, ``tasks``, ``activities``, ``robots``,
``events``, ``users``): each method checks its arguments, builds a call, and returns a ``Pending``."""

from .activities import ActivitiesService
from .base import Service, ServiceExecutor
from .events import EventsService
from .robots import RobotsService
from .tasks import TasksService
from .templates import TemplatesService
from .users import UsersService
from .workflows import WorkflowsService

__all__ = [
    "ActivitiesService",
    "EventsService",
    "RobotsService",
    "Service",
    "ServiceExecutor",
    "TasksService",
    "TemplatesService",
    "UsersService",
    "WorkflowsService",
]
