"""The JSON the API speaks, validated at the edge; the service layer's frozen values convert into these.

Request models forbid unknown fields, so a typo in a client is a 422 naming the field rather than a value
silently ignored. Results stay free-form objects here: their shape depends on the project's task type, and
the service validates them against the label schema with a message that names the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from datatrainer.annotation.types import (
    AnnotationInfo,
    LabelAcceptance,
    Member,
    ProjectInfo,
    ProjectProgress,
    ReviewInfo,
    SuggestionInfo,
    TaskDetail,
    TaskInfo,
    UserInfo,
)
from datatrainer.security.audit import AuditEntry, AuditReport

NO_NUL = r"^[^\x00]*$"


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters; refuse them here on every backend alike."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Name = Field(min_length=1, max_length=200)
# Id columns are 32-bit INTEGER on PostgreSQL: a larger number is a 422 here, not an overflow error there.
MAX_ID = 2**31 - 1


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Request):
    username: Text = Field(min_length=1, max_length=100)
    password: Text = Field(min_length=1, max_length=1000)


class UserIn(Request):
    username: Text = Field(min_length=1, max_length=100)
    password: Text = Field(min_length=1, max_length=1000)
    is_admin: bool = False


class UserOut(BaseModel):
    id: int | None
    username: str
    is_admin: bool

    @classmethod
    def of(cls, user: UserInfo) -> UserOut:
        return cls(id=user.id, username=user.username, is_admin=user.is_admin)


class TokenIn(Request):
    name: Text = Field(min_length=1, max_length=100)


class TokenOut(BaseModel):
    id: int
    name: str
    username: str
    token: str = Field(description="The bearer token; shown only in this response.")


class TokenInfoOut(BaseModel):
    id: int
    name: str
    username: str
    created_at: datetime
    last_used: datetime | None
    revoked: bool


class ProjectIn(Request):
    name: Text = Name
    source: Text = Field(min_length=1, max_length=220, description="Dataset version, e.g. `web@2`.")
    task_type: Literal["ner", "classification", "preference", "correction"]
    labels: list[Text] = Field(default_factory=list, max_length=1000)
    multi_label: bool = False
    allow_overlap: bool = False
    overlap: int = Field(default=1, ge=1, le=100)
    ordering: Literal["sequential", "uncertainty"] = "sequential"
    guidelines: Text = Field(default="", max_length=100_000)
    fields: dict[Text, Text] = Field(default_factory=dict)


class LabelSchemaOut(BaseModel):
    labels: list[str]
    multi_label: bool
    allow_overlap: bool


class ProjectOut(BaseModel):
    id: int
    name: str
    task_type: str
    label_schema: LabelSchemaOut
    guidelines: str
    source_ref: str
    overlap: int
    ordering: str
    created_by: str
    created_at: datetime
    role: str | None = Field(description="The caller's role in the project (`admin` for administrators).")

    @classmethod
    def of(cls, project: ProjectInfo, role: str | None) -> ProjectOut:
        schema = LabelSchemaOut(**project.label_schema.as_json())
        return cls(id=project.id, name=project.name, task_type=project.task_type, label_schema=schema,
                   guidelines=project.guidelines, source_ref=project.source_ref, overlap=project.overlap,
                   ordering=project.ordering, created_by=project.created_by, created_at=project.created_at,
                   role=role)


class MemberIn(Request):
    username: Text = Field(min_length=1, max_length=100)
    role: Literal["annotator", "reviewer", "admin"]


class MemberOut(BaseModel):
    username: str
    role: str

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(username=member.username, role=member.role)


class TaskOut(BaseModel):
    id: int
    project_id: int
    record_id: str
    position: int
    state: str
    priority: float
    data: dict[str, Any] = Field(description="What the annotator sees: text, or prompt/responses.")

    @classmethod
    def of(cls, task: TaskInfo) -> TaskOut:
        return cls(id=task.id, project_id=task.project_id, record_id=task.record_id, position=task.position,
                   state=task.state, priority=task.priority, data=task.payload)


class AnnotationOut(BaseModel):
    id: int
    username: str
    result: dict[str, Any]
    suggestion_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: AnnotationInfo) -> AnnotationOut:
        return cls(id=a.id, username=a.username, result=a.result, suggestion_id=a.suggestion_id,
                   created_at=a.created_at, updated_at=a.updated_at)


class SuggestionOut(BaseModel):
    id: int
    source: str
    result: dict[str, Any]
    scores: dict[str, Any]

    @classmethod
    def of(cls, s: SuggestionInfo) -> SuggestionOut:
        return cls(id=s.id, source=s.source, result=s.result, scores=s.scores)


class ReviewOut(BaseModel):
    id: int
    task_id: int
    reviewer: str
    decision: str
    final_result: dict[str, Any] | None
    comment: str
    created_at: datetime

    @classmethod
    def of(cls, r: ReviewInfo) -> ReviewOut:
        return cls(id=r.id, task_id=r.task_id, reviewer=r.reviewer, decision=r.decision,
                   final_result=r.final_result, comment=r.comment, created_at=r.created_at)


class TaskDetailOut(TaskOut):
    assignment_state: str | None = Field(description="The caller's assignment: assigned, submitted, skipped.")
    annotations: list[AnnotationOut] = Field(description="Annotators see only their own; reviewers all.")
    suggestions: list[SuggestionOut]
    reviews: list[ReviewOut]

    @classmethod
    def of_detail(cls, detail: TaskDetail) -> TaskDetailOut:
        base = TaskOut.of(detail.task).model_dump()
        return cls(**base, assignment_state=detail.assignment_state,
                   annotations=[AnnotationOut.of(a) for a in detail.annotations],
                   suggestions=[SuggestionOut.of(s) for s in detail.suggestions],
                   reviews=[ReviewOut.of(r) for r in detail.reviews])


class SubmitIn(Request):
    result: dict[str, Any] = Field(description='ner {"spans": [{"start", "end", "label"}]}, classification '
                                               '{"labels": [...]}, preference {"choice": "a"|"b", "reason"}, '
                                               'correction {"text"}.')
    suggestion_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                      description="The suggestion the annotator started from.")


class ReviewIn(Request):
    decision: Literal["accept", "reject", "adjudicate"]
    result: dict[str, Any] | None = Field(default=None, description="The final result (needed to adjudicate).")
    comment: Text = Field(default="", max_length=10_000)


class AnnotatorProgressOut(BaseModel):
    assigned: int
    submitted: int
    skipped: int


class ProgressOut(BaseModel):
    project: str
    total: int
    done: int = Field(description="Tasks annotated by all their annotators, in review, or accepted.")
    by_state: dict[str, int]
    per_annotator: dict[str, AnnotatorProgressOut]

    @classmethod
    def of(cls, p: ProjectProgress) -> ProgressOut:
        done = sum(p.by_state.get(state, 0) for state in ("annotated", "in_review", "accepted"))
        per = {name: AnnotatorProgressOut(assigned=a.assigned, submitted=a.submitted, skipped=a.skipped)
               for name, a in p.per_annotator.items()}
        return cls(project=p.project, total=p.total, done=done, by_state=p.by_state, per_annotator=per)


class AcceptanceOut(BaseModel):
    source: str
    label: str
    suggested: int
    accepted: int
    changed: int
    deleted: int
    acceptance_rate: float | None

    @classmethod
    def of(cls, a: LabelAcceptance) -> AcceptanceOut:
        return cls(source=a.source, label=a.label, suggested=a.suggested, accepted=a.accepted, changed=a.changed,
                   deleted=a.deleted, acceptance_rate=a.acceptance_rate)


class AgreementOut(BaseModel):
    """One of `classification` or `spans`, as `datatrainer.annotation.agreement_report` computes it."""

    task_type: Literal["ner", "classification"]
    classification: dict[str, Any] | None = Field(
        default=None, description="items, annotators, fleiss_kappa, krippendorff_alpha, pairs (Cohen's kappa), "
                                  "vs_others, per_label")
    spans: dict[str, Any] | None = Field(
        default=None, description="items, annotators, pairs and vs_others with exact and overlap P/R/F1")


class ExportIn(Request):
    name: Text | None = Field(default=None, max_length=200, description="Dataset name (default: the project's).")
    include_unannotated: bool = False


class ImportOut(BaseModel):
    suggestions: int
    annotations: int
    unannotated: int = Field(description="Documents in the file with no spans or labels (nothing stored).")


class VersionOut(BaseModel):
    ref: str
    num_rows: int
    parents: list[str]


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(seq=e.seq, at=e.at, actor=e.actor, action=e.action, entity=e.entity, entity_id=e.entity_id,
                   before=e.before, after=e.after, prev_hash=e.prev_hash, hash=e.hash)


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    broken_seq: int | None
    reason: str

    @classmethod
    def of(cls, r: AuditReport) -> AuditVerifyOut:
        return cls(ok=r.ok, entries=r.entries, broken_seq=r.broken_seq, reason=r.reason)
