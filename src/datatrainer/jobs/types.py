"""What a job is, as callers see it: `JobInfo`, its states, and the errors job control raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from datatrainer.annotation.errors import ConflictError
from datatrainer.errors import DatatrainerError

JobState = Literal["queued", "running", "stopping", "stopped", "failed", "done"]
STATES: tuple[JobState, ...] = ("queued", "running", "stopping", "stopped", "failed", "done")
ACTIVE: tuple[JobState, ...] = ("running", "stopping")  # a worker holds the lease
ENDED: tuple[JobState, ...] = ("stopped", "failed", "done")


class JobStateError(ConflictError):
    """The job is not in a state that allows the action (stop an ended job, resume a running or done one);
    the server answers 409."""


class JobInputsMissing(DatatrainerError):
    """A job cannot resume because a dataset version it reads no longer exists; the message names them."""


@dataclass(frozen=True)
class JobInfo:
    """One job: the command it runs (`kind` and `params`, with its input versions pinned to exact refs), how
    far it got (`done` of `total` in `phase`), who runs it (`owner`, `host`, `pid`) and the lease."""

    id: int
    kind: str
    params: dict[str, Any]
    options: dict[str, Any]
    inputs: list[str]
    state: JobState
    stop_requested: bool
    phase: str | None
    done: float
    total: float | None
    log: str
    error: str | None
    owner: str
    host: str | None
    pid: int | None
    lease_holder: str | None
    lease_expires: datetime | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def fraction(self) -> float | None:
        """Share of the current phase done, or None when its size is unknown."""
        return min(1.0, self.done / self.total) if self.total else None

    def progress_text(self) -> str:
        where = f"{self.phase}: " if self.phase else ""
        if not self.total:  # unknown, or nothing to do
            return f"{where}{self.done:,.0f}" if self.phase else "-"
        return f"{where}{self.done:,.0f} of {self.total:,.0f} ({(self.fraction or 0) * 100:.0f}%)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO strings), for `jobs show --json`, the REST API and the dashboard."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in fields.items()}
