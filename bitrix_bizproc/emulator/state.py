"""The emulated portal's bizproc data: users, templates, workflow instances, tasks, app activities, tokens."""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .records import (
    TASK_ACTIVITIES,
    TASK_DEFAULT_PARAMETERS,
    AppActivity,
    EventToken,
    LogEntry,
    PortalSettings,
    Task,
    Template,
    User,
    Workflow,
)
from .table import Table

__all__ = ["AppActivityHook", "PortalSettings", "PortalState"]

AppActivityHook = Callable[[Workflow, EventToken, AppActivity, Mapping[str, Any]], None]
"""Called when a workflow reaches an app's registered activity or robot (its template step ``spec``)."""


class PortalState:
    """Everything the bizproc handlers read and change; deterministic given the clock and call order."""

    def __init__(self, clock: Callable[[], float], settings: PortalSettings | None = None) -> None:
        self.clock = clock
        self.settings = settings or PortalSettings()
        self.users: Table[int, User] = Table()
        self.templates: Table[int, Template] = Table()
        self.instances: Table[str, Workflow] = Table()  # running only
        self.finished: dict[str, Workflow] = {}  # completed or terminated: the record kept
        self.killed: dict[str, float] = {}  # workflow id -> when it was killed
        self.stop_log: list[tuple[str, str, float]] = []  # (workflow id, "terminate"|"kill", when) per stop
        self.tasks: Table[int, Task] = Table()
        self.tasks_by_workflow: dict[str, list[int]] = {}
        self.activities: dict[tuple[str, str], AppActivity] = {}
        self.event_tokens: dict[str, EventToken] = {}
        self.activity_log: list[LogEntry] = []
        self.app_domains: dict[str, str | None] = {}
        self.on_app_activity: AppActivityHook | None = None  # set by the robots runtime
        self._tokens_by_workflow: dict[str, list[EventToken]] = {}
        self._app_numbers: dict[str, int] = {}
        self._expiring: deque[tuple[float, str]] = deque()  # (finished at, workflow id) with tasks
        self._workflow_ids: set[str] = set()
        self._id_rng = random.Random(0)
        self._next_template = 1
        self._last_user = 0
        self._next_task = 1
        self._seq = 0

    # ---- ids -------------------------------------------------------------------------------------------

    def new_workflow_id(self, at: float) -> str:
        """A PHP ``uniqid('', true)``-shaped ID, e.g. ``66e412fdc9bd44.36306599``, unique in this portal."""
        sec = int(at)
        usec = int((at - sec) * 1_000_000)
        while True:
            self._seq += 1
            micro = (usec + self._seq * 7919) % 0x100000
            wid = f"{sec:08x}{micro:05x}{self._id_rng.random() * 10:.8f}"
            if wid not in self._workflow_ids:
                self._workflow_ids.add(wid)
                return wid

    def app_number(self, app_id: str) -> int:
        """The portal's numeric ID of an application (as in ``SYSTEM_CODE`` ``rest_app_5``)."""
        return self._app_numbers.setdefault(app_id, len(self._app_numbers) + 1)

    def register_app(self, app_id: str, handler_domain: str | None = None) -> None:
        """Make an app known; handler URLs of its activities must then be on ``handler_domain``."""
        self.app_domains[app_id] = handler_domain
        self.app_number(app_id)

    # ---- users and templates -----------------------------------------------------------------------------

    def add_user(self, name: str, last_name: str, **fields: Any) -> User:
        """Add a user with the next free ID (or ``id=``)."""
        uid = fields.pop("id", None) or self._last_user + 1
        self._last_user = max(self._last_user, uid)
        fields.setdefault("date_register", self.clock())
        user = User(id=uid, name=name, last_name=last_name, **fields)
        self.users.add(user)
        return user

    def add_template(
        self,
        name: str,
        document_type: tuple[str, str, str] | list[str],
        **fields: Any,
    ) -> Template:
        """Add a template.

        ``tasks`` items: ``{"activity": "ApproveActivity", "name", "users": [3, "user_4", "{=Template:P}"],
        "parameters": {...}, "fields": [...]}``, or ``{"activity": "RestActivity", "code": "md5"}`` for an
        app activity, which issues an event token when a workflow reaches it.
        """
        module_id, entity, doc_type = document_type
        template = Template(
            id=self._next_template,
            name=name,
            module_id=module_id,
            entity=entity,
            document_type=doc_type,
            modified=fields.pop("modified", None) or self.clock(),
            **fields,
        )
        if template.app_id and not template.system_code:
            template.system_code = f"rest_app_{self.app_number(template.app_id)}"
        self._next_template += 1
        self.templates.add(template)
        return template

    # ---- workflows ---------------------------------------------------------------------------------------

    def start_workflow(
        self,
        template: Template,
        document_id: str,
        started_by: int,
        parameters: Mapping[str, Any] | None = None,
        *,
        at: float | None = None,
    ) -> Workflow:
        """Start an instance of ``template`` on a document and create the tasks the template asks for."""
        now = self.clock() if at is None else at
        workflow = Workflow(
            id=self.new_workflow_id(now),
            template_id=template.id,
            module_id=template.module_id,
            entity=template.entity,
            document_id=document_id,
            started=now,
            started_by=started_by,
            modified=now,
            parameters=dict(parameters or {}),
        )
        self.instances.add(workflow)
        for spec in template.tasks:
            if spec.get("activity") == "RestActivity":
                self._reach_app_activity(workflow, spec)
                continue
            for user_id in self._task_users(spec, workflow.parameters):
                self.add_task(workflow, user_id, spec, template=template)
        return workflow

    def add_instances(self, n: int, **overrides: Any) -> list[Workflow]:
        """Insert ``n`` running instances at once (e.g. while a walk is in progress); no tasks are made."""
        templates = [t for t in self.templates if t.auto_execute != 64] or list(self.templates)
        now = self.clock()
        made: list[Workflow] = []
        for i in range(n):
            chosen = self.templates.get(overrides["template_id"]) if "template_id" in overrides else None
            template = chosen or (templates[i % len(templates)] if templates else None)
            started = overrides.get("started", now)
            fields: dict[str, Any] = {
                "template_id": template.id if template else 0,
                "module_id": template.module_id if template else "crm",
                "entity": template.entity if template else "CCrmDocumentDeal",
                "document_id": _document_id(template, self._seq + 1),
                "started": started,
                "started_by": 1,
                "modified": started,
            }
            fields.update(overrides)
            made.append(Workflow(id=self.new_workflow_id(fields["started"]), **fields))
        self.instances.add_many(made)
        return made

    def load(self, workflows: Iterable[Workflow], tasks: Iterable[Task] = ()) -> None:
        """Bulk-insert prepared running instances and their tasks (made by :meth:`new_task`)."""
        self.instances.add_many(workflows)
        made = list(tasks)
        self.tasks.add_many(made)
        for task in made:
            self.tasks_by_workflow.setdefault(task.workflow_id, []).append(task.id)

    def next_task_id(self) -> int:
        """Reserve the next task ID."""
        self._next_task += 1
        return self._next_task - 1

    def instance(self, workflow_id: str) -> Workflow | None:
        """A running or finished instance by ID."""
        return self.instances.get(workflow_id) or self.finished.get(workflow_id)

    def terminate(self, workflow_id: str, status_text: str = "") -> bool:
        """Stop a running instance, keeping its record; its open tasks are cancelled (removed)."""
        workflow = self.instances.remove(workflow_id)
        if workflow is None:
            return False
        now = self.clock()
        workflow.state, workflow.status_text = "Terminated", status_text
        workflow.finished = workflow.modified = now
        self.finished[workflow_id] = workflow
        self.stop_log.append((workflow_id, "terminate", now))
        for task_id in list(self.tasks_by_workflow.get(workflow_id, ())):
            task = self.tasks.get(task_id)
            if task is not None and task.status == 0:
                self._drop_task(task)
        self._expiring.append((now, workflow_id))
        self._expire_tokens(workflow_id)
        return True

    def kill(self, workflow_id: str) -> bool:
        """Delete a running instance and all its data (tasks, tokens, log).

        A finished one is not found: ``CBPDocument::killWorkflow`` terminates first and deletes only if
        that found the workflow running (bizproc classes/general/document.php); its record stays.
        """
        workflow = self.instances.remove(workflow_id)
        if workflow is None:
            return False
        self.killed[workflow_id] = self.clock()
        self.stop_log.append((workflow_id, "kill", self.killed[workflow_id]))
        for task_id in self.tasks_by_workflow.pop(workflow_id, []):
            self.tasks.remove(task_id)
        self._expire_tokens(workflow_id)
        self.activity_log = [e for e in self.activity_log if e.workflow_id != workflow_id]
        return True

    def counts(self) -> dict[str, int]:
        """How many instances are running, completed, terminated and killed, and how many tasks are open."""
        finished = [w.state for w in self.finished.values()]
        return {
            "running": len(self.instances),
            "completed": finished.count("Completed"),
            "terminated": finished.count("Terminated"),
            "killed": len(self.killed),
            "open_tasks": sum(1 for t in self.tasks if t.status == 0),
        }

    @property
    def running_count(self) -> int:
        """Running instances."""
        return len(self.instances)

    @property
    def terminated_count(self) -> int:
        """Terminated instances (their records are kept)."""
        return sum(1 for w in self.finished.values() if w.state == "Terminated")

    @property
    def killed_count(self) -> int:
        """Killed instances (only their IDs are remembered)."""
        return len(self.killed)

    # ---- tasks -------------------------------------------------------------------------------------------

    def add_task(
        self, workflow: Workflow, user_id: int, spec: Mapping[str, Any], *, template: Template | None = None
    ) -> Task:
        """Create a task of ``spec["activity"]`` for one user in a running workflow."""
        task = self.new_task(workflow, user_id, spec, template=template)
        self.tasks.add(task)
        self.tasks_by_workflow.setdefault(workflow.id, []).append(task.id)
        return task

    def new_task(
        self, workflow: Workflow, user_id: int, spec: Mapping[str, Any], *, template: Template | None = None
    ) -> Task:
        """A task of ``spec["activity"]`` with the next task ID, not yet stored (see :meth:`load`)."""
        template = template or self.templates.get(workflow.template_id)
        activity = str(spec.get("activity", "ApproveActivity"))
        parameters = dict(TASK_DEFAULT_PARAMETERS.get(activity, {}))
        parameters.update(spec.get("parameters") or {})
        if spec.get("fields") is not None:
            parameters["Fields"] = list(spec["fields"])
        task_id = self.next_task_id()
        return Task(
            id=task_id,
            workflow_id=workflow.id,
            user_id=user_id,
            activity=activity,
            activity_name=str(spec.get("activity_name") or f"A{task_id:05d}_{workflow.template_id}"),
            name=str(spec.get("name") or activity.removesuffix("Activity")),
            description=str(spec.get("description", "")),
            modified=workflow.started,
            module_id=workflow.module_id,
            entity=workflow.entity,
            document_id=workflow.document_id,
            document_name=str(spec.get("document_name") or workflow.document_id.replace("_", " ").title()),
            workflow_template_id=workflow.template_id,
            workflow_template_name=template.name if template else "",
            workflow_started=workflow.started,
            workflow_started_by=workflow.started_by,
            parameters=parameters,
            overdue_date=spec.get("overdue_date"),
        )

    def finish_task(
        self, task: Task, status: int, user_status: int, comment: str, fields: dict[str, Any]
    ) -> None:
        """Record a user's answer; the workflow completes when none of its tasks is open any more."""
        now = self.clock()
        self.tasks.update(task.id, status=status, user_status=user_status, comment=comment, modified=now)
        task.result_fields = fields
        self._move_on(task.workflow_id, now)

    def finish_app_activity(self, token: EventToken) -> None:
        """An app activity is done (answered, timed out, or not waited for): the workflow moves on."""
        token.used = True
        self._move_on(token.workflow_id, self.clock())

    def _move_on(self, wid: str, now: float) -> None:
        """Complete a running workflow when no task is open and no app activity is waited for."""
        if self.instances.get(wid) is None:
            return
        waiting = any(t.use_subscription and not t.used for t in self._tokens_by_workflow.get(wid, ()))
        if waiting or any(self._is_open(t) for t in self.tasks_by_workflow.get(wid, ())):
            self.instances.update(wid, modified=now)
            return
        workflow = self.instances.remove(wid)
        assert workflow is not None
        workflow.state, workflow.finished, workflow.modified = "Completed", now, now
        self.finished[wid] = workflow
        self._expiring.append((now, wid))

    def _is_open(self, task_id: int) -> bool:
        task = self.tasks.get(task_id)
        return task is not None and task.status == 0

    def delegate_task(self, task: Task, to_user: int) -> None:
        """Hand an open task to another user."""
        self.tasks.update(task.id, delegated_from=task.user_id, user_id=to_user, modified=self.clock())

    def purge_expired_tasks(self) -> None:
        """Forget tasks of workflows that finished longer ago than the retention period."""
        keep = self.settings.task_retention_seconds
        if keep is None:
            return
        horizon = self.clock() - keep
        while self._expiring and self._expiring[0][0] <= horizon:
            _, wid = self._expiring.popleft()
            for task_id in self.tasks_by_workflow.pop(wid, []):
                self.tasks.remove(task_id)

    def _drop_task(self, task: Task) -> None:
        self.tasks.remove(task.id)
        ids = self.tasks_by_workflow.get(task.workflow_id)
        if ids and task.id in ids:
            ids.remove(task.id)

    def _task_users(self, spec: Mapping[str, Any], parameters: Mapping[str, Any]) -> Iterable[int]:
        for ref in spec.get("users", ()):
            value: Any = ref
            if isinstance(ref, str) and ref.startswith("{=Template:") and ref.endswith("}"):
                value = parameters.get(ref[len("{=Template:") : -1])
            for item in value if isinstance(value, list) else [value]:
                text = str(item).removeprefix("user_")
                if text.isdigit() and int(text) in self.users:
                    yield int(text)

    # ---- app activities and event tokens -----------------------------------------------------------------

    def make_event_token(
        self,
        workflow_id: str,
        *,
        app_id: str | None = None,
        code: str = "activity",
        use_subscription: bool = True,
    ) -> str:
        """Issue the token a workflow hands an app activity's handler when it reaches that activity."""
        self._seq += 1
        digest = hashlib.sha256(f"{workflow_id}|{code}|{self._seq}".encode()).hexdigest()[:32]
        token = f"{workflow_id}|A{self._seq:05d}_{code}|{digest}"
        record = EventToken(token, workflow_id, app_id, code, use_subscription)
        self.event_tokens[token] = record
        self._tokens_by_workflow.setdefault(workflow_id, []).append(record)
        return token

    def tokens_of(self, workflow_id: str) -> list[str]:
        """The event tokens issued to app activities of a workflow, oldest first."""
        return [t.token for t in self.event_tokens.values() if t.workflow_id == workflow_id]

    def _reach_app_activity(self, workflow: Workflow, spec: Mapping[str, Any]) -> None:
        code = str(spec.get("code", ""))
        owner = next((a for (_, c), a in self.activities.items() if c == code), None)
        subscribe = owner is None or str(owner.fields.get("USE_SUBSCRIPTION", "")).upper() != "N"
        token = self.make_event_token(
            workflow.id, app_id=owner.app_id if owner else None, code=code, use_subscription=subscribe
        )
        if self.on_app_activity is not None and owner is not None:  # the robots runtime calls the handler
            self.on_app_activity(workflow, self.event_tokens[token], owner, spec)

    def app_activities(self, app_id: str, *, robots: bool) -> list[AppActivity]:
        """An app's activities (or robots) in the order they were added."""
        return [a for (owner, _), a in self.activities.items() if owner == app_id and a.is_robot == robots]

    def _expire_tokens(self, workflow_id: str) -> None:
        for token in self.event_tokens.values():
            if token.workflow_id == workflow_id:
                token.used = True

    @staticmethod
    def is_task_activity(activity: str) -> bool:
        """Whether tasks of this activity type can be completed over REST."""
        return activity in TASK_ACTIVITIES


def _document_id(template: Template | None, number: int) -> str:
    """A document of the template's type: ``DEAL_7``, ``DYNAMIC_147_7``; lists and disk use bare numbers."""
    if template is None:
        return f"DEAL_{number}"
    return f"{template.document_type}_{number}" if template.module_id == "crm" else str(number)
