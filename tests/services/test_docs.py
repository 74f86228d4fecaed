"""Each bizproc method (plus the alias and user.get) has a namespace method whose docstring links its page."""

from __future__ import annotations

import inspect

from bitrix_bizproc.protocol.methods import METHODS
from bitrix_bizproc.services import (
    ActivitiesService,
    EventsService,
    RobotsService,
    TasksService,
    TemplatesService,
    UsersService,
    WorkflowsService,
)

COVERED = {
    "bizproc.workflow.start": WorkflowsService.start,
    "bizproc.workflow.instances": WorkflowsService.instances_page,
    "bizproc.workflow.instance.list": WorkflowsService.instances_page,
    "bizproc.workflow.terminate": WorkflowsService.terminate,
    "bizproc.workflow.kill": WorkflowsService.kill,
    "bizproc.workflow.template.add": TemplatesService.add,
    "bizproc.workflow.template.update": TemplatesService.update,
    "bizproc.workflow.template.delete": TemplatesService.delete,
    "bizproc.workflow.template.list": TemplatesService.list_page,
    "bizproc.task.list": TasksService.list_page,
    "bizproc.task.complete": TasksService.complete,
    "bizproc.task.delegate": TasksService.delegate,
    "bizproc.activity.add": ActivitiesService.add,
    "bizproc.activity.update": ActivitiesService.update,
    "bizproc.activity.delete": ActivitiesService.delete,
    "bizproc.activity.list": ActivitiesService.list,
    "bizproc.activity.log": ActivitiesService.log,
    "bizproc.robot.add": RobotsService.add,
    "bizproc.robot.update": RobotsService.update,
    "bizproc.robot.delete": RobotsService.delete,
    "bizproc.robot.list": RobotsService.list,
    "bizproc.event.send": EventsService.send,
    "user.get": UsersService.get_page,
}


def test_every_method_is_covered() -> None:
    assert set(COVERED) == set(METHODS) - {"batch"}
    assert len([m for m in COVERED if m.startswith("bizproc.")]) == 22  # 21 documented pages + the old alias


def test_docstrings_say_who_may_call_and_link_the_docs() -> None:
    for method, function in COVERED.items():
        doc = inspect.getdoc(function) or ""
        assert METHODS[method].docs in doc, method
        assert any(word in doc for word in ("Administrator", "Any user")), method
