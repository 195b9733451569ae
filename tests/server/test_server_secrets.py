"""Secrets are never logged or stored in the clear: a whole session (encrypted workspace, accounts, logins,
tokens, a password change, failed guesses) and then a search for each secret in the server's output, the CLI's
output, the audit log and every byte of every file under the workspace."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.workspace import Workspace
from tests.conftest import write_lines
from tests.server.site import serve_subprocess

PASSPHRASE = "passphrase-" + secrets.token_hex(8)
PASSWORD = "password-" + secrets.token_hex(8)
NEW_PASSWORD = "new-password-" + secrets.token_hex(8)
WRONG_GUESS = "guess-" + secrets.token_hex(8)


def test_no_secret_reaches_a_log_the_audit_log_or_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    root = tmp_path / "ws"
    runner = CliRunner()
    outputs: list[str] = []

    def cli(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(app, ["--workspace", str(root), "--no-progress", *args], input=stdin)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    outputs.append(cli("init", "--encrypt"))
    outputs.append(cli("users", "add", "root", "--admin", "--password-stdin", stdin=PASSWORD + "\n"))
    write_lines(tmp_path / "in.jsonl", *[json.dumps({"id": str(i), "text": f"record {i}"}) for i in range(3)])
    outputs.append(cli("ingest", str(tmp_path / "in.jsonl"), "--name", "web"))
    printed = cli("users", "token", "root", "--name", "cli")  # shows its token once, on purpose
    cli_token = next(word for word in printed.split() if word.startswith("dt_"))

    with serve_subprocess(root, "--workers", "1") as (url, server):
        api = url + "/api/v1"
        assert httpx.post(api + "/login", json={"username": "root", "password": WRONG_GUESS}).status_code == 401
        session = httpx.Client(base_url=api)
        session.post("/login", json={"username": "root", "password": PASSWORD}).raise_for_status()
        csrf = session.cookies["dt_csrf"]
        session_token = session.cookies["dt_session"].split(".", 1)[1]
        session.headers["X-CSRF-Token"] = csrf
        api_token = session.post("/tokens", json={"name": "script"}).json()["token"]
        bearer = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {api_token}"})
        assert bearer.get("/versions/web@1/head").json()[0]["text"] == "record 0"
        wrong = "dt_" + secrets.token_urlsafe(32)
        assert httpx.get(api + "/me", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
        assert httpx.get(api + "/me", headers={"Authorization": f"Bearer {cli_token}"}).status_code == 200
        assert session.put("/me/password", json={"current_password": PASSWORD,
                                                 "new_password": NEW_PASSWORD}).status_code == 204
        session.close()
        bearer.close()
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    logs = stdout.decode() + stderr.decode()
    assert "annotation server on http://" in logs  # what was searched is the server's real output

    with Workspace.open(root) as ws:
        audit = json.dumps([vars(entry) for entry in ws.audit.entries(limit=10_000)], default=str)
    assert "user.password" in audit and "token.create" in audit
    stored = b"".join(path.read_bytes() for path in root.rglob("*") if path.is_file())
    found = []
    for name, secret in [("passphrase", PASSPHRASE), ("password", PASSWORD), ("new password", NEW_PASSWORD),
                         ("wrong guess", WRONG_GUESS), ("session token", session_token), ("CSRF token", csrf),
                         ("API token", api_token), ("CLI token", cli_token), ("wrong token", wrong)]:
        for place, text in [("server output", logs), ("CLI output", "\n".join(outputs)), ("audit log", audit)]:
            if secret in text:
                found.append(f"{name} in the {place}")
        if secret.encode() in stored:
            found.append(f"{name} in a workspace file")
    assert not found, found
