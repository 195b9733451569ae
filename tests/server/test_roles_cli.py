"""Workspace roles and scoped tokens from the command line: `users add --role`, `users role`, `users token
--scope/--expires-days`, each audited, and bad values refused in one line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.workspace import Workspace

runner = CliRunner()


def cli(root: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--workspace", str(root), "--no-progress", *args], input=stdin,
                           env={"COLUMNS": "200"})
    error = f"error: {result.exception}" if result.exception is not None else ""
    return result.exit_code, result.output + error


def test_roles_and_scoped_tokens_from_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    code, out = cli(root, "users", "add", "cora", "--role", "curator", "--password-stdin", stdin="a long password\n")
    assert code == 0 and "role curator" in out
    code, out = cli(root, "users", "add", "x", "--role", "overlord", "--password-stdin", stdin="a long password\n")
    assert code == 1 and "role: must be one of admin, curator, reviewer, annotator, auditor" in out
    assert cli(root, "users", "role", "cora", "auditor") == (0, "user cora now has role auditor\n")
    code, out = cli(root, "users", "list")
    assert code == 0 and "cora" in out and "auditor" in out
    code, token = cli(root, "users", "token", "cora", "--scope", "datasets:read", "--expires-days", "2")
    assert code == 0
    code, out = cli(root, "users", "token", "cora", "--scope", "everything")
    assert code == 1 and "unknown scope 'everything'" in out
    with Workspace.open(root) as ws:
        owner = ws.annotation.token_owner(token.strip())
        actions = [e.action for e in ws.audit.entries()]
    assert owner is not None and owner.user.role == "auditor" and owner.scopes == ("datasets:read",)
    assert owner.expires_at is not None and owner.token_name == "cli"
    assert actions == ["user.create", "user.role", "token.create"]
