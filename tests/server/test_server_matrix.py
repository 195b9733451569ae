"""Role x endpoint matrix: every route of the app, called by every kind of caller, is allowed or denied as declared.

Callers (`matrix_common.CALLERS`): one user per workspace role (admin `root`, curator `cora`, reviewer `rita`,
auditor `audrey`, annotators), project roles through the annotation project (`padmin` its admin, `rita` its
reviewer, `ann` its annotator, `olga` no member), `scoped` (root's token narrowed to datasets:read) and an
anonymous client. Who must be allowed follows from the scope each route declares and the caller's role,
narrowed by `Row.only` where the annotation service adds project rules. Allowed calls must succeed (2xx);
denied ones must answer 401 (anonymous) or 403 (everyone else).

Rows live here and in every `tests/server/matrix_*.py` (one file per feature's routes). The app's routes are
read from `app.routes`, so a route added without a row, or without a scope dependency, fails
`test_every_route_has_a_matrix_row_and_a_scope`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.compute as pc
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount

from datatrainer.annotation.types import local_admin
from datatrainer.scoring.configs import config_hash
from datatrainer.server.app import create_app
from datatrainer.server.deps import route_scope
from datatrainer.workspace import Workspace
from tests.server.matrix_common import (
    ADMINS,
    CALLERS,
    MEMBERS,
    REVIEWERS,
    ROOT,
    SCOPED_TO,
    Ctx,
    Make,
    Row,
    expected_allowed,
    fixed,
)
from tests.server.site import PASSWORD, Site

# Routes anyone may call: the login, the UI page, the API's schema and docs page, and static assets.
PUBLIC = {("POST", "/api/v1/login"), ("GET", "/"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs"),
          ("MOUNT", "/static"), ("MOUNT", "/api/v1/docs/assets")}
LENGTH_SCORER = "length"


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


def _new_project(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return "/projects", {"name": f"made-by-{who}", "source": "news", "task_type": "classification",
                         "labels": ["a", "b"]}


def _new_user(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return "/users", {"username": f"new-by-{who}", "password": PASSWORD}


def _role_change(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return f"/users/temp-{who or 'anon'}/role", {"role": "curator"}


def _fresh_client(ctx: Ctx, who: str | None) -> httpx.Client:
    """A new session (or narrowed token) for the caller: changing a password revokes all the others."""
    if who != "scoped":
        return ctx.site.client(who)
    with ctx.site.open_workspace() as ws:
        token = ws.annotation.create_api_token(local_admin(), "scoped", username="root", scopes=SCOPED_TO).token
    client = httpx.Client(base_url=ctx.site.url + "/api/v1", headers={"Authorization": f"Bearer {token}"})
    ctx.site.clients.append(client)
    return client


def _dataset(path: str) -> Row:
    return Row(fixed(path))


MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/api/v1/me"): Row(fixed("/me")),
    ("POST", "/api/v1/tokens"): Row(fixed("/tokens", {"name": "script"})),
    ("GET", "/api/v1/tokens"): Row(fixed("/tokens")),
    ("DELETE", "/api/v1/tokens/{token_id}"): Row(_token_to_revoke),
    ("GET", "/api/v1/users"): Row(fixed("/users")),
    ("POST", "/api/v1/users"): Row(_new_user),
    ("PUT", "/api/v1/users/{username}/role"): Row(_role_change),
    ("GET", "/api/v1/datasets"): _dataset("/datasets"),
    ("GET", "/api/v1/datasets/{name}/versions"): _dataset("/datasets/news/versions"),
    ("GET", "/api/v1/versions/{ref}"): _dataset("/versions/news@1"),
    ("GET", "/api/v1/versions/{ref}/head"): _dataset("/versions/news@1/head"),
    ("GET", "/api/v1/versions/{ref}/lineage"): _dataset("/versions/news@1/lineage"),
    ("GET", "/api/v1/versions/{ref}/stats"): _dataset("/versions/news@1/stats"),
    ("GET", "/api/v1/versions/{ref}/scores"): _dataset("/versions/news@1/scores"),
    ("GET", "/api/v1/versions/{ref}/scores/{scorer}"): _dataset(f"/versions/news@1/scores/{LENGTH_SCORER}"),
    ("GET", "/api/v1/projects"): Row(fixed("/projects")),
    ("POST", "/api/v1/projects"): Row(_new_project, ROOT),
    ("GET", "/api/v1/projects/{project_id}"): Row(_project(""), MEMBERS),
    ("GET", "/api/v1/projects/{project_id}/members"): Row(_project("/members"), MEMBERS),
    ("PUT", "/api/v1/projects/{project_id}/members"): Row(_member, ADMINS),
    ("DELETE", "/api/v1/projects/{project_id}/members/{username}"): Row(_remove_member, ADMINS),
    ("POST", "/api/v1/projects/{project_id}/tasks/next"): Row(_project("/tasks/next"), MEMBERS),
    ("GET", "/api/v1/projects/{project_id}/tasks"): Row(_project("/tasks"), MEMBERS),
    ("GET", "/api/v1/tasks/{task_id}"): Row(lambda ctx, who: (f"/tasks/{ctx.task_of(who)}", None), MEMBERS),
    ("POST", "/api/v1/tasks/{task_id}/submit"): Row(_submit_body, MEMBERS),
    ("POST", "/api/v1/tasks/{task_id}/skip"): Row(_skip, MEMBERS),
    ("GET", "/api/v1/projects/{project_id}/review"): Row(_project("/review"), REVIEWERS),
    ("POST", "/api/v1/tasks/{task_id}/review/start"):
        Row(lambda ctx, who: (f"/tasks/{ctx.review_task(who)}/review/start", None), REVIEWERS),
    ("POST", "/api/v1/tasks/{task_id}/review"):
        Row(lambda ctx, who: (f"/tasks/{ctx.review_task(who)}/review",
                              {"decision": "adjudicate", "result": {"spans": []}}), REVIEWERS),
    ("GET", "/api/v1/projects/{project_id}/progress"): Row(_project("/progress"), REVIEWERS),
    ("GET", "/api/v1/projects/{project_id}/suggestions/acceptance"):
        Row(_project("/suggestions/acceptance"), REVIEWERS),
    ("POST", "/api/v1/projects/{project_id}/export"):
        Row(lambda ctx, who: (f"/projects/{ctx.project}/export", {"name": f"export-{who or 'anon'}"}), ADMINS),
    ("GET", "/api/v1/projects/{project_id}/agreement"): Row(_project("/agreement"), ADMINS),
    ("GET", "/api/v1/projects/{project_id}/download/{fmt}"): Row(_project("/download/jsonl"), ADMINS),
    ("POST", "/api/v1/projects/{project_id}/import/{fmt}"): Row(_import, ADMINS),
    ("GET", "/api/v1/audit"): Row(fixed("/audit")),
    ("GET", "/api/v1/audit/verify"): Row(fixed("/audit/verify")),
    ("POST", "/api/v1/logout"): Row(fixed("/logout"), order=1),  # ends the callers' sessions
    ("PUT", "/api/v1/me/password"):  # revokes every session and token of the caller: after everything else
        Row(fixed("/me/password", {"current_password": PASSWORD, "new_password": PASSWORD}), order=2,
            client=_fresh_client),
}


def _other_rows() -> tuple[dict[tuple[str, str], Row], set[tuple[str, str]]]:
    """Rows and public routes from every other `matrix_*.py` file (one per feature that adds routes)."""
    rows: dict[tuple[str, str], Row] = {}
    public: set[tuple[str, str]] = set()
    for path in sorted(Path(__file__).parent.glob("matrix_*.py")):
        if path.stem == "matrix_common":
            continue
        module = importlib.import_module(f"tests.server.{path.stem}")
        overlap = set(rows) & set(module.MATRIX) | set(MATRIX) & set(module.MATRIX)
        assert not overlap, f"{path.name}: rows for routes that already have one: {sorted(overlap)}"
        rows.update(module.MATRIX)
        public |= set(getattr(module, "PUBLIC", ()))
    return rows, public


def all_rows() -> tuple[dict[tuple[str, str], Row], set[tuple[str, str]]]:
    rows, public = _other_rows()
    return {**MATRIX, **rows}, PUBLIC | public


def _flattened(routes: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    """(full path, route) for every route, looking inside included routers: newer FastAPI keeps each included
    router as one entry of `app.routes` that resolves its routes lazily (`effective_candidates`)."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is None:
            yield getattr(route, "path", ""), route
            continue
        for candidate in candidates():
            if hasattr(candidate, "effective_candidates"):
                yield from _flattened([candidate])
            else:
                yield candidate.path, candidate.original_route


