"""The list methods the paging tests walk, with each strategy it supports (keyset needs a numeric ID)."""

from __future__ import annotations

INSTANCES = "bizproc.workflow.instances"
TEMPLATES = "bizproc.workflow.template.list"
TASKS = "bizproc.task.list"
WALKS = [
    (INSTANCES, "sequential"),
    (INSTANCES, "parallel"),
    (TEMPLATES, "sequential"),
    (TEMPLATES, "parallel"),
    (TEMPLATES, "keyset"),
    (TASKS, "sequential"),
    (TASKS, "parallel"),
    (TASKS, "keyset"),
]
