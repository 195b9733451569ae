"""Role x endpoint matrix: every route, called by every kind of caller, is allowed or denied as declared.

Callers: `root` (global administrator), `padmin` (project admin), `rita` (reviewer), `ann` (annotator), `olga`
(a user with no role in the project) and an anonymous client. Allowed calls must succeed (2xx); denied ones
must answer 401 (anonymous) or 403 (everyone else). `test_every_route_has_a_matrix_entry` fails when a route is
added without a row here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from datatrainer.server.app import create_app
from datatrainer.workspace import Workspace
from tests.server.site import PASSWORD, Site

CALLERS = ("root", "padmin", "rita", "ann", "olga", None)
ALL = frozenset({"root", "padmin", "rita", "ann", "olga"})
MEMBERS = frozenset({"root", "padmin", "rita", "ann"})
REVIEWERS = frozenset({"root", "padmin", "rita"})
ADMINS = frozenset({"root", "padmin"})
ROOT = frozenset({"root"})
PUBLIC = {("POST", "/api/v1/login"), ("GET", "/")}  # the login and the UI page: test_server_auth.py


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


def _submit_body(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return f"/tasks/{ctx.task_of(who)}/submit", {"result": {"spans": []}}


def _skip(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return f"/tasks/{ctx.fresh_task_of(who) if who in MEMBERS else ctx.task_of(who)}/skip", None


def _token_to_revoke(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    owner = ctx.clients[who or "ann"]
    token = owner.post("/tokens", json={"name": "to revoke"})
    assert token.status_code == 201, token.text
    return f"/tokens/{token.json()['id']}", None


def _member(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return f"/projects/{ctx.project}/members", {"username": f"temp-{who or 'anon'}", "role": "annotator"}


def _remove_member(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    ctx.clients["root"].put(f"/projects/{ctx.project}/members",
                            json={"username": f"temp-{who or 'anon'}", "role": "annotator"}).raise_for_status()
    return f"/projects/{ctx.project}/members/temp-{who or 'anon'}", None


def _import(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    """A JSONL file suggesting a span on the project's first record."""
    first = ctx.clients["root"].get(f"/projects/{ctx.project}/tasks", params={"limit": 1}).json()[0]
    line = {"id": first["record_id"], "text": first["data"]["text"], "spans": [{"start": 0, "end": 1, "label": "PER"}]}
    return f"/projects/{ctx.project}/import/jsonl?source=import-{who}", (json.dumps(line) + "\n").encode()


def _project(suffix: str) -> Make:
    return lambda ctx, who: (f"/projects/{ctx.project}{suffix}", None)


def _fixed(path: str, body: Any = None) -> Make:
    return lambda ctx, who: (path, body)


