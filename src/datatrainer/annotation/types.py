"""The values the annotation service hands out: plain frozen dataclasses, never live ORM rows.

Returning detached values keeps sessions short (one per call) and lets the server serialise them directly.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

TaskType = Literal["ner", "classification", "preference", "correction"]
Role = Literal["annotator", "reviewer", "admin"]
Ordering = Literal["sequential", "uncertainty"]
Decision = Literal["accept", "reject", "adjudicate"]

TASK_TYPES: tuple[TaskType, ...] = ("ner", "classification", "preference", "correction")
# Higher roles include the lower ones: a reviewer may annotate, a project admin may review.
ROLES: tuple[Role, ...] = ("annotator", "reviewer", "admin")
TASK_STATES = ("open", "in_progress", "annotated", "in_review", "accepted", "rejected")
ASSIGNMENT_STATES = ("assigned", "submitted", "skipped")
# Payload keys (what the annotator sees) per task type; each maps to a column of the source version.
PAYLOAD_KEYS: dict[str, tuple[str, ...]] = {
    "ner": ("text",),
    "classification": ("text",),
    "preference": ("prompt", "response_a", "response_b"),
    "correction": ("instruction", "response"),
}


@dataclass(frozen=True)
class UserInfo:
    """An authenticated principal; `id` is None only for the local operator of the CLI."""

    id: int | None
    username: str
    is_admin: bool
    disabled: bool = False
    role: str | None = None  # the workspace role (security/roles.py); None where it was not loaded


def local_admin() -> UserInfo:
    """Whoever runs the CLI on the workspace already has the database: they act as an administrator.

    Audit entries still name them (`local:<os user>`) so CLI changes are told apart from server changes.
    """
    return UserInfo(id=None, username=f"local:{getpass.getuser()}", is_admin=True, role="admin")


@dataclass(frozen=True)
class IssuedToken:
    """A new API token; `token` is shown once and only its SHA-256 is stored."""

    id: int
    name: str
    username: str
    token: str


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    username: str
    created_at: datetime
    last_used: datetime | None
    revoked: bool
    scopes: tuple[str, ...] | None = None  # None: every scope of the owner's role
    expires_at: datetime | None = None


@dataclass(frozen=True)
class LabelSchema:
    labels: tuple[str, ...]
    multi_label: bool = False
    allow_overlap: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "multi_label": self.multi_label, "allow_overlap": self.allow_overlap}


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    task_type: TaskType
    label_schema: LabelSchema
    guidelines: str
    source_ref: str
    source_version_id: int
    fields: dict[str, str]
    overlap: int
    ordering: Ordering
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Member:
    username: str
    role: Role


@dataclass(frozen=True)
class TaskInfo:
    id: int
    project_id: int
    record_id: str
    position: int
    payload: dict[str, Any]
    state: str
    priority: float


@dataclass(frozen=True)
class AnnotationInfo:
    id: int
    task_id: int
    username: str
    result: dict[str, Any]
    suggestion_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SuggestionInfo:
    id: int
    task_id: int
    source: str
    result: dict[str, Any]
    scores: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    task_id: int
    reviewer: str
    decision: str
    final_result: dict[str, Any] | None
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class TaskDetail:
    """A task with what the caller may see: annotators get only their own annotation, reviewers all."""

    task: TaskInfo
    assignment_state: str | None
    annotations: tuple[AnnotationInfo, ...] = ()
    suggestions: tuple[SuggestionInfo, ...] = ()
    reviews: tuple[ReviewInfo, ...] = ()


@dataclass(frozen=True)
class AnnotatorProgress:
    assigned: int = 0
    submitted: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class ProjectProgress:
    project: str
    total: int
    by_state: dict[str, int]
    per_annotator: dict[str, AnnotatorProgress] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelAcceptance:
    """How annotators treated one source's suggestions of one label.

    `accepted`: kept exactly; `changed`: replaced by an overlapping span with other bounds or label (or, for
    single-label classification, by another label); `deleted`: dropped with nothing in its place.
    """

    source: str
    label: str
    suggested: int
    accepted: int
    changed: int
    deleted: int

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.suggested if self.suggested else None
