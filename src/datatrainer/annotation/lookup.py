"""Row lookups and task-state rules shared by the workflow and by file import.

Roles are ranked annotator < reviewer < admin, and a higher role includes the lower ones; a global
administrator counts as `admin` everywhere.

The lookups every request makes are SQLAlchemy Core statements built once at import: SQLAlchemy compiles each
once and caches it, so a call costs ~40 µs instead of the ~160 µs of the equivalent ORM query, and they return
frozen values, never live rows. Most of those ~40 µs are SQLAlchemy's per-statement work, not SQLite's, so what
a request needs about a project (the project, the caller as stored now, their role) or a task (also the caller's
assignment and the task's counts) is fetched in one joined query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, FromClause, Join, Row, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from datatrainer.annotation.models import AnnotationRow, AssignmentRow, MembershipRow, ProjectRow, TaskRow
from datatrainer.annotation.rows import project_info
from datatrainer.annotation.types import ROLES, ProjectInfo, Role, TaskInfo, UserInfo
from datatrainer.errors import NotFoundError
from datatrainer.security.models import UserRow
from datatrainer.security.users import user_gone
from datatrainer.store.models import Base


def table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


PROJECTS, MEMBERS, TASKS = table(ProjectRow), table(MembershipRow), table(TaskRow)
ASSIGNMENTS, ANNOTATIONS, USERS = table(AssignmentRow), table(AnnotationRow), table(UserRow)
AnyRow = Row[*tuple[Any, ...]]
TASK_COLUMNS = (TASKS.c.id, TASKS.c.project_id, TASKS.c.record_id, TASKS.c.position, TASKS.c.payload, TASKS.c.state,
                TASKS.c.priority)

_PROJECT_BY_ID = select(PROJECTS).where(PROJECTS.c.id == bindparam("key"))
_PROJECT_BY_NAME = select(PROJECTS).where(PROJECTS.c.name == bindparam("key"))
# The caller as stored now and their membership, joined onto whatever names the project (`_with_caller`).
_CALLER_COLUMNS = (USERS.c.username.label("caller_name"), USERS.c.is_admin.label("caller_is_admin"),
                   USERS.c.disabled.label("caller_disabled"), MEMBERS.c.role.label("caller_role"))
# A task's assignments in one state, as a column of a query over tasks.
ASSIGNED_COUNT, SUBMITTED_COUNT = (select(func.count())
                                   .where(ASSIGNMENTS.c.task_id == TASKS.c.id, ASSIGNMENTS.c.state == state)
                                   .correlate(TASKS).scalar_subquery() for state in ("assigned", "submitted"))


def _with_caller(base: FromClause, project_id: ColumnElement[int]) -> Join:
    """`base` outer-joined with the caller (`:user`) and their membership in the project `project_id`: a missing
    or disabled user still yields the row, so "no such project" stays told apart from "no such user"."""
    return (base.outerjoin(USERS, USERS.c.id == bindparam("user"))
            .outerjoin(MEMBERS, (MEMBERS.c.project_id == project_id) & (MEMBERS.c.user_id == USERS.c.id)))


_PROJECT_ACCESS = {key_type: select(PROJECTS, *_CALLER_COLUMNS).select_from(_with_caller(PROJECTS, PROJECTS.c.id))
                   .where(key == bindparam("key")) for key_type, key in ((int, PROJECTS.c.id), (str, PROJECTS.c.name))}
_TASK_ACCESS = (select(*(c.label(f"task_{c.name}") for c in TASK_COLUMNS), PROJECTS, *_CALLER_COLUMNS,
                       ASSIGNMENTS.c.id.label("assignment_id"), ASSIGNMENTS.c.state.label("assignment_state"),
                       ANNOTATIONS.c.id.label("annotation_id"), ANNOTATIONS.c.result,
                       ANNOTATIONS.c.created_at.label("annotation_created_at"),
                       ASSIGNED_COUNT.label("assigned"), SUBMITTED_COUNT.label("submitted"))
                .select_from(_with_caller(TASKS.join(PROJECTS, PROJECTS.c.id == TASKS.c.project_id), PROJECTS.c.id)
                             .outerjoin(ASSIGNMENTS, (ASSIGNMENTS.c.task_id == TASKS.c.id)
                                        & (ASSIGNMENTS.c.user_id == bindparam("user")))
                             .outerjoin(ANNOTATIONS, (ANNOTATIONS.c.task_id == TASKS.c.id)
                                        & (ANNOTATIONS.c.user_id == bindparam("user"))))
                .where(TASKS.c.id == bindparam("task")))
_TASK_COUNTS = select(TASKS.c.state, ASSIGNED_COUNT, SUBMITTED_COUNT).where(TASKS.c.id == bindparam("task"))
_SET_TASK_STATE = update(TASKS).where(TASKS.c.id == bindparam("task")).values(state=bindparam("new_state"))


class Assignment(NamedTuple):
    """A user's assignment for a task, with their stored annotation (kept across skips and rejections)."""

    id: int
    state: str
    annotation_id: int | None
    result: dict[str, Any] | None
    annotation_created_at: datetime | None


