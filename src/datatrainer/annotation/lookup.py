"""Row lookups and task-state rules shared by the workflow and by file import.

Roles are ranked annotator < reviewer < admin, and a higher role includes the lower ones; a global
administrator counts as `admin` everywhere.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatrainer.annotation.models import AssignmentRow, MembershipRow, ProjectRow, TaskRow
from datatrainer.annotation.types import ROLES, Role, UserInfo
from datatrainer.errors import NotFoundError


def rank(role: str | None) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


def membership_row(session: Session, project_id: int, user_id: int | None) -> MembershipRow | None:
    return session.scalar(select(MembershipRow).where(MembershipRow.project_id == project_id,
                                                      MembershipRow.user_id == user_id))


def role_in(session: Session, user: UserInfo, project_id: int) -> Role | None:
    if user.is_admin:
        return "admin"
    member = membership_row(session, project_id, user.id)
    role = member.role if member is not None else None
    return role if role in ROLES else None


def project_row(session: Session, project: str | int) -> ProjectRow:
    column = ProjectRow.id if isinstance(project, int) else ProjectRow.name
    row = session.scalar(select(ProjectRow).where(column == project))
    if row is None:
        raise NotFoundError(f"no annotation project {project!r} (see `datatrainer annotate list`)")
    return row


def task_row(session: Session, task_id: int) -> tuple[TaskRow, ProjectRow]:
    task = session.get(TaskRow, task_id, populate_existing=True)
    if task is None:
        raise NotFoundError(f"no annotation task {task_id}")
    project = session.get(ProjectRow, task.project_id)
    assert project is not None
    return task, project


def assignment_row(session: Session, task_id: int, user: UserInfo) -> AssignmentRow | None:
    return session.scalar(select(AssignmentRow).where(AssignmentRow.task_id == task_id,
                                                      AssignmentRow.user_id == user.id))


def tasks_by_record(session: Session, project_id: int) -> dict[str, TaskRow]:
    return {task.record_id: task for task in session.scalars(select(TaskRow).where(TaskRow.project_id == project_id))}


def refresh_state(session: Session, task: TaskRow, overlap: int) -> None:
    """Derive the task's state from its assignments; review states (in_review, accepted) are left alone.

    A rejected task stays `rejected` until its annotators have all resubmitted.
    """
    if task.state in ("in_review", "accepted"):
        return
    counts = dict(session.execute(select(AssignmentRow.state, func.count()).where(AssignmentRow.task_id == task.id)
                                  .group_by(AssignmentRow.state)).all())
    assigned, submitted = counts.get("assigned", 0), counts.get("submitted", 0)
    if submitted >= overlap and assigned == 0:
        task.state = "annotated"
    elif task.state != "rejected":
        task.state = "in_progress" if assigned + submitted else "open"