def _new_project(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return "/projects", {"name": f"made-by-{who}", "source": "news", "task_type": "classification",
                         "labels": ["a", "b"]}


def _new_user(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return "/users", {"username": f"new-by-{who}", "password": PASSWORD}


# (method, route path) -> (who is allowed, how to build the call)
MATRIX: dict[tuple[str, str], tuple[frozenset[str], Make]] = {
    ("GET", "/api/v1/me"): (ALL, _fixed("/me")),
    ("POST", "/api/v1/tokens"): (ALL, _fixed("/tokens", {"name": "script"})),
    ("GET", "/api/v1/tokens"): (ALL, _fixed("/tokens")),
    ("DELETE", "/api/v1/tokens/{token_id}"): (ALL, _token_to_revoke),
    ("GET", "/api/v1/users"): (ROOT, _fixed("/users")),
    ("POST", "/api/v1/users"): (ROOT, _new_user),
    ("GET", "/api/v1/projects"): (ALL, _fixed("/projects")),
    ("POST", "/api/v1/projects"): (ROOT, _new_project),
    ("GET", "/api/v1/projects/{project_id}"): (MEMBERS, _project("")),
    ("GET", "/api/v1/projects/{project_id}/members"): (MEMBERS, _project("/members")),
    ("PUT", "/api/v1/projects/{project_id}/members"): (ADMINS, _member),
    ("DELETE", "/api/v1/projects/{project_id}/members/{username}"): (ADMINS, _remove_member),
    ("POST", "/api/v1/projects/{project_id}/tasks/next"): (MEMBERS, _project("/tasks/next")),
    ("GET", "/api/v1/projects/{project_id}/tasks"): (MEMBERS, _project("/tasks")),
    ("GET", "/api/v1/tasks/{task_id}"): (MEMBERS, lambda ctx, who: (f"/tasks/{ctx.task_of(who)}", None)),
    ("POST", "/api/v1/tasks/{task_id}/submit"): (MEMBERS, _submit_body),
    ("POST", "/api/v1/tasks/{task_id}/skip"): (MEMBERS, _skip),
    ("GET", "/api/v1/projects/{project_id}/review"): (REVIEWERS, _project("/review")),
    ("POST", "/api/v1/tasks/{task_id}/review/start"):
        (REVIEWERS, lambda ctx, who: (f"/tasks/{ctx.review_task(who)}/review/start", None)),
    ("POST", "/api/v1/tasks/{task_id}/review"):
        (REVIEWERS, lambda ctx, who: (f"/tasks/{ctx.review_task(who)}/review",
                                      {"decision": "adjudicate", "result": {"spans": []}})),
    ("GET", "/api/v1/projects/{project_id}/progress"): (REVIEWERS, _project("/progress")),
    ("GET", "/api/v1/projects/{project_id}/suggestions/acceptance"): (REVIEWERS, _project("/suggestions/acceptance")),
    ("POST", "/api/v1/projects/{project_id}/export"):
        (ADMINS, lambda ctx, who: (f"/projects/{ctx.project}/export", {"name": f"export-{who or 'anon'}"})),
    ("GET", "/api/v1/projects/{project_id}/agreement"): (ADMINS, _project("/agreement")),
    ("GET", "/api/v1/projects/{project_id}/download/{fmt}"): (ADMINS, _project("/download/jsonl")),
    ("POST", "/api/v1/projects/{project_id}/import/{fmt}"): (ADMINS, _import),
    ("GET", "/api/v1/audit"): (ROOT, _fixed("/audit")),
    ("GET", "/api/v1/audit/verify"): (ROOT, _fixed("/audit/verify")),
    ("POST", "/api/v1/logout"): (ALL, _fixed("/logout")),  # last: it ends the callers' sessions
}


def test_every_route_has_a_matrix_entry(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    app = create_app(tmp_path / "ws")
    # Every route is in the OpenAPI schema (the UI page is the one route left out of it).
    routes = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops} | {("GET", "/")}
    missing = routes - set(MATRIX) - PUBLIC
    assert not missing, f"routes without a role x endpoint matrix entry: {sorted(missing)}"
    assert not set(MATRIX) - routes, "matrix entries for routes that no longer exist"
    assert len(routes) == len(MATRIX) + len(PUBLIC)


@pytest.fixture
def ctx(site: Site) -> Ctx:
    clients: dict[str | None, httpx.Client] = {who: site.client(who) for who in CALLERS}
    project = site.projects["ner"]
    for name in ("root", "padmin", "rita", "ann", "olga", "anon"):
        clients["root"].post("/users", json={"username": f"temp-{name}", "password": PASSWORD}).raise_for_status()
    annotated: list[int] = []
    annotators = (clients["ann"], site.client("bob"))
    for _ in range(4):  # ann and bob both annotate the first four tasks (overlap 2): they wait for review
        ids = set()
        for client in annotators:
            task = client.post(f"/projects/{project}/tasks/next").json()
            client.post(f"/tasks/{task['id']}/submit", json={"result": {"spans": []}}).raise_for_status()
            ids.add(task["id"])
        assert len(ids) == 1
        annotated.append(ids.pop())
    return Ctx(site, clients, project, annotated)


def test_role_endpoint_matrix(ctx: Ctx) -> None:
    failures: list[str] = []
    for (method, route), (allowed, make) in MATRIX.items():
        for who in CALLERS:
            path, body = make(ctx, who)
            raw = isinstance(body, bytes)
            response = ctx.clients[who].request(method, path, json=None if raw else body,
                                                content=body if raw else None)
            expected = "allowed" if who in allowed else "denied"
            ok = response.is_success if who in allowed else response.status_code == (403 if who else 401)
            if not ok:
                failures.append(f"{method} {route} as {who or 'anonymous'}: expected {expected}, "
                                f"got {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)
