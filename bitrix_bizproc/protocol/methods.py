"""What the library knows about each REST method: scope, who may call it, batching, idempotence, paging."""

from __future__ import annotations

import enum

import attrs

__all__ = ["METHODS", "MethodInfo", "Paging", "method_info"]


class Paging(enum.Enum):
    """How a list method pages."""

    NONE = "none"
    OFFSET = "offset"  # start=N*50, total and next, no start=-1
    OFFSET_OR_KEYSET = "offset_or_keyset"  # also start=-1 and ordering by a numeric ID


@attrs.frozen
class MethodInfo:
    """Static facts about one REST method."""

    name: str
    scope: str = "bizproc"
    admin_only: bool = True
    app_context: bool = False  # webhooks get ACCESS_DENIED "Application context required"
    creates: bool = False  # not idempotent: never retried blindly after an ambiguous failure
    batchable: bool = True
    paging: Paging = Paging.NONE
    docs: str = ""


_DOCS = "https://apidocs.bitrix24.com/api-reference/bizproc/"


def _m(name: str, path: str, **kw: object) -> MethodInfo:
    return MethodInfo(name=name, docs=_DOCS + path, **kw)  # type: ignore[arg-type]


METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in [
        _m("bizproc.workflow.start", "bizproc-workflow-start.html", creates=True),
        _m("bizproc.workflow.instances", "bizproc-workflow-instances.html", paging=Paging.OFFSET),
        _m("bizproc.workflow.instance.list", "bizproc-workflow-instances.html", paging=Paging.OFFSET),
        _m("bizproc.workflow.terminate", "bizproc-workflow-terminate.html"),
        _m("bizproc.workflow.kill", "bizproc-workflow-kill.html"),
        _m(
            "bizproc.workflow.template.add",
            "template/bizproc-workflow-template-add.html",
            app_context=True,
            creates=True,
        ),
        _m(
            "bizproc.workflow.template.update",
            "template/bizproc-workflow-template-update.html",
            app_context=True,
        ),
        _m(
            "bizproc.workflow.template.delete",
            "template/bizproc-workflow-template-delete.html",
            app_context=True,
        ),
        _m(
            "bizproc.workflow.template.list",
            "template/bizproc-workflow-template-list.html",
            paging=Paging.OFFSET_OR_KEYSET,
        ),
        _m(
            "bizproc.task.list",
            "bizproc-task/bizproc-task-list.html",
            admin_only=False,
            paging=Paging.OFFSET_OR_KEYSET,
        ),
        _m(
            "bizproc.task.complete", "bizproc-task/bizproc-task-complete.html", admin_only=False, creates=True
        ),
        _m("bizproc.task.delegate", "bizproc-task/bizproc-task-delegate.html", admin_only=False),
        _m(
            "bizproc.activity.add",
            "bizproc-activity/bizproc-activity-add.html",
            app_context=True,
            creates=True,
        ),
        _m("bizproc.activity.update", "bizproc-activity/bizproc-activity-update.html", app_context=True),
        _m("bizproc.activity.delete", "bizproc-activity/bizproc-activity-delete.html", app_context=True),
        _m("bizproc.activity.list", "bizproc-activity/bizproc-activity-list.html", app_context=True),
        _m("bizproc.activity.log", "bizproc-activity/bizproc-activity-log.html", admin_only=False),
        _m("bizproc.robot.add", "bizproc-robot/bizproc-robot-add.html", app_context=True, creates=True),
        _m("bizproc.robot.update", "bizproc-robot/bizproc-robot-update.html", app_context=True),
        _m("bizproc.robot.delete", "bizproc-robot/bizproc-robot-delete.html", app_context=True),
        _m("bizproc.robot.list", "bizproc-robot/bizproc-robot-list.html", app_context=True),
        _m("bizproc.event.send", "bizproc-robot/bizproc-event-send.html", admin_only=False, creates=True),
        MethodInfo(
            name="user.get",
            scope="user",
            admin_only=False,
            paging=Paging.OFFSET,
            docs="https://apidocs.bitrix24.com/api-reference/user/user-get.html",
        ),
        MethodInfo(name="batch", scope="", admin_only=False, batchable=False),
    ]
}


def method_info(name: str) -> MethodInfo:
    """Facts for ``name`` (case-insensitive); unknown methods get permissive defaults."""
    info = METHODS.get(name)  # the usual spelling: no case folding needed
    if info is not None:
        return info
    key = name.lower().removesuffix(".json")
    return METHODS.get(key) or MethodInfo(name=key, scope="", admin_only=False)
