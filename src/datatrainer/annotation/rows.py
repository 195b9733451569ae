"""Conversions from ORM rows to the frozen values the service returns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import RowMapping

from datatrainer.annotation.models import AnnotationRow, ReviewRow, SuggestionRow, TaskRow
from datatrainer.annotation.types import (
    AnnotationInfo,
    LabelSchema,
    Ordering,
    ProjectInfo,
    ReviewInfo,
    SuggestionInfo,
    TaskInfo,
    TaskType,
)


def utc(moment: datetime) -> datetime:
    """SQLite returns naive timestamps; everything is written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def label_schema(raw: Mapping[str, Any]) -> LabelSchema:
    return LabelSchema(labels=tuple(raw["labels"]), multi_label=bool(raw["multi_label"]),
                       allow_overlap=bool(raw["allow_overlap"]))


def project_info(row: RowMapping) -> ProjectInfo:
    """From a Core row mapping of the projects table."""
    return ProjectInfo(id=row["id"], name=row["name"], task_type=cast(TaskType, row["task_type"]),
                       label_schema=label_schema(row["label_schema"]), guidelines=row["guidelines"],
                       source_ref=row["source_ref"], source_version_id=row["source_version_id"],
                       fields=dict(row["fields"]), overlap=row["overlap"], ordering=cast(Ordering, row["ordering"]),
                       created_by=row["created_by"], created_at=utc(row["created_at"]))


def task_info(row: TaskRow) -> TaskInfo:
    return TaskInfo(id=row.id, project_id=row.project_id, record_id=row.record_id, position=row.position,
                    payload=dict(row.payload), state=row.state, priority=row.priority)


def annotation_info(row: AnnotationRow, username: str) -> AnnotationInfo:
    return AnnotationInfo(id=row.id, task_id=row.task_id, username=username, result=dict(row.result),
                          suggestion_id=row.suggestion_id, created_at=utc(row.created_at),
                          updated_at=utc(row.updated_at))


def suggestion_info(row: SuggestionRow) -> SuggestionInfo:
    return SuggestionInfo(id=row.id, task_id=row.task_id, source=row.source, result=dict(row.result),
                          scores=dict(row.scores), created_at=utc(row.created_at))


def review_info(row: ReviewRow) -> ReviewInfo:
    return ReviewInfo(id=row.id, task_id=row.task_id, reviewer=row.reviewer, decision=row.decision,
                      final_result=dict(row.final_result) if row.final_result is not None else None,
                      comment=row.comment, created_at=utc(row.created_at))
