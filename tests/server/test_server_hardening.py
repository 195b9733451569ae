"""The server as an attacker tries it: oversized and slow bodies, password guessing, stolen or stale
credentials, tokens wider than their creator, and the API docs page under the app's own CSP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import HTTPException

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import write_jsonl
from datatrainer.server import app as server_app
from datatrainer.server.login_gate import LoginGate
from datatrainer.server.routers import imports
from datatrainer.server.run import serve_in_thread
from datatrainer.workspace import Workspace
from tests.browser import chromium, open_page
from tests.server.site import PASSWORD

MiB = 2**20
ADDRESS_BUDGET = 7


@pytest.fixture
def workspace_path(tmp_path: Path) -> Path:
    """An administrator, an annotator, and a classification project (id 1) over three records."""
    records = [{"id": str(i), "text": f"record number {i}"} for i in range(3)]
    with Workspace.init(tmp_path / "ws") as ws:
        ws.annotation.create_user(local_admin(), "root", PASSWORD, role="admin")
        ws.annotation.create_user(local_admin(), "ann", PASSWORD)
        write_jsonl(iter(records), tmp_path / "tiny.jsonl")
        ws.ingest(tmp_path / "tiny.jsonl", "tiny")
        ws.annotation.create_project(local_admin(), "p", "tiny", "classification", ["a", "b"])
    return tmp_path / "ws"


@pytest.fixture
def server(workspace_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The small workspace served with a 2 MiB import cap and a budget of 7 failed logins per address (the
    defaults, 100 MiB and 20, cost too much to reach in a test)."""
    monkeypatch.setattr(imports, "MAX_BYTES", 2 * MiB)
    app = server_app.create_app(workspace_path)
    app.state.login_gate = LoginGate(hashing=2, burst=ADDRESS_BUDGET, refill_per_minute=0.1)
    with serve_in_thread(app) as url:
        yield url


