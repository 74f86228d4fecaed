"""A deterministic generator of users, templates, running workflow instances and open tasks."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import attrs

from .records import TASK_ACTIVITIES, Task, Template, User, Workflow
from .state import PortalState

__all__ = ["SeedSummary", "seed"]

_FIRST = [
    "Anna",
    "Boris",
    "Clara",
    "Dmitri",
    "Elena",
    "Felix",
    "Galina",
    "Hans",
    "Irina",
    "Jonas",
    "Klaus",
    "Lena",
]
_LAST = [
    "Weber",
    "Ivanova",
    "Schmidt",
    "Petrov",
    "Novak",
    "Fischer",
    "Sokolova",
    "Meyer",
    "Kuznetsov",
    "Wagner",
]
_DYNAMIC = "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic"
_DOCUMENT_TYPES: list[tuple[str, str, str]] = [
    ("crm", "CCrmDocumentDeal", "DEAL"),
    ("crm", "CCrmDocumentLead", "LEAD"),
    ("crm", "CCrmDocumentContact", "CONTACT"),
    ("crm", "CCrmDocumentCompany", "COMPANY"),
    ("crm", _DYNAMIC, "DYNAMIC_147"),
    ("crm", _DYNAMIC, "DYNAMIC_1038"),
]
_TASK_PARAMETERS: dict[str, dict[str, Any]] = {
    "RequestInformationActivity": {
        "fields": [
            {
                "Id": "phone_number",
                "Type": "string",
                "Name": "Phone Number",
                "Description": "",
                "Multiple": False,
                "Required": True,
                "Options": None,
                "Settings": None,
                "Default": "",
            }
        ]
    },
}


@attrs.frozen
class SeedSummary:
    """What :func:`seed` created."""

    users: list[int]
    dismissed: list[int]
    templates: list[int]
    instances: int
    tasks: int


def _users(
    state: PortalState, rng: random.Random, count: int, registered: float
) -> tuple[list[User], list[int]]:
    made: list[User] = []
    dismissed: list[int] = []
    for i in range(count):
        if i == 0:
            made.append(state.add_user("Admin", "Portal", is_admin=True, email="admin@example.com"))
            continue
        first, last = _FIRST[i % len(_FIRST)], _LAST[(i * 7) % len(_LAST)]
        active = i % 10 != 3  # about one in ten is dismissed
        user = state.add_user(
            first,
            last,
            email=f"{first.lower()}.{last.lower()}{i}@example.com",
            active=active,
            head_id=1 if i % 5 == 1 else ((i - 1) // 5) * 5 + 2,  # managers lead groups of five
            user_type="extranet" if i % 17 == 16 else "employee",
            date_register=registered + rng.random() * 86_400 * 30,
            work_position="Manager" if i % 5 == 1 else "Specialist",
        )
        made.append(user)
        if not active:
            dismissed.append(user.id)
    return made, dismissed


def _templates(state: PortalState, count: int, modified: float) -> list[Template]:
    made = []
    for i in range(count):
        doc_type = _DOCUMENT_TYPES[i % len(_DOCUMENT_TYPES)]
        activity = TASK_ACTIVITIES[i % len(TASK_ACTIVITIES)]
        automation = i % 10 == 9
        made.append(
            state.add_template(
                f"{'Automation' if automation else 'Process'} {i + 1}: {doc_type[2].title()}",
                doc_type,
                auto_execute=64 if automation else i % 4,
                modified=modified,
                parameters={"Approver": {"Name": "Approver", "Type": "user", "Required": False}},
                tasks=[
                    {
                        "activity": activity,
                        "name": activity.removesuffix("Activity"),
                        **_TASK_PARAMETERS.get(activity, {}),
                    }
                ],
            )
        )
    return made


def seed(
    state: PortalState,
    *,
    users: int = 50,
    templates: int = 20,
    instances: int = 0,
    tasks_ratio: float = 0.3,
    dismissed_task_share: float = 0.2,
    start: dt.datetime | None = None,
    years: float = 3,
    seed: int = 0,
) -> SeedSummary:
    """Fill ``state`` with users, templates, running instances and open tasks; same ``seed``, same portal.

    User 1 is the admin and about one user in ten is dismissed; templates cycle over deals, leads, contacts,
    companies and two smart processes (one in ten is an automation-rule template); instances are spread over
    ``years`` from ``start`` (default: ending now); ``tasks_ratio`` of them have an open task, and
    ``dismissed_task_share`` of those tasks belong to dismissed users.
    """
    rng = random.Random(seed)
    now = state.clock()
    span = years * 365 * 86_400
    begin = start.timestamp() if start is not None else now - span
    span = max(0.0, min(span, now - begin))
    people, dismissed = _users(state, rng, max(users, 1), begin - 86_400 * 60)
    made_templates = _templates(state, max(templates, 1), begin)
    active = [u.id for u in people if u.active]
    starters = [0, *active]

    rows: list[Workflow] = []
    tasks: list[Task] = []
    for _ in range(instances):
        template = made_templates[int(rng.random() * len(made_templates))]
        started = begin + rng.random() * span
        element = 1 + int(rng.random() * 5000)
        document_id = f"{template.document_type}_{element}"
        locked = rng.random() < 0.02
        workflow = Workflow(
            id=state.new_workflow_id(started),
            template_id=template.id,
            module_id=template.module_id,
            entity=template.entity,
            document_id=document_id,
            started=started,
            started_by=starters[int(rng.random() * len(starters))],
            modified=started + rng.random() * min(now - started, 30 * 86_400),
            owned_until=started + 300 if locked else None,
            owned_id=f"{int(started):x}.worker" if locked else None,
        )
        rows.append(workflow)
        if template.tasks and rng.random() < tasks_ratio:
            pool = dismissed if dismissed and rng.random() < dismissed_task_share else active
            spec = template.tasks[0]
            user_id = pool[int(rng.random() * len(pool))]
            tasks.append(state.new_task(workflow, user_id, spec, template=template))
    state.load(rows, tasks)
    return SeedSummary(
        [u.id for u in people], dismissed, [t.id for t in made_templates], len(rows), len(tasks)
    )
