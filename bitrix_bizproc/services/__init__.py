"""Resource namespaces (``client.workflows``, ``templates``, ``tasks``, ``activities``, ``robots``,
``events``, ``users``): each method checks its arguments, builds a call, and returns a ``Pending``."""

from .activities import ActivitiesService
from .base import Service, ServiceExecutor, Walker, WalkingService
from .events import EventsService
from .robots import RobotsService
from .tasks import TaskCommands, TasksService
from .templates import TemplateCommands, TemplatesService
from .users import UserCommands, UsersService
from .workflows import WorkflowCommands, WorkflowsService

__all__ = [
    "ActivitiesService",
    "EventsService",
    "RobotsService",
    "Service",
    "ServiceExecutor",
    "TaskCommands",
    "TasksService",
    "TemplateCommands",
    "TemplatesService",
    "UserCommands",
    "UsersService",
    "Walker",
    "WalkingService",
    "WorkflowCommands",
    "WorkflowsService",
]
