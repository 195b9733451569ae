"""Row lookups and task-state rules shared by the workflow and by file import.

Roles are ranked annotator < reviewer < admin, and a higher role includes the lower ones; a global
administrator counts as `admin` everywhere.

The lookups every request makes (project, caller's access, task, the caller's assignment, the task's state)
are SQLAlchemy Core statements built once at import: SQLAlchemy compiles each once and caches it, so a call
costs ~40 µs instead of the ~160 µs of the equivalent ORM query, and they return frozen values, never live rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, func, select, update
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
TASK_COLUMNS = (TASKS.c.id, TASKS.c.project_id, TASKS.c.record_id, TASKS.c.position, TASKS.c.payload, TASKS.c.state,
                TASKS.c.priority)

_PROJECT_BY_ID = select(PROJECTS).where(PROJECTS.c.id == bindparam("key"))
_PROJECT_BY_NAME = select(PROJECTS).where(PROJECTS.c.name == bindparam("key"))
_ACCESS = (select(USERS.c.username, USERS.c.is_admin, USERS.c.disabled, MEMBERS.c.role)
           .select_from(USERS.outerjoin(MEMBERS, (MEMBERS.c.user_id == USERS.c.id)
                                        & (MEMBERS.c.project_id == bindparam("project"))))
           .where(USERS.c.id == bindparam("user")))
_TASK = select(*TASK_COLUMNS).where(TASKS.c.id == bindparam("task"))
_ASSIGNMENT = (select(ASSIGNMENTS.c.id, ASSIGNMENTS.c.state, ANNOTATIONS.c.id.label("annotation_id"),
                      ANNOTATIONS.c.result, ANNOTATIONS.c.created_at)
               .select_from(ASSIGNMENTS.outerjoin(ANNOTATIONS, (ANNOTATIONS.c.task_id == ASSIGNMENTS.c.task_id)
                                                  & (ANNOTATIONS.c.user_id == ASSIGNMENTS.c.user_id)))
               .where(ASSIGNMENTS.c.task_id == bindparam("task"), ASSIGNMENTS.c.user_id == bindparam("user")))
_TASK_COUNTS = (select(TASKS.c.state, func.count(ASSIGNMENTS.c.id).filter(ASSIGNMENTS.c.state == "assigned"),
                       func.count(ASSIGNMENTS.c.id).filter(ASSIGNMENTS.c.state == "submitted"))
                .select_from(TASKS.outerjoin(ASSIGNMENTS, ASSIGNMENTS.c.task_id == TASKS.c.id))
                .where(TASKS.c.id == bindparam("task")).group_by(TASKS.c.id, TASKS.c.state))
_SET_TASK_STATE = update(TASKS).where(TASKS.c.id == bindparam("task")).values(state=bindparam("new_state"))


class Assignment(NamedTuple):
    """A user's assignment for a task, with their stored annotation (kept across skips and rejections)."""

    id: int
    state: str
    annotation_id: int | None
    result: dict[str, Any] | None
    annotation_created_at: datetime | None


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


def access(session: Session, actor: UserInfo, project_id: int) -> tuple[UserInfo, Role | None]:
    """The actor as stored now (a user disabled after logging in loses access at once) and their effective
    role in the project, in one query."""
    if actor.id is None:
        return actor, effective_role(actor.is_admin, None)
    found = session.connection().execute(_ACCESS, {"user": actor.id, "project": project_id}).first()
    if found is None or found.disabled:
        raise user_gone(actor)
    user = UserInfo(id=actor.id, username=found.username, is_admin=found.is_admin, disabled=False)
    return user, effective_role(user.is_admin, found.role)


def project(session: Session, key: str | int) -> ProjectInfo:
    """A project by id or name."""
    statement = _PROJECT_BY_ID if isinstance(key, int) else _PROJECT_BY_NAME
    found = session.connection().execute(statement, {"key": key}).first()
    if found is None:
        raise NotFoundError(f"no annotation project {key!r} (see `datatrainer annotate list`)")
    return project_info(found._mapping)


def task(session: Session, task_id: int) -> TaskInfo:
    found = session.connection().execute(_TASK, {"task": task_id}).first()
    if found is None:
        raise NotFoundError(f"no annotation task {task_id}")
    return TaskInfo(**found._mapping)


def task_and_project(session: Session, task_id: int) -> tuple[TaskInfo, ProjectInfo]:
    found = task(session, task_id)
    return found, project(session, found.project_id)


def assignment(session: Session, task_id: int, user: UserInfo) -> Assignment | None:
    if user.id is None:
        return None
    found = session.connection().execute(_ASSIGNMENT, {"task": task_id, "user": user.id}).first()
    return Assignment(*found) if found is not None else None


def tasks_by_record(session: Session, project_id: int) -> dict[str, TaskRow]:
    return {task.record_id: task for task in session.scalars(select(TaskRow).where(TaskRow.project_id == project_id))}


def set_task_state(session: Session, task_id: int, state: str) -> None:
    session.connection().execute(_SET_TASK_STATE, {"task": task_id, "new_state": state})


def refresh_state(session: Session, task_id: int, overlap: int) -> tuple[str, str]:
    """Derive the task's state from its (flushed) assignments and store it; returns (before, after).

    Review states (in_review, accepted) are left alone. A rejected task stays `rejected` until its annotators
    have all resubmitted.
    """
    before, assigned, submitted = session.connection().execute(_TASK_COUNTS, {"task": task_id}).one()
    after = before
    if before in ("in_review", "accepted"):
        return before, after
    if submitted >= overlap and assigned == 0:
        after = "annotated"
    elif before != "rejected":
        after = "in_progress" if assigned + submitted else "open"
    if after != before:
        set_task_state(session, task_id, after)
    return before, after
