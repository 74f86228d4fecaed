"""Reading the API from Python: help() lists the namespaces, every factory option is documented."""

from __future__ import annotations

import inspect
import pydoc

import pytest

from bitrix_bizproc import BizprocClient

NAMESPACES = {
    "workflows": "WorkflowsService",
    "templates": "TemplatesService",
    "tasks": "TasksService",
    "activities": "ActivitiesService",
    "robots": "RobotsService",
    "events": "EventsService",
    "users": "UsersService",
}


def test_help_lists_the_namespaces() -> None:
    text = pydoc.render_doc(BizprocClient, renderer=pydoc.plaintext)
    for name, cls in NAMESPACES.items():
        assert f"{name}: {cls}" in text or f"{name} = " in text or f"{name}\n" in text, name
        assert cls in text, cls


@pytest.mark.parametrize("factory", ["from_webhook", "from_oauth", "from_vibecode"])
def test_every_factory_option_is_documented(factory: str) -> None:
    method = getattr(BizprocClient, factory)
    doc = inspect.getdoc(method) or ""
    for name in inspect.signature(method).parameters:
        if name in ("cls", "url"):
            continue
        assert f"``{name}``" in doc, f"{factory}: option {name} is not described in its docstring"
