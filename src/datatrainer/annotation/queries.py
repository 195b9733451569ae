"""Read queries shared by the workflow, reports and export: roles, counted annotations, final results.

An annotation counts only while its assignment is `submitted`: a result kept from before a skip or a
rejection is history, never a vote, so nothing is double-counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatrainer.annotation.consensus import consensus
from datatrainer.annotation.models import AnnotationRow, AssignmentRow, ReviewRow, TaskRow
from datatrainer.annotation.types import ProjectInfo
from datatrainer.security.models import UserRow


@dataclass(frozen=True)
class Vote:
    username: str
    result: dict[str, Any]
    suggestion_id: int | None


@dataclass(frozen=True)
class FinalResult:
    """What a project keeps for one task: a reviewer's result, else the annotators' consensus."""

    result: dict[str, Any] | None
    source: str  # "review" or "consensus"
    votes: tuple[Vote, ...]


def votes_by_task(session: Session, project_id: int) -> dict[int, list[Vote]]:
    """Counted annotations per task, in submission order."""
    rows = session.execute(
        select(AnnotationRow.task_id, UserRow.username, AnnotationRow.result, AnnotationRow.suggestion_id)
        .join(TaskRow, TaskRow.id == AnnotationRow.task_id)
        .join(AssignmentRow, (AssignmentRow.task_id == AnnotationRow.task_id)
              & (AssignmentRow.user_id == AnnotationRow.user_id))
        .join(UserRow, UserRow.id == AnnotationRow.user_id)
        .where(TaskRow.project_id == project_id, AssignmentRow.state == "submitted")
        .order_by(AnnotationRow.task_id, AssignmentRow.submitted_at, AnnotationRow.id)
    )
    votes: dict[int, list[Vote]] = defaultdict(list)
    for task_id, username, result, suggestion_id in rows:
        votes[task_id].append(Vote(username, dict(result), suggestion_id))
    return votes


def final_results(session: Session, project: ProjectInfo) -> dict[int, FinalResult]:
    """Per task with at least one counted annotation or an accepting review, its final result."""
    votes = votes_by_task(session, project.id)
    reviewed: dict[int, dict[str, Any]] = {}
    accepted = (
        select(ReviewRow.task_id, ReviewRow.final_result)
        .join(TaskRow, TaskRow.id == ReviewRow.task_id)
        .where(TaskRow.project_id == project.id, TaskRow.state == "accepted",
               ReviewRow.decision.in_(("accept", "adjudicate")))
        .order_by(ReviewRow.id)
    )
    for task_id, final in session.execute(accepted):
        if final is not None:
            reviewed[task_id] = dict(final)  # later reviews override earlier ones
    finals: dict[int, FinalResult] = {}
    for task_id in set(votes) | set(reviewed):
        task_votes = tuple(votes.get(task_id, ()))
        if task_id in reviewed:
            finals[task_id] = FinalResult(reviewed[task_id], "review", task_votes)
        else:
            result = consensus(project.task_type, project.label_schema, [v.result for v in task_votes])
            finals[task_id] = FinalResult(result, "consensus", task_votes)
    return finals
