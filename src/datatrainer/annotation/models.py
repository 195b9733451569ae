"""Annotation tables (projects, members, tasks, assignments, annotations, suggestions, reviews).

They live in the catalog database beside the datasets, so a project can reference its source version by id
and one transaction can change annotation state and append the matching audit entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datatrainer.security.keys_columns import SealedJSON, SealedText
from datatrainer.store.models import Base


class ProjectRow(Base):
    __tablename__ = "annotation_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    task_type: Mapped[str] = mapped_column(String(20))
    label_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    guidelines: Mapped[str] = mapped_column(Text, default="")
    source_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    source_ref: Mapped[str] = mapped_column(String(220))
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    overlap: Mapped[int] = mapped_column(Integer)
    ordering: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MembershipRow(Base):
    __tablename__ = "annotation_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_annotation_members"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("annotation_projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))


class TaskRow(Base):
    __tablename__ = "annotation_tasks"
    __table_args__ = (UniqueConstraint("project_id", "record_id", name="uq_annotation_tasks_record"),
                      Index("ix_annotation_tasks_queue", "project_id", "state", "position"),
                      Index("ix_annotation_tasks_priority", "project_id", "state", "priority", "position"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("annotation_projects.id"), index=True)
    record_id: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("annotation_tasks.payload"))
    state: Mapped[str] = mapped_column(String(20))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssignmentRow(Base):
    __tablename__ = "annotation_assignments"
    __table_args__ = (UniqueConstraint("task_id", "user_id", name="uq_annotation_assignments"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("annotation_tasks.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AnnotationRow(Base):
    __tablename__ = "annotations"
    __table_args__ = (UniqueConstraint("task_id", "user_id", name="uq_annotations_task_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("annotation_tasks.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    result: Mapped[dict[str, Any]] = mapped_column(SealedJSON("annotations.result"))
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("annotation_suggestions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SuggestionRow(Base):
    __tablename__ = "annotation_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("annotation_tasks.id"), index=True)
    source: Mapped[str] = mapped_column(String(200))
    result: Mapped[dict[str, Any]] = mapped_column(SealedJSON("annotation_suggestions.result"))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewRow(Base):
    __tablename__ = "annotation_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("annotation_tasks.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    final_result: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON("annotation_reviews.final_result"),
                                                                nullable=True)
    comment: Mapped[str] = mapped_column(SealedText("annotation_reviews.comment"), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
