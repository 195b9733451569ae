"""The server on an encrypted workspace: it reads encrypted versions with the key from its environment, and
an annotation download (a plaintext file) needs `decrypt=true`, which the audit log records."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import write_jsonl
from datatrainer.security.keys import new_provider
from datatrainer.server import app as server_app
from datatrainer.server.run import serve_in_thread
from datatrainer.workspace import Workspace

PASSWORD = "correct horse battery"


def test_annotation_download_needs_decrypt_in_an_encrypted_workspace(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", "server passphrase")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.keys.setup(new_provider("passphrase"))
        ws.annotation.create_user(local_admin(), "root", PASSWORD, role="admin")
        write_jsonl(iter([{"id": str(i), "text": f"secret record {i}"} for i in range(3)]), tmp_path / "in.jsonl")
        ws.ingest(tmp_path / "in.jsonl", "tiny")
        project = ws.annotation.create_project(local_admin(), "p", "tiny", "classification", ["a", "b"]).id
    with serve_in_thread(server_app.create_app(tmp_path / "ws")) as url, \
            httpx.Client(base_url=url + "/api/v1", timeout=60) as client:
        client.post("/login", json={"username": "root", "password": PASSWORD}).raise_for_status()
        refused = client.get(f"/projects/{project}/download/jsonl")
        assert refused.status_code == 422
        assert "encrypted workspace" in refused.json()["detail"] and "decrypt=true" in refused.json()["detail"]
        allowed = client.get(f"/projects/{project}/download/jsonl", params={"decrypt": "true"})
        assert allowed.status_code == 200, allowed.text
        assert "attachment" in allowed.headers["content-disposition"]
        head = client.get("/versions/tiny@1/head")  # the server reads the encrypted version with its key
        assert head.status_code == 200, head.text
        assert [row["text"] for row in head.json()] == [f"secret record {i}" for i in range(3)]
    with Workspace.open(tmp_path / "ws") as ws:
        entries = [e for e in ws.audit.entries(limit=1000) if e.action == "export.decrypt"]
        assert [(e.actor, e.entity_id) for e in entries] == [("root", "project p")]