class ProjectAccess(NamedTuple):
    """A project, the caller as stored now, and the caller's effective role in it (None: not a member)."""

    project: ProjectInfo
    user: UserInfo
    role: Role | None


class TaskAccess(NamedTuple):
    """A task, its project, the caller as stored now with their effective role, the caller's assignment (None
    when they never had one), and how many of the task's assignments are assigned and submitted."""

    task: TaskInfo
    project: ProjectInfo
    user: UserInfo
    role: Role | None
    assignment: Assignment | None
    assigned: int
    submitted: int


def rank(role: str | None) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


def effective_role(is_admin: bool, role: str | None) -> Role | None:
    if is_admin:
        return "admin"
    return next((r for r in ROLES if r == role), None)


def membership_row(session: Session, project_id: int, user_id: int | None) -> MembershipRow | None:
    return session.scalar(select(MembershipRow).where(MembershipRow.project_id == project_id,
                                                      MembershipRow.user_id == user_id))


def role_in(session: Session, user: UserInfo, project_id: int) -> Role | None:
    member = membership_row(session, project_id, user.id) if not user.is_admin else None
    return effective_role(user.is_admin, member.role if member is not None else None)


def _caller(actor: UserInfo, found: AnyRow) -> tuple[UserInfo, Role | None]:
    """The actor as stored now (a user disabled after logging in loses access at once) and their effective
    role, from a row with the `_CALLER_COLUMNS`; the CLI's local operator (no id) is taken as is."""
    if actor.id is None:
        return actor, effective_role(actor.is_admin, None)
    if found.caller_name is None or found.caller_disabled:
        raise user_gone(actor)
    user = UserInfo(id=actor.id, username=found.caller_name, is_admin=found.caller_is_admin, disabled=False)
    return user, effective_role(user.is_admin, found.caller_role)


def project(session: Session, key: str | int) -> ProjectInfo:
    """A project by id or name."""
    statement = _PROJECT_BY_ID if isinstance(key, int) else _PROJECT_BY_NAME
    return project_info(_found_project(session.connection().execute(statement, {"key": key}).first(), key)._mapping)


def project_access(session: Session, key: str | int, actor: UserInfo) -> ProjectAccess:
    """A project by id or name, with the actor as stored now and their effective role in it: one query."""
    found = _found_project(session.connection().execute(_PROJECT_ACCESS[type(key)], {"key": key, "user": actor.id})
                           .first(), key)
    return ProjectAccess(project_info(found._mapping), *_caller(actor, found))


def _found_project(found: AnyRow | None, key: str | int) -> AnyRow:
    if found is None:
        raise NotFoundError(f"no annotation project {key!r} (see `datatrainer annotate list`)")
    return found


def task_access(session: Session, task_id: int, actor: UserInfo) -> TaskAccess:
    """A task with everything a request about it needs (see `TaskAccess`), in one query."""
    found = session.connection().execute(_TASK_ACCESS, {"task": task_id, "user": actor.id}).first()
    if found is None:
        raise NotFoundError(f"no annotation task {task_id}")
    task = TaskInfo(*found[:len(TASK_COLUMNS)])  # the fields in the order of TASK_COLUMNS
    mine = (Assignment(found.assignment_id, found.assignment_state, found.annotation_id, found.result,
                       found.annotation_created_at) if found.assignment_id is not None else None)
    return TaskAccess(task, project_info(found._mapping), *_caller(actor, found), mine, found.assigned,
                      found.submitted)


def tasks_by_record(session: Session, project_id: int) -> dict[str, TaskRow]:
    return {task.record_id: task for task in session.scalars(select(TaskRow).where(TaskRow.project_id == project_id))}


def set_task_state(session: Session, task_id: int, state: str) -> None:
    session.connection().execute(_SET_TASK_STATE, {"task": task_id, "new_state": state})


def derived_state(before: str, assigned: int, submitted: int, overlap: int) -> str:
    """A task's state given its live assignments: review states (in_review, accepted) are left alone, and a
    rejected task stays `rejected` until its annotators have all resubmitted."""
    if before in ("in_review", "accepted"):
        return before
    if submitted >= overlap and assigned == 0:
        return "annotated"
    if before == "rejected":
        return before
    return "in_progress" if assigned + submitted else "open"


def store_state(session: Session, task_id: int, before: str, assigned: int, submitted: int,
                overlap: int) -> tuple[str, str]:
    """Store the state derived from the counts (when it changed); returns (before, after)."""
    after = derived_state(before, assigned, submitted, overlap)
    if after != before:
        set_task_state(session, task_id, after)
    return before, after


def refresh_state(session: Session, task_id: int, overlap: int) -> tuple[str, str]:
    """Derive the task's state from its (flushed) assignments as counted now and store it; returns (before,
    after)."""
    before, assigned, submitted = session.connection().execute(_TASK_COUNTS, {"task": task_id}).one()
    return store_state(session, task_id, before, assigned, submitted, overlap)