def _bearer(url: str, username: str, **token: object) -> httpx.Client:
    with httpx.Client(base_url=url + "/api/v1") as login:
        login.post("/login", json={"username": username, "password": PASSWORD}).raise_for_status()
        login.headers["X-CSRF-Token"] = login.cookies["dt_csrf"]
        issued = login.post("/tokens", json={"name": "script", **token})
        issued.raise_for_status()
    return httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {issued.json()['token']}"})


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_bodies_are_capped_while_streaming(server: str) -> None:
    api = server + "/api/v1"
    declared = httpx.post(api + "/login", content=b"{" + b" " * (2 * MiB) + b"}",
                          headers={"content-type": "application/json"})
    assert declared.status_code == 413 and "larger than 1 MiB" in declared.json()["detail"]
    chunked = httpx.post(api + "/login", content=_chunks(2 * MiB), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    with _bearer(server, "root") as root:
        project_json = root.post("/tokens", content=_chunks(2 * MiB), headers={"content-type": "application/json"})
        assert project_json.status_code == 413
        # Imports take more (here 2 MiB), streamed and cut off at the cap even without a declared length.
        big = root.post("/projects/1/import/jsonl", content=_chunks(3 * MiB))
        assert big.status_code == 413 and "larger than 2 MiB" in big.json()["detail"]
        assert root.get("/me").status_code == 200  # the server is fine afterwards


def test_imports_authenticate_before_reading_the_body(server: str) -> None:
    """Announce 1 MiB, send 1 KiB, then wait: a server that read the body first would never answer."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /api/v1/projects/1/import/jsonl HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
                     b"Content-Type: application/octet-stream\r\n\r\n" + b"x" * 1024)
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 401"), answer[:200]


def test_logins_lock_a_name_and_an_address_before_hashing(server: str, workspace_path: Path) -> None:
    api = server + "/api/v1/login"
    wrong = [httpx.post(api, json={"username": "ann", "password": "not the password"}) for _ in range(5)]
    assert [r.status_code for r in wrong] == [401] * 5
    locked = httpx.post(api, json={"username": "ann", "password": PASSWORD})  # even the right password
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 30
    assert "too many failed logins" in locked.json()["detail"]
    assert httpx.post(api, json={"username": "root", "password": PASSWORD}).status_code == 200
    # This address may fail 7 times (the refused attempt counts) before it is refused for every name.
    spread = [httpx.post(api, json={"username": "guess", "password": "wrong password"})]
    assert {r.status_code for r in spread} == {401}
    refused = httpx.post(api, json={"username": "root", "password": PASSWORD})
    assert refused.status_code == 429 and "from this address" in refused.json()["detail"]
    with _bearer_from_cli(server, workspace_path) as root:  # users already signed in are not affected
        assert root.get("/me").status_code == 200
        lockouts = [e for e in root.get("/audit").json() if e["action"] == "user.lockout"]
    assert len(lockouts) == 1 and "ann" not in str(lockouts[0])  # audited by id, never the typed name


def _bearer_from_cli(server: str, workspace: Path) -> httpx.Client:
    """A token made as `datatrainer users token root` does (no login from this address)."""
    with Workspace.open(workspace) as ws:
        token = ws.annotation.create_api_token(local_admin(), "cli", username="root").token
    return httpx.Client(base_url=server + "/api/v1", headers={"Authorization": f"Bearer {token}"})


def test_password_checks_never_take_every_thread() -> None:
    """At most `hashing` checks run at once; more wait without a thread, and past the queue get 429 at once."""
    gate = LoginGate(hashing=1, queue=1)
    order: list[str] = []

    async def login(name: str, hold: asyncio.Event | None) -> str:
        try:
            async with gate.slot():
                order.append(name)
                if hold is not None:
                    await hold.wait()
            return "ok"
        except HTTPException as exc:
            return str(exc.status_code)

    async def scenario() -> list[str]:
        hold = asyncio.Event()
        first = asyncio.create_task(login("first", hold))
        await asyncio.sleep(0)
        second = asyncio.create_task(login("second", None))  # waits for the slot
        await asyncio.sleep(0)
        third = await login("third", None)  # the queue (1) is full
        assert order == ["first"]
        hold.set()
        return [await first, await second, third]

    assert asyncio.run(scenario()) == ["ok", "ok", "429"]
    assert order == ["first", "second"]


def test_changing_a_password_revokes_every_session_and_token(server: str) -> None:
    api = server + "/api/v1"
    ann = httpx.Client(base_url=api)
    ann.post("/login", json={"username": "ann", "password": PASSWORD}).raise_for_status()
    ann.headers["X-CSRF-Token"] = ann.cookies["dt_csrf"]
    script = _bearer(server, "ann")
    bad = ann.put("/me/password", json={"current_password": "not it at all", "new_password": "a new password"})
    assert bad.status_code == 403
    changed = ann.put("/me/password", json={"current_password": PASSWORD, "new_password": "a new password"})
    assert changed.status_code == 204
    assert ann.get("/me").status_code == 401 and script.get("/me").status_code == 401
    assert httpx.post(api + "/login", json={"username": "ann", "password": "a new password"}).status_code == 200
    ann.close()
    script.close()


def test_scopes_follow_roles_and_tokens_never_widen(server: str) -> None:
    with _bearer(server, "root") as root:
        root.post("/users", json={"username": "cora", "password": PASSWORD, "role": "curator"}).raise_for_status()
        with _bearer(server, "cora") as cora, _bearer(server, "cora", scopes=["datasets:read"]) as narrow:
            assert sorted(cora.get("/me").json()["scopes"]) == ["annotate", "datasets:read", "datasets:write",
                                                                  "jobs:read", "jobs:write"]
            assert cora.get("/datasets").status_code == 200 and cora.get("/audit").status_code == 403
            assert narrow.get("/me").json()["scopes"] == ["datasets:read"]
            assert narrow.get("/projects").status_code == 403
            # A narrowed token mints only narrowed tokens; nobody mints a scope their role lacks.
            minted = narrow.post("/tokens", json={"name": "child"}).json()
            assert minted["id"] in {t["id"] for t in narrow.get("/tokens").json() if t["scopes"] == ["datasets:read"]}
            wider = narrow.post("/tokens", json={"name": "wider", "scopes": ["annotate"]})
            assert wider.status_code == 403 and "annotate" in wider.json()["detail"]
            assert cora.post("/tokens", json={"name": "x", "scopes": ["audit:read"]}).status_code == 403
            # The role changes; every token follows at once.
            assert root.put("/users/cora/role", json={"role": "auditor"}).json()["role"] == "auditor"
            assert cora.get("/audit").status_code == 200 and cora.get("/projects").status_code == 403
            assert narrow.get("/audit").status_code == 403  # still only datasets:read
        demote = root.put("/users/root/role", json={"role": "curator"})
        assert demote.status_code == 409
        audit = root.get("/audit").json()
    assert [e["after"] for e in audit if e["action"] == "user.role"] == [{"role": "auditor"}]


def test_api_docs_render_from_local_assets_under_the_csp(server: str) -> None:
    with chromium() as browser, open_page(browser, server + "/api/v1/docs") as (page, requests):
        violations: list[str] = []
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.reload()
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/versions/{ref}/lineage" in p.replace("\u200b", "") for p in paths)
    assert all(r.startswith(server) for r in requests), [r for r in requests if not r.startswith(server)]
    assert not violations, violations


def test_concurrent_bad_logins_leave_other_requests_served(server: str) -> None:
    with _bearer(server, "root") as root, ThreadPoolExecutor(12) as pool:
        guesses = [pool.submit(httpx.post, server + "/api/v1/login",
                               json={"username": f"g{i}", "password": "wrong password"}, timeout=60)
                   for i in range(ADDRESS_BUDGET + 3)]
        served = [root.get("/me").status_code for _ in range(10)]
        statuses = [g.result().status_code for g in guesses]
    assert served == [200] * 10
    assert sorted(statuses) == [401] * ADDRESS_BUDGET + [429] * 3
