"""Remove annotation tasks (with their annotations, suggestions, assignments and reviews) and projects.

Shared by erasure (the tasks of erased records) and dataset deletion (the projects built on deleted versions).
Everything runs in the caller's transaction, children before parents (foreign keys).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from datatrainer.annotation.models import (
    AnnotationRow,
    AssignmentRow,
    MembershipRow,
    ProjectRow,
    ReviewRow,
    SuggestionRow,
    TaskRow,
)


def _chunks(values: list[int], size: int = 500) -> Iterator[list[int]]:
    """Bounded IN lists (SQLite caps bound parameters)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def delete_tasks(session: Session, task_ids: Iterable[int]) -> int:
    ids = sorted(set(task_ids))
    for chunk in _chunks(ids):
        for model in (ReviewRow, AnnotationRow, SuggestionRow, AssignmentRow):
            session.execute(delete(model).where(model.task_id.in_(chunk)))
        session.execute(delete(TaskRow).where(TaskRow.id.in_(chunk)))
    return len(ids)


def delete_projects(session: Session, project_ids: Iterable[int]) -> int:
    ids = sorted(set(project_ids))
    for chunk in _chunks(ids):
        delete_tasks(session, session.scalars(select(TaskRow.id).where(TaskRow.project_id.in_(chunk))))
        session.execute(delete(MembershipRow).where(MembershipRow.project_id.in_(chunk)))
        session.execute(delete(ProjectRow).where(ProjectRow.id.in_(chunk)))
    return len(ids)


def projects_on(session: Session, version_ids: Collection[int]) -> list[tuple[int, str]]:
    """(id, name) of the projects whose tasks were made from these versions."""
    if not version_ids:
        return []
    query = select(ProjectRow.id, ProjectRow.name).where(ProjectRow.source_version_id.in_(sorted(version_ids)))
    return [(int(i), str(n)) for i, n in session.execute(query.order_by(ProjectRow.id))]


def source_versions(session: Session, task_ids: Collection[int]) -> set[int]:
    """The versions the projects of these tasks were made from."""
    found: set[int] = set()
    for chunk in _chunks(sorted(task_ids)):
        found.update(session.scalars(select(ProjectRow.source_version_id).join(TaskRow, TaskRow.project_id ==
                                                                              ProjectRow.id)
                                     .where(TaskRow.id.in_(chunk)).distinct()))
    return found


def tasks_to_erase(session: Session, version_ids: Collection[int], record_ids: Collection[str],
                   needles: Collection[bytes]) -> set[int]:
    """Tasks of projects built on `version_ids` whose record is erased, and tasks anywhere whose payload,
    annotations, suggestions or review comments contain one of `needles` (JSON-escaped texts)."""
    found: set[int] = set()
    projects = [pid for pid, _ in projects_on(session, version_ids)]
    ids = sorted(record_ids)
    for chunk in _chunks(projects):
        for start in range(0, len(ids), 500):
            records = ids[start:start + 500]
            found.update(session.scalars(select(TaskRow.id).where(TaskRow.project_id.in_(chunk),
                                                                  TaskRow.record_id.in_(records))))
    if needles:
        sources = [select(TaskRow.id, TaskRow.payload), select(AnnotationRow.task_id, AnnotationRow.result),
                   select(SuggestionRow.task_id, SuggestionRow.result),
                   select(ReviewRow.task_id, ReviewRow.final_result), select(ReviewRow.task_id, ReviewRow.comment)]
        for query in sources:
            for task_id, content in session.execute(query.execution_options(yield_per=1000)):
                if contains_any(content, needles):
                    found.add(int(task_id))
    return found


def contains_any(content: object, needles: Collection[bytes]) -> bool:
    """Whether the JSON form of `content` holds one of the JSON-escaped `needles`."""
    if content is None:
        return False
    data = orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
    return any(needle in data for needle in needles)


def needle(text: str) -> bytes:
    """How `text` appears inside any JSON document orjson writes (quotes and control characters escaped)."""
    return orjson.dumps(text)[1:-1]
