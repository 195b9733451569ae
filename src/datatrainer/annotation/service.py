"""`ws.annotation`: the annotation workflow over the catalog database.

Every mutating method takes the acting user, checks their role in the project, and runs as ONE transaction
that holds the audit lock from its first statement and appends its audit entries before committing. That
lock is what makes assignment atomic: two annotators asking at once are served one after the other, so a
task never gets more than `overlap` live assignments and nobody gets the same task twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from datatrainer.annotation import acceptance, lookup
from datatrainer.annotation.errors import AnnotationValidationError, ConflictError
from datatrainer.annotation.export import export_project
from datatrainer.annotation.lookup import (
    ANNOTATIONS,
    ASSIGNED_COUNT,
    ASSIGNMENTS,
    MEMBERS,
    PROJECTS,
    SUBMITTED_COUNT,
    TASK_COLUMNS,
    TASKS,
    ProjectAccess,
    TaskAccess,
    membership_row,
    rank,
    refresh_state,
    set_task_state,
    store_state,
    tasks_by_record,
)
from datatrainer.annotation.models import (
    AnnotationRow,
    AssignmentRow,
    MembershipRow,
    ProjectRow,
    ReviewRow,
    SuggestionRow,
    TaskRow,
)
from datatrainer.annotation.queries import final_results, votes_by_task
from datatrainer.annotation.rows import annotation_info, project_info, review_info, suggestion_info, utc
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.annotation.tasks import task_payloads
from datatrainer.annotation.transfer import ImportReport, import_docs, project_docs
from datatrainer.annotation.types import (
    ROLES,
    AnnotationInfo,
    AnnotatorProgress,
    Decision,
    LabelAcceptance,
    Member,
    ProjectInfo,
    ProjectProgress,
    ReviewInfo,
    Role,
    SuggestionInfo,
    TaskDetail,
    TaskInfo,
    UserInfo,
)
from datatrainer.annotation.validation import validate_result
from datatrainer.errors import NotFoundError
from datatrainer.params import validate_params
from datatrainer.progress import Advance
from datatrainer.security.errors import PermissionDenied
from datatrainer.security.models import UserRow
from datatrainer.security.users import UserDirectory, current_user, require_admin, user_row
from datatrainer.store.catalog import validate_dataset_name

if TYPE_CHECKING:
    from datatrainer.store.catalog import VersionInfo
    from datatrainer.store.versions import DatasetVersion
    from datatrainer.workspace import Workspace

_OPEN_STATES = ("open", "in_progress", "rejected")
_REVIEWABLE = ("annotated", "in_review")

# The annotator's loop (next task, submit, skip) runs these prebuilt Core statements: compiled once, no ORM
# unit of work, and as few statements as possible (each costs ~40 µs in SQLAlchemy): in-process next + submit
# went from 7.6 ms to ~1 ms of CPU, and with one lookup query per request and `next_task`'s queries in one, to
# ~0.7 ms (6 statements per call instead of 11).
# `or_`, not `in_`: SQLAlchemy renders an IN list anew at every execution (~25 µs).
_LIVE = (select(func.count()).where(ASSIGNMENTS.c.task_id == TASKS.c.id,
                                    or_(ASSIGNMENTS.c.state == "assigned", ASSIGNMENTS.c.state == "submitted"))
         .correlate(TASKS).scalar_subquery())
_MINE = exists().where(ASSIGNMENTS.c.task_id == TASKS.c.id, ASSIGNMENTS.c.user_id == bindparam("user"))
_PENDING, _NEW = 0, 1


def _queue_order(ordering: str, columns: Any) -> list[ColumnElement[Any]]:
    """Record order, or highest priority first for `uncertainty` (`columns`: a query's or a table's columns)."""
    return [columns.priority.desc(), columns.position] if ordering == "uncertainty" else [columns.position]


def _next_task_query(ordering: str) -> Select[Any]:
    """One query for `next_task` (SQLAlchemy's per-statement work costs more than SQLite's here): the caller's
    oldest unfinished assignment (kind `_PENDING`), else the first task in queue order, per open state, with room
    for another annotator that the caller never had (kind `_NEW`). Each part stops at its first fit, so the cost
    does not grow with the finished part of the queue; the first row of the union wins. Rows carry the task's
    assigned and submitted counts, from which its new state follows."""
    columns = (*TASK_COLUMNS, ASSIGNED_COUNT.label("assigned"), SUBMITTED_COUNT.label("submitted"))
    pending = (select(literal_column(str(_PENDING)).label("kind"), *columns)
               .join(ASSIGNMENTS, ASSIGNMENTS.c.task_id == TASKS.c.id)
               .where(TASKS.c.project_id == bindparam("project"), ASSIGNMENTS.c.user_id == bindparam("user"),
                      ASSIGNMENTS.c.state == "assigned")
               .order_by(ASSIGNMENTS.c.assigned_at, ASSIGNMENTS.c.id).limit(1))
    candidates = [select(literal_column(str(_NEW)).label("kind"), *columns)
                  .where(TASKS.c.project_id == bindparam("project"), TASKS.c.state == state,
                         _LIVE < bindparam("overlap"), ~_MINE)  # noqa: SIM300 (the count is the subject)
                  .order_by(*_queue_order(ordering, TASKS.c)).limit(1) for state in _OPEN_STATES]
    parts = union_all(*(part.subquery().select() for part in (pending, *candidates))).subquery()
    return select(parts).order_by(parts.c.kind, *_queue_order(ordering, parts.c)).limit(1)


_NEXT_TASK = {ordering: _next_task_query(ordering) for ordering in ("sequential", "uncertainty")}
_ADD_ASSIGNMENT = insert(ASSIGNMENTS)
_ADD_ANNOTATION = insert(ANNOTATIONS).returning(ANNOTATIONS.c.id)
_SET_ANNOTATION = (update(ANNOTATIONS).where(ANNOTATIONS.c.id == bindparam("annotation"))
                   .values(result=bindparam("new_result"), suggestion_id=bindparam("new_suggestion"),
                           updated_at=bindparam("now")))
_SET_ASSIGNMENT = (update(ASSIGNMENTS).where(ASSIGNMENTS.c.id == bindparam("assignment"))
                   .values(state=bindparam("new_state"), submitted_at=bindparam("when")))
_REOPEN = (update(ASSIGNMENTS).where(ASSIGNMENTS.c.task_id == bindparam("task"), ASSIGNMENTS.c.state == "submitted")
           .values(state="assigned", submitted_at=None))


class ProjectSpec(BaseModel):
    """Project settings, validated up front so a bad flag fails before any task is created."""

    name: str
    task_type: Literal["ner", "classification", "preference", "correction"]
    labels: list[str] = Field(default_factory=list)
    multi_label: bool = False
    allow_overlap: bool = False
    overlap: int = Field(default=1, ge=1, le=100)
    ordering: Literal["sequential", "uncertainty"] = "sequential"
    guidelines: str = ""
    fields: dict[str, str] = Field(default_factory=dict)


class AnnotationService(UserDirectory):
    """Users, projects, task assignment, submission, review, reports and export (see the module docstring)."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace.catalog.engine, workspace.audit)
        self._ws = workspace

    # --- projects and members ----------------------------------------------------------------------------

    def create_project(self, actor: UserInfo, name: str, source: str, task_type: str, labels: Iterable[str] = (),
                       *, multi_label: bool = False, allow_overlap: bool = False, overlap: int = 1,
                       ordering: str = "sequential", guidelines: str = "",
                       fields: Mapping[str, str] | None = None, advance: Advance | None = None) -> ProjectInfo:
        """A project with one task per record of the `source` version (a reference such as `web@2`).

        `fields` maps payload keys to source columns: `text` for ner/classification (default column `text`),
        `prompt`/`response_a`/`response_b` for preference, `instruction`/`response` for correction (default:
        columns of the same names). Only administrators create projects. `advance(n)` is called as tasks
        are written (a progress bar), all in one transaction: an interrupted creation leaves nothing.
        """
        spec = validate_params(ProjectSpec, {
            "name": name, "task_type": task_type, "labels": list(labels), "multi_label": multi_label,
            "allow_overlap": allow_overlap, "overlap": overlap, "ordering": ordering, "guidelines": guidelines,
            "fields": dict(fields or {})}, f"project {name!r}")
        validate_dataset_name(spec.name)
        if spec.task_type in ("ner", "classification") and not spec.labels:
            raise AnnotationValidationError(f"project {name!r}: labels: {spec.task_type} projects need labels")
        if len(set(spec.labels)) != len(spec.labels):
            raise AnnotationValidationError(f"project {name!r}: labels: a label is listed twice")
        with self.read() as session:
            require_admin(current_user(session, actor), "create project")
        version = self._ws.version(source)
        mapping, payloads = task_payloads(version, spec.task_type, spec.fields)
        now = datetime.now(UTC)
        with self.write() as session:
            require_admin(current_user(session, actor), "create project")
            if session.scalar(select(func.count()).where(ProjectRow.name == spec.name)):
                raise ConflictError(f"an annotation project named {spec.name!r} already exists")
            schema = {"labels": spec.labels, "multi_label": spec.multi_label, "allow_overlap": spec.allow_overlap}
            row = ProjectRow(name=spec.name, task_type=spec.task_type, label_schema=schema,
                             guidelines=spec.guidelines, source_version_id=version.info.id, source_ref=version.ref,
                             fields=mapping, overlap=spec.overlap, ordering=spec.ordering,
                             created_by=actor.username, created_at=now)
            session.add(row)
            session.flush()
            count = 0
            for chunk in payloads:
                session.execute(insert(TaskRow), [
                    {"project_id": row.id, "record_id": record_id, "position": count + i, "payload": payload,
                     "state": "open", "priority": 0.0, "created_at": now}
                    for i, (record_id, payload) in enumerate(chunk)])
                count += len(chunk)
                if advance is not None:
                    advance(len(chunk))
            self.audit.append(session, actor=actor.username, action="project.create", entity="project",
                              entity_id=row.id, after={"name": spec.name, "task_type": spec.task_type,
                                                       "label_schema": schema, "source": version.ref,
                                                       "overlap": spec.overlap, "ordering": spec.ordering,
                                                       "tasks": count})
            return lookup.project(session, row.id)

    def get_project(self, actor: UserInfo, project: str | int) -> ProjectInfo:
        with self.read() as session:
            return self._project(session, actor, project, "annotator", "view project").project

    def list_projects(self, actor: UserInfo) -> list[ProjectInfo]:
        """Every project for administrators; for others, the projects they are members of."""
        with self.read() as session:
            acting = current_user(session, actor)
            query = select(PROJECTS).order_by(PROJECTS.c.name)
            if not acting.is_admin:
                query = query.join(MEMBERS, MEMBERS.c.project_id == PROJECTS.c.id).where(
                    MEMBERS.c.user_id == acting.id)
            return [project_info(row._mapping) for row in session.connection().execute(query)]

    def add_member(self, actor: UserInfo, project: str | int, username: str, role: str) -> Member:
        """Give `username` a role (annotator, reviewer, admin) in the project, replacing any earlier one."""
        if role not in ROLES:
            raise AnnotationValidationError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
        with self.write() as session:
            row = self._project(session, actor, project, "admin", "add member").project
            user = user_row(session, username)
            member = membership_row(session, row.id, user.id)
            before = {"role": member.role} if member is not None else None
            if member is None:
                member = MembershipRow(project_id=row.id, user_id=user.id, role=role)
                session.add(member)
            member.role = role
            session.flush()
            self.audit.append(session, actor=actor.username, action="member.set", entity="project",
                              entity_id=row.id, before=before, after={"user": username, "role": role})
            return Member(username=username, role=role)

    def remove_member(self, actor: UserInfo, project: str | int, username: str) -> None:
        """Take the user's role away; their unsubmitted assignments are released (as skipped) to others."""
        with self.write() as session:
            row = self._project(session, actor, project, "admin", "remove member").project
            user = user_row(session, username)
            member = membership_row(session, row.id, user.id)
            if member is None:
                raise NotFoundError(f"{username!r} is not a member of project {row.name!r}")
            session.delete(member)
            # Their unfinished assignments would otherwise hold places of the overlap forever.
            connection = session.connection()
            held = connection.execute(
                select(ASSIGNMENTS.c.id, ASSIGNMENTS.c.task_id).join(TASKS, TASKS.c.id == ASSIGNMENTS.c.task_id)
                .where(TASKS.c.project_id == row.id, ASSIGNMENTS.c.user_id == user.id,
                       ASSIGNMENTS.c.state == "assigned")).all()
            for assignment_id, task_id in held:
                connection.execute(_SET_ASSIGNMENT, {"assignment": assignment_id, "new_state": "skipped", "when": None})
                refresh_state(session, task_id, row.overlap)
            self.audit.append(session, actor=actor.username, action="member.remove", entity="project",
                              entity_id=row.id, before={"user": username, "role": member.role},
                              after={"released_assignments": len(held)})

    def members(self, actor: UserInfo, project: str | int) -> list[Member]:
        with self.read() as session:
            row = self._project(session, actor, project, "annotator", "list members").project
            found = session.execute(select(UserRow.username, MembershipRow.role)
                                    .join(MembershipRow, MembershipRow.user_id == UserRow.id)
                                    .where(MembershipRow.project_id == row.id).order_by(UserRow.username))
            return [Member(username=name, role=cast(Role, role)) for name, role in found]

    def role_of(self, actor: UserInfo, project: str | int) -> Role | None:
        """The actor's effective role in the project (`admin` for global administrators), or None."""
        with self.read() as session:
            return lookup.project_access(session, project, actor).role

    # --- annotating ----------------------------------------------------------------------------------------

    def next_task(self, actor: UserInfo, project: str | int) -> TaskInfo | None:
        """The actor's oldest unfinished assignment, else a newly assigned task, else None (queue empty).

        A task is offered while it has fewer than `overlap` live (assigned or submitted) assignments and the
        actor never had one for it; order is record order, or highest priority first for `uncertainty`.
        """
        with self.write() as session:
            row, acting, _ = self._project(session, actor, project, "annotator", "next task")
            if acting.id is None:
                raise PermissionDenied("next task: annotating needs a user account (see `datatrainer users add`)")
            connection = session.connection()
            next_row = connection.execute(_NEXT_TASK[row.ordering], {"project": row.id, "user": acting.id,
                                                                      "overlap": row.overlap}).first()
            if next_row is None:
                return None
            kind, *task, assigned, submitted = next_row
            found = TaskInfo(*task)  # the fields in the order of TASK_COLUMNS
            if kind == _PENDING:
                return found
            connection.execute(_ADD_ASSIGNMENT, {"task_id": found.id, "user_id": acting.id, "state": "assigned",
                                                 "assigned_at": datetime.now(UTC), "submitted_at": None})
            before, after = store_state(session, found.id, found.state, assigned + 1, submitted, row.overlap)
            self.audit.append(session, actor=actor.username, action="task.assign", entity="task",
                              entity_id=found.id, before={"state": before},
                              after={"state": after, "user": acting.username})
            return replace(found, state=after)

    def tasks_for(self, actor: UserInfo, project: str | int, state: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[TaskInfo]:
        """Reviewers and admins see every task; annotators only the tasks assigned to them (not skipped)."""
        with self.read() as session:
            row, acting, role = self._project(session, actor, project, "annotator", "list tasks")
            query = select(*TASK_COLUMNS).where(TASKS.c.project_id == row.id)
            if rank(role) < rank("reviewer"):
                query = query.join(ASSIGNMENTS, ASSIGNMENTS.c.task_id == TASKS.c.id).where(
                    ASSIGNMENTS.c.user_id == acting.id, ASSIGNMENTS.c.state != "skipped")
            if state is not None:
                query = query.where(TASKS.c.state == state)
            query = query.order_by(TASKS.c.position).limit(limit).offset(offset)
            return [TaskInfo(**task._mapping) for task in session.connection().execute(query)]

    def get_task(self, actor: UserInfo, task_id: int) -> TaskDetail:
        """A task with its suggestions and reviews; annotators must be assigned and see only their own result."""
        with self.read() as session:
            return self._detail(session, self._task(session, actor, task_id, "annotator", "view task"))

    def submit(self, actor: UserInfo, task_id: int, result: Any, suggestion_id: int | None = None) -> AnnotationInfo:
        """Store (or replace) the actor's result for an assigned task, validated against the project schema.

        `suggestion_id` names the pre-annotation the annotator started from, for the acceptance report.
        """
        with self.write() as session:
            work = self._task(session, actor, task_id, "annotator", "submit")
            found, row, acting, mine = work.task, work.project, work.user, work.assignment
            if mine is None or mine.state == "skipped":
                raise PermissionDenied(f"submit: task {found.id} is not assigned to {acting.username}")
            if found.state in ("accepted", "in_review"):
                raise ConflictError(f"task {found.id} is {found.state}: it can no longer be changed")
            clean = validate_result(row.task_type, row.label_schema, found.payload, result, f"task {found.id}")
            if suggestion_id is not None:
                suggestion = session.get(SuggestionRow, suggestion_id)
                if suggestion is None or suggestion.task_id != found.id:
                    raise AnnotationValidationError(f"task {found.id}: suggestion_id: {suggestion_id} is not a "
                                                    "suggestion for this task")
            now = datetime.now(UTC)
            connection = session.connection()
            if mine.annotation_id is None:
                annotation_id, created = connection.execute(_ADD_ANNOTATION, {
                    "task_id": found.id, "user_id": acting.id, "result": clean, "suggestion_id": suggestion_id,
                    "created_at": now, "updated_at": now}).scalar_one(), now
            else:
                connection.execute(_SET_ANNOTATION, {"annotation": mine.annotation_id, "new_result": clean,
                                                     "new_suggestion": suggestion_id, "now": now})
                assert mine.annotation_created_at is not None, "an annotation row has a created_at"
                annotation_id, created = mine.annotation_id, utc(mine.annotation_created_at)
            connection.execute(_SET_ASSIGNMENT, {"assignment": mine.id, "new_state": "submitted", "when": now})
            newly = mine.state == "assigned"  # else a resubmission: the counts stay
            store_state(session, found.id, found.state, work.assigned - newly, work.submitted + newly, row.overlap)
            self.audit.append(session, actor=actor.username, action="annotation.submit", entity="task",
                              entity_id=found.id, before=mine.result, after=clean)
            return AnnotationInfo(id=annotation_id, task_id=found.id, username=acting.username, result=clean,
                                  suggestion_id=suggestion_id, created_at=created, updated_at=now)

    def skip(self, actor: UserInfo, task_id: int) -> None:
        """Give an assigned task back; it goes to another annotator and never returns to this one."""
        with self.write() as session:
            work = self._task(session, actor, task_id, "annotator", "skip")
            found, mine = work.task, work.assignment
            if mine is None or mine.state != "assigned":
                raise ConflictError(f"skip: task {found.id} has no open assignment for {work.user.username}")
            session.connection().execute(_SET_ASSIGNMENT, {"assignment": mine.id, "new_state": "skipped",
                                                           "when": None})
            before, after = store_state(session, found.id, found.state, work.assigned - 1, work.submitted,
                                        work.project.overlap)
            self.audit.append(session, actor=actor.username, action="task.skip", entity="task", entity_id=found.id,
                              before={"state": before}, after={"state": after})

    # --- review --------------------------------------------------------------------------------------------

    def review_queue(self, actor: UserInfo, project: str | int, limit: int = 100) -> list[TaskInfo]:
        """Tasks whose `overlap` annotations are all in, waiting for (or in) review, in record order."""
        with self.read() as session:
            row = self._project(session, actor, project, "reviewer", "review queue").project
            query = (select(*TASK_COLUMNS).where(TASKS.c.project_id == row.id, TASKS.c.state.in_(_REVIEWABLE))
                     .order_by(TASKS.c.position).limit(limit))
            return [TaskInfo(**task._mapping) for task in session.connection().execute(query)]

    def start_review(self, actor: UserInfo, task_id: int) -> TaskDetail:
        """Mark an annotated task as being reviewed (annotators can no longer change it) and return it."""
        with self.write() as session:
            work = self._task(session, actor, task_id, "reviewer", "start review")
            found = work.task
            if found.state not in _REVIEWABLE:
                raise ConflictError(f"task {found.id} is {found.state}: only annotated tasks can be reviewed")
            if found.state == "annotated":
                set_task_state(session, found.id, "in_review")
                work = work._replace(task=replace(found, state="in_review"))
                self.audit.append(session, actor=actor.username, action="review.start", entity="task",
                                  entity_id=found.id, before={"state": "annotated"}, after={"state": "in_review"})
            return self._detail(session, work)

    def review(self, actor: UserInfo, task_id: int, decision: Decision, final_result: Any = None,
               comment: str = "") -> ReviewInfo:
        """accept (the given result, else the consensus), adjudicate (a final result is required), or
        reject (the annotators' assignments reopen for re-annotation)."""
        if decision not in ("accept", "reject", "adjudicate"):
            raise AnnotationValidationError(f"decision: must be accept, reject or adjudicate, got {decision!r}")
        with self.write() as session:
            work = self._task(session, actor, task_id, "reviewer", "review")
            found, row, acting = work.task, work.project, work.user
            if found.state not in _REVIEWABLE:
                raise ConflictError(f"task {found.id} is {found.state}: only annotated tasks can be reviewed")
            final: dict[str, Any] | None = None
            if decision == "reject":
                session.connection().execute(_REOPEN, {"task": found.id})
                state = "rejected"
            else:
                final = self._final_for_review(session, row, found, decision, final_result)
                state = "accepted"
            set_task_state(session, found.id, state)
            review = ReviewRow(task_id=found.id, reviewer_id=acting.id, reviewer=acting.username, decision=decision,
                               final_result=final, comment=comment, created_at=datetime.now(UTC))
            session.add(review)
            session.flush()
            self.audit.append(session, actor=actor.username, action=f"review.{decision}", entity="task",
                              entity_id=found.id, before={"state": found.state},
                              after={"state": state, "final_result": final, "comment": comment})
            return review_info(review)

    def _final_for_review(self, session: Session, row: ProjectInfo, task: TaskInfo, decision: str,
                          final_result: Any) -> dict[str, Any]:
        if final_result is not None:
            return validate_result(row.task_type, row.label_schema, task.payload, final_result,
                                   f"task {task.id}: final result")
        if decision == "adjudicate":
            raise AnnotationValidationError(f"task {task.id}: final_result: adjudication needs a final result")
        final = final_results(session, row).get(task.id)
        if final is None or final.result is None or final.result.get("choice", "") is None:
            raise ConflictError(f"task {task.id}: the annotators have no majority; adjudicate with a final result")
        return final.result

    # --- pre-annotation and reports ------------------------------------------------------------------------

    def add_suggestions(self, actor: UserInfo, task_id: int, source: str, result: Any,
                        scores: Mapping[str, Any] | None = None) -> SuggestionInfo:
        """Store a pre-annotation (validated like a submission) from `source`, e.g. `spacy:en_core_web_sm`."""
        with self.write() as session:
            work = self._task(session, actor, task_id, "admin", "add suggestions")
            found, row = work.task, work.project
            suggestion = self._suggestion(session, row, found, source, result, scores)
            self.audit.append(session, actor=actor.username, action="suggestion.add", entity="task",
                              entity_id=found.id, after={"source": source, "result": suggestion.result})
            return suggestion_info(suggestion)

    def add_suggestions_by_record(self, actor: UserInfo, project: str | int, source: str,
                                  items: Iterable[tuple[str, Any, Mapping[str, Any] | None]]) -> int:
        """Store many suggestions `(record_id, result, scores)` in one transaction; returns how many."""
        with self.write() as session:
            row = self._project(session, actor, project, "admin", "add suggestions").project
            by_record = tasks_by_record(session, row.id)
            count = 0
            for record_id, result, scores in items:
                if record_id not in by_record:
                    raise NotFoundError(f"project {row.name!r} has no task for record {record_id!r}")
                self._suggestion(session, row, by_record[record_id], source, result, scores)
                count += 1
            self.audit.append(session, actor=actor.username, action="suggestion.add_many", entity="project",
                              entity_id=row.id, after={"source": source, "count": count})
            return count

    def suggested_records(self, actor: UserInfo, project: str | int, source: str, config_hash: str) -> set[str]:
        """Record ids already holding a suggestion from `source` whose stored scores name this `config_hash`
        (what a re-run of the same suggester skips)."""
        with self.read() as session:
            row = self._project(session, actor, project, "admin", "list suggestions").project
            rows = session.execute(select(TaskRow.record_id, SuggestionRow.scores)
                                   .join(SuggestionRow, SuggestionRow.task_id == TaskRow.id)
                                   .where(TaskRow.project_id == row.id, SuggestionRow.source == source))
            return {record_id for record_id, scores in rows if (scores or {}).get("config_hash") == config_hash}

    def _suggestion(self, session: Session, row: ProjectInfo, task: TaskInfo | TaskRow, source: str, result: Any,
                    scores: Mapping[str, Any] | None) -> SuggestionRow:
        clean = validate_result(row.task_type, row.label_schema, task.payload, result, f"task {task.id}: suggestion")
        suggestion = SuggestionRow(task_id=task.id, source=source, result=clean, scores=dict(scores or {}),
                                   created_at=datetime.now(UTC))
        session.add(suggestion)
        session.flush()
        return suggestion

    def set_priorities(self, actor: UserInfo, project: str | int, priorities: Mapping[str, float]) -> int:
        """Set tasks' priority (e.g. model uncertainty) by record id; `uncertainty` ordering serves highest first."""
        with self.write() as session:
            row = self._project(session, actor, project, "admin", "set priorities").project
            by_record = tasks_by_record(session, row.id)
            for record_id, value in priorities.items():
                if record_id not in by_record:
                    raise NotFoundError(f"project {row.name!r} has no task for record {record_id!r}")
                by_record[record_id].priority = float(value)
            self.audit.append(session, actor=actor.username, action="project.priorities", entity="project",
                              entity_id=row.id, after={"count": len(priorities)})
            return len(priorities)

    def progress(self, actor: UserInfo, project: str | int) -> ProjectProgress:
        """Task counts by state, and per annotator their live, submitted and skipped assignments."""
        with self.read() as session:
            row = self._project(session, actor, project, "reviewer", "progress").project
            by_state = dict.fromkeys(("open", "in_progress", "annotated", "in_review", "accepted", "rejected"), 0)
            for state, count in session.execute(select(TaskRow.state, func.count()).where(TaskRow.project_id == row.id)
                                                .group_by(TaskRow.state)):
                by_state[state] = count
            counts: dict[str, dict[str, int]] = {}
            for username, state, count in session.execute(
                    select(UserRow.username, AssignmentRow.state, func.count())
                    .join(AssignmentRow, AssignmentRow.user_id == UserRow.id)
                    .join(TaskRow, TaskRow.id == AssignmentRow.task_id)
                    .where(TaskRow.project_id == row.id).group_by(UserRow.username, AssignmentRow.state)):
                counts.setdefault(username, {})[state] = count
            per_annotator = {name: AnnotatorProgress(**c) for name, c in sorted(counts.items())}
            return ProjectProgress(project=row.name, total=sum(by_state.values()), by_state=by_state,
                                   per_annotator=per_annotator)

    def suggestion_acceptance(self, actor: UserInfo, project: str | int) -> list[LabelAcceptance]:
        """Per suggestion source and label: how many suggested items annotators kept, changed or deleted."""
        with self.read() as session:
            row = self._project(session, actor, project, "reviewer", "suggestion acceptance").project
            votes = votes_by_task(session, row.id)
            suggestions = session.scalars(select(SuggestionRow).join(TaskRow, TaskRow.id == SuggestionRow.task_id)
                                          .where(TaskRow.project_id == row.id).order_by(SuggestionRow.id))
            pairs = [(s.source, dict(s.result), v.result) for s in suggestions for v in votes.get(s.task_id, ())]
            return acceptance.tally(row.task_type, row.label_schema, pairs)

    def export_version(self, actor: UserInfo, project: str | int, name: str,
                       include_unannotated: bool = False) -> DatasetVersion:
        """Write the project's results as a new version of dataset `name`, with the source version as parent."""
        with self.read() as session:
            row = self._project(session, actor, project, "admin", "export").project
            finals = final_results(session, row)
            tasks = {task_id: (record_id, state) for task_id, record_id, state in session.execute(
                select(TaskRow.id, TaskRow.record_id, TaskRow.state).where(TaskRow.project_id == row.id))}

        def audit_export(session: Session, version: VersionInfo) -> None:
            self.audit.append(session, actor=actor.username, action="project.export", entity="project",
                              entity_id=row.id, after={"version": version.ref, "rows": version.row_count})

        return export_project(self._ws, row, tasks, finals, name, include_unannotated, audit_export)

    def annotated_docs(self, actor: UserInfo, project: str | int, per_annotator: bool = False
                       ) -> list[AnnotatedDoc]:
        """Results as `AnnotatedDoc`s for `datatrainer.annotation.formats.write` (ner and classification).

        One doc per annotated record with its final result, or with `per_annotator` one per counted
        annotation, the annotator in `meta["annotator"]` (what Label Studio and agreement code expect).
        """
        with self.read() as session:
            row = self._project(session, actor, project, "admin", "export").project
            return project_docs(session, row, per_annotator)

    def import_docs(self, actor: UserInfo, project: str | int, docs: Iterable[AnnotatedDoc],
                    as_annotations: bool = False, source: str = "import") -> ImportReport:
        """Load documents read by `datatrainer.annotation.formats.read` in one transaction (see `transfer`)."""
        with self.write() as session:
            row = self._project(session, actor, project, "admin", "import").project
            return import_docs(session, self.audit, actor.username, row, docs, as_annotations, source)

    # --- helpers -------------------------------------------------------------------------------------------

    def _project(self, session: Session, actor: UserInfo, project: str | int, minimum: Role,
                 action: str) -> ProjectAccess:
        """The project, the actor as stored now and their role in it, which must be at least `minimum`."""
        found = lookup.project_access(session, project, actor)
        _require(found.project, found.user, found.role, minimum, action)
        return found

    def _task(self, session: Session, actor: UserInfo, task_id: int, minimum: Role, action: str) -> TaskAccess:
        """The task with its project, the actor's role (at least `minimum`), assignment and the task's counts."""
        found = lookup.task_access(session, task_id, actor)
        _require(found.project, found.user, found.role, minimum, action)
        return found

    def _detail(self, session: Session, work: TaskAccess) -> TaskDetail:
        task, acting, mine = work.task, work.user, work.assignment
        sees_all = rank(work.role) >= rank("reviewer")
        if not sees_all and mine is None:
            raise PermissionDenied(f"view task: task {task.id} is not assigned to {acting.username}")
        query = (select(AnnotationRow, UserRow.username).join(UserRow, UserRow.id == AnnotationRow.user_id)
                 .where(AnnotationRow.task_id == task.id).order_by(AnnotationRow.id))
        if not sees_all:
            query = query.where(AnnotationRow.user_id == acting.id)
        annotations = tuple(annotation_info(a, name) for a, name in session.execute(query))
        suggestions = tuple(suggestion_info(s) for s in session.scalars(
            select(SuggestionRow).where(SuggestionRow.task_id == task.id).order_by(SuggestionRow.id)))
        reviews = tuple(review_info(r) for r in session.scalars(
            select(ReviewRow).where(ReviewRow.task_id == task.id).order_by(ReviewRow.id)))
        return TaskDetail(task=task, assignment_state=mine.state if mine else None, annotations=annotations,
                          suggestions=suggestions, reviews=reviews)


def _require(project: ProjectInfo, acting: UserInfo, role: Role | None, minimum: Role, action: str) -> None:
    """Refuse unless `role` is at least `minimum`."""
    if role is None or rank(role) < rank(minimum):
        held = f"is {role}" if role else "is not a member"
        raise PermissionDenied(f"{action}: needs the {minimum} role in project {project.name!r} "
                               f"({acting.username} {held})")