def app_routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """Every route as (method, path), mounts as ("MOUNT", path): read from `app.routes`, schema or not."""
    found: dict[tuple[str, str], Any] = {}
    for path, route in _flattened(app.routes):
        if isinstance(route, Mount):
            found[("MOUNT", path)] = route
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found[(method, path)] = route
    return found


def declared_scope(route: Any) -> Any:
    """The scope the route's `api` dependency requires (None: any caller); False if it has none of ours."""
    if not isinstance(route, APIRoute):
        return False
    scopes = [route_scope(dep.call) for dep in route.dependant.dependencies if dep.call is not None]
    ours = [scope for scope in scopes if scope is not False]
    return ours[0] if len(ours) == 1 else False


def test_every_route_has_a_matrix_row_and_a_scope(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    app = create_app(tmp_path / "ws")
    routes = app_routes(app)
    app.state.workspace.close()
    rows, public = all_rows()
    missing = set(routes) - set(rows) - public
    assert not missing, f"routes without a role x endpoint matrix row: {sorted(missing)}"
    gone = sorted(set(rows) - set(routes))
    assert not gone, f"matrix rows for routes that no longer exist: {gone}"
    assert not public - set(routes), f"public routes that no longer exist: {sorted(public - set(routes))}"
    unscoped = sorted(key for key in rows if declared_scope(routes[key]) is False)
    assert not unscoped, f"routes that declare no scope (use a dependency from server/deps.py): {unscoped}"


@pytest.fixture
def ctx(site: Site) -> Iterator[Ctx]:
    clients: dict[str | None, httpx.Client] = {who: site.client(who) for who in CALLERS if who != "scoped"}
    project = site.projects["ner"]
    with site.open_workspace() as ws:
        scoped = ws.annotation.create_api_token(local_admin(), "scoped", username="root", scopes=SCOPED_TO).token
        news = ws.version("news@1")
        hashes = pc.unique(news.to_table(["content_hash"])["content_hash"].combine_chunks())
        ws.scores.add(LENGTH_SCORER, config_hash({"kind": "length"}), hashes, np.arange(len(hashes), dtype=float),
                      {"kind": "length"})
    clients["scoped"] = httpx.Client(base_url=site.url + "/api/v1", headers={"Authorization": f"Bearer {scoped}"})
    site.clients.append(clients["scoped"])
    for name in (*(c for c in CALLERS if c is not None), "anon"):
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
    yield Ctx(site, clients, project, annotated)


def test_role_endpoint_matrix(ctx: Ctx) -> None:
    app = create_app(ctx.site.workspace, ctx.site.db_url)
    routes = app_routes(app)
    app.state.workspace.close()
    rows, _ = all_rows()
    failures: list[str] = []
    for (method, route), row in sorted(rows.items(), key=lambda item: item[1].order):
        scope = declared_scope(routes[(method, route)])
        for who in CALLERS:
            client = row.client(ctx, who) if row.client is not None else ctx.clients[who]
            path, body = row.make(ctx, who)
            raw = isinstance(body, bytes)
            response = client.request(method, path, json=None if raw else body, content=body if raw else None)
            allowed = expected_allowed(row, scope, who)
            ok = response.is_success if allowed else response.status_code == (403 if who else 401)
            if not ok:
                failures.append(f"{method} {route} as {who or 'anonymous'}: expected "
                                f"{'allowed' if allowed else 'denied'}, got {response.status_code} "
                                f"{response.text[:200]}")
    assert not failures, "\n".join(failures)
