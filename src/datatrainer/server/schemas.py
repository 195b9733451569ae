"""The JSON the API speaks, validated at the edge; the service layer's frozen values convert into these.

Response models read the service's dataclasses by attribute (`Out.of(value)`: pydantic's `from_attributes`),
so a field is named once, in the dataclass, and the API model only says which of them it shows.

Request models forbid unknown fields, so a typo in a client is a 422 naming the field rather than a value
silently ignored. Results stay free-form objects here: their shape depends on the project's task type, and
the service validates them against the label schema with a message that names the field.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field, field_validator

from datatrainer.annotation.types import TaskDetail
from datatrainer.security.roles import SCOPES, Scope, WorkspaceRole
from datatrainer.server.sessions import SESSION_TOKEN_NAME

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


class Out(BaseModel):
    """A response read from a service value's attributes (nested values too)."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, value: object) -> Self:
        return cls.model_validate(value)


def _attributes(value: Any) -> dict[str, Any]:
    """A dataclass's fields, one level deep, to validate together with values it does not hold."""
    return {field.name: getattr(value, field.name) for field in fields(value)}


class LoginIn(Request):
    username: Text = Field(min_length=1, max_length=100)
    password: Text = Field(min_length=1, max_length=1000)


class UserIn(Request):
    username: Text = Field(min_length=1, max_length=100)
    password: Text = Field(min_length=1, max_length=1000)
    is_admin: bool = Field(default=False, description="Same as `role: admin`.")
    role: WorkspaceRole | None = Field(default=None, description="Workspace role (default: annotator).")


class RoleIn(Request):
    role: WorkspaceRole


class PasswordIn(Request):
    current_password: Text = Field(min_length=1, max_length=1000)
    new_password: Text = Field(min_length=1, max_length=1000)


class UserOut(Out):
    id: int | None
    username: str
    is_admin: bool
    role: str | None


class MeOut(UserOut):
    scopes: list[str] = Field(description="What this session or token may do: the role's scopes, narrowed to "
                                          "the token's.")


class TokenIn(Request):
    name: Text = Field(min_length=1, max_length=100)
    scopes: list[Scope] | None = Field(default=None, max_length=len(SCOPES),
                                       description="Narrow the token to these scopes (default: all of the role's).")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("name")
    @classmethod
    def _not_a_session(cls, name: str) -> str:
        if name == SESSION_TOKEN_NAME:
            raise ValueError(f"{name!r} is reserved for browser sessions")
        return name


class TokenOut(Out):
    id: int
    name: str
    username: str
    token: str = Field(description="The bearer token; shown only in this response.")


class TokenInfoOut(Out):
    id: int
    name: str
    username: str
    created_at: datetime
    last_used: datetime | None
    revoked: bool
    scopes: list[str] | None
    expires_at: datetime | None


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


class LabelSchemaOut(Out):
    labels: list[str]
    multi_label: bool
    allow_overlap: bool


class ProjectOut(Out):
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
    def of(cls, value: object, role: str | None = None) -> Self:
        """The project as `role` (the caller's) sees it."""
        return cls.model_validate({**_attributes(value), "role": role})


class MemberIn(Request):
    username: Text = Field(min_length=1, max_length=100)
    role: Literal["annotator", "reviewer", "admin"]


class MemberOut(Out):
    username: str
    role: str


class TaskOut(Out):
    id: int
    project_id: int
    record_id: str
    position: int
    state: str
    priority: float
    data: dict[str, Any] = Field(validation_alias="payload",
                                 description="What the annotator sees: text, or prompt/responses.")


class AnnotationOut(Out):
    id: int
    username: str
    result: dict[str, Any]
    suggestion_id: int | None
    created_at: datetime
    updated_at: datetime


class SuggestionOut(Out):
    id: int
    source: str
    result: dict[str, Any]
    scores: dict[str, Any]


class ReviewOut(Out):
    id: int
    task_id: int
    reviewer: str
    decision: str
    final_result: dict[str, Any] | None
    comment: str
    created_at: datetime


class TaskDetailOut(TaskOut):
    assignment_state: str | None = Field(description="The caller's assignment: assigned, submitted, skipped.")
    annotations: list[AnnotationOut] = Field(description="Annotators see only their own; reviewers all.")
    suggestions: list[SuggestionOut]
    reviews: list[ReviewOut]

    @classmethod
    def of_detail(cls, detail: TaskDetail) -> TaskDetailOut:
        """The task's own fields at the top level, beside what is known about it."""
        return cls.model_validate({**_attributes(detail.task), **_attributes(detail)})


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


class AnnotatorProgressOut(Out):
    assigned: int
    submitted: int
    skipped: int


class ProgressOut(Out):
    project: str
    total: int
    by_state: dict[str, int]
    per_annotator: dict[str, AnnotatorProgressOut]

    @computed_field(description="Tasks annotated by all their annotators, in review, or accepted.")  # type: ignore[prop-decorator]
    @property
    def done(self) -> int:
        return sum(self.by_state.get(state, 0) for state in ("annotated", "in_review", "accepted"))


class AcceptanceOut(Out):
    source: str
    label: str
    suggested: int
    accepted: int
    changed: int
    deleted: int
    acceptance_rate: float | None


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


class ImportOut(Out):
    suggestions: int
    annotations: int
    unannotated: int = Field(description="Documents in the file with no spans or labels (nothing stored).")


class VersionOut(Out):
    ref: str
    num_rows: int
    parents: list[str]


class AuditEntryOut(Out):
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


class AuditVerifyOut(Out):
    ok: bool
    entries: int
    broken_seq: int | None
    reason: str

