"""What the role x endpoint matrix is made of, shared by every file of rows (`tests/server/matrix_*.py`).

A row says how to call a route (`make`) and, where the route's scope is not the whole rule, which callers the
service lets through on top of it (`only`: e.g. members of the annotation project). Who must be allowed
follows from the scope the route declares (its `api` dependency, `server/deps.py`) and each caller's role; the
test reads that scope from the route itself, so a row cannot contradict it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from datatrainer.security.roles import ROLE_SCOPES
from tests.server.site import USERS, Site

# Callers: every workspace role, project roles through the annotators, `scoped` (root's bearer token narrowed
# to datasets:read) and an anonymous client (None).
CALLERS: tuple[str | None, ...] = ("root", "padmin", "rita", "ann", "olga", "cora", "audrey", "scoped", None)
SCOPED_TO = frozenset({"datasets:read"})
ALL = frozenset(c for c in CALLERS if c is not None)
MEMBERS = frozenset({"root", "padmin", "rita", "ann"})  # of the annotation project
REVIEWERS = frozenset({"root", "padmin", "rita"})
ADMINS = frozenset({"root", "padmin"})
ROOT = frozenset({"root"})


def scopes_of(who: str) -> frozenset[str]:
    return SCOPED_TO if who == "scoped" else ROLE_SCOPES[USERS[who][0]]


@dataclass
class Ctx:
    site: Site
    clients: dict[str | None, httpx.Client]
    project: int
    annotated: list[int]  # tasks both annotators submitted, waiting for review
    own: dict[str, int] = field(default_factory=dict)  # caller -> a task assigned to them

    def task_of(self, who: str | None) -> int:
        """The caller's own assigned task; callers who cannot annotate target ann's."""
        key = who if who in MEMBERS else "ann"
        if key not in self.own:
            task = self.clients[key].post(f"/projects/{self.project}/tasks/next")
            assert task.status_code == 200, task.text
            self.own[key] = task.json()["id"]
        return self.own[key]

    def fresh_task_of(self, who: str | None) -> int:
        self.own.pop(who if who in MEMBERS else "ann", None)
        return self.task_of(who)

    def review_task(self, who: str | None) -> int:
        """A distinct annotated task for each reviewer; others aim at one that stays annotated."""
        index = {"root": 0, "padmin": 1, "rita": 2}.get(who or "", 3)
        return self.annotated[index]


Make = Callable[[Ctx, str | None], tuple[str, Any]]


@dataclass(frozen=True)
class Row:
    """`make(ctx, who)` gives the path (relative to the client's base URL) and the body: a JSON value, bytes for a
    raw body, or None. `client(ctx, who)`, if set, gives the client to call with (default: the caller's)."""

    make: Make
    only: frozenset[str] | None = None
    order: int = 0  # rows that end sessions or change passwords run last
    client: Callable[[Ctx, str | None], httpx.Client] | None = None


def fixed(path: str, body: Any = None) -> Make:
    return lambda ctx, who: (path, body)


def expected_allowed(row: Row, scope: str | None, who: str | None) -> bool:
    if who is None:
        return False
    return (scope is None or scope in scopes_of(who)) and (row.only is None or who in row.only)
