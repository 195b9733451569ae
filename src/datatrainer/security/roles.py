"""Workspace roles and the scopes they grant: one access control for the REST API, the CLI and the dashboard.

A user has one workspace role; an API token may carry a subset of scopes. What a request may do is the token's
scopes intersected with the scopes of the user's role *now*, so demoting a user narrows every token they
already hold. Annotation projects keep their own per-project roles on top of the `annotate` scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from datatrainer.errors import DatatrainerError

WorkspaceRole = Literal["admin", "curator", "reviewer", "annotator", "auditor"]
Scope = Literal["datasets:read", "datasets:write", "jobs:read", "jobs:write", "annotate", "audit:read", "admin"]

ROLES: tuple[WorkspaceRole, ...] = get_args(WorkspaceRole)
SCOPES: tuple[Scope, ...] = get_args(Scope)
DEFAULT_ROLE: WorkspaceRole = "annotator"

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "curator": frozenset({"datasets:read", "datasets:write", "jobs:read", "jobs:write", "annotate"}),
    "reviewer": frozenset({"datasets:read", "jobs:read", "annotate"}),
    "annotator": frozenset({"annotate"}),
    # Read-only everywhere, and the only role besides admin that reads the audit log.
    "auditor": frozenset({"audit:read", "datasets:read", "jobs:read"}),
}


def check_role(role: str) -> WorkspaceRole:
    if role not in ROLES:
        raise DatatrainerError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes as a set, refusing unknown names in one line."""
    chosen = frozenset(scopes)
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise DatatrainerError(f"scopes: unknown scope {unknown[0]!r} (one of {', '.join(SCOPES)})")
    return chosen


def effective_scopes(role: str, token_scopes: Iterable[str] | None) -> frozenset[str]:
    """What a request may do: the role's scopes, narrowed to the token's when it names some."""
    granted = ROLE_SCOPES.get(role, frozenset())
    return granted if token_scopes is None else granted & frozenset(token_scopes)
