"""Encryption at rest through the CLI: `init --encrypt`, the normal pipeline, exports refused unless
`--decrypt` (audited), `keys status|rotate`, `encrypt` of an existing workspace, and the one-line errors for a
wrong passphrase or a missing key provider.

Commands run in-process through `main()` (the real entry point, with its error handling); the wrong
passphrase is also checked once in a subprocess, exactly as a user sees it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datatrainer.cli.app import main
from datatrainer.cli.context import console
from datatrainer.security import keys_encrypt
from datatrainer.security.keys import new_provider
from datatrainer.workspace import Workspace
from tests.conftest import write_lines

PASSPHRASE = "correct horse battery staple"


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["datatrainer", "--no-progress", *map(str, args)])
    monkeypatch.setattr(console, "width", 200)  # made at import; COLUMNS set now would come too late
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(result: tuple[int, str, str]) -> str:
    code, _, err = result
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def records(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "in.jsonl", *[json.dumps({"id": f"d{i}", "text": f"confidential note {i}",
                                                            "meta": {"n": i}}) for i in range(40)])


def test_pipeline_on_an_encrypted_workspace(tmp_path: Path, records: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    code, out, _ = cli(capsys, monkeypatch, "init", ws, "--encrypt")
    assert code == 0 and "encryption at rest on" in out and "DATATRAINER_PASSPHRASE" in out
    assert cli(capsys, monkeypatch, "-w", ws, "ingest", records, "--name", "web")[0] == 0
    assert cli(capsys, monkeypatch, "-w", ws, "filter", "web@1", "--where", "meta.n >= 30")[0] == 0

    out_dir = tmp_path / "export"
    refused = one_line_error(cli(capsys, monkeypatch, "-w", ws, "export", "web@2", "--out", out_dir, "-f", "jsonl"))
    assert "encrypted workspace" in refused and "--decrypt" in refused and not out_dir.exists()
    code, _, err = cli(capsys, monkeypatch, "-w", ws, "export", "web@2", "--out", out_dir, "-f", "jsonl", "--decrypt")
    assert code == 0, err
    exported = [json.loads(line) for line in (out_dir / "data.jsonl").read_text().splitlines()]
    assert [row["id"] for row in exported] == [f"d{i}" for i in range(30, 40)]
    with Workspace.open(ws) as opened:
        decrypted = [e for e in opened.audit.entries(limit=1000) if e.action == "export.decrypt"]
        assert [e.entity_id for e in decrypted] == ["web@2"]

    assert cli(capsys, monkeypatch, "-w", ws, "annotate", "create", "p", "--from", "web@2", "--task",
               "classification", "--labels", "a,b")[0] == 0
    labels = tmp_path / "labels.jsonl"
    refused = one_line_error(cli(capsys, monkeypatch, "-w", ws, "annotate", "export", "p", "--format", "jsonl",
                                 "--out", labels))
    assert "project p is in an encrypted workspace" in refused and not labels.exists()
    code, _, err = cli(capsys, monkeypatch, "-w", ws, "annotate", "export", "p", "--format", "jsonl", "--out", labels,
                       "--decrypt")
    assert code == 0 and labels.exists(), err

    code, out, _ = cli(capsys, monkeypatch, "-w", ws, "keys", "status")
    assert code == 0 and "encrypted with passphrase" in out and "2 version" in out
    monkeypatch.setenv("DATATRAINER_NEW_PASSPHRASE", "another passphrase")
    code, out, _ = cli(capsys, monkeypatch, "-w", ws, "keys", "rotate")
    assert code == 0 and "re-wrapped 3 data key(s)" in out  # 2 versions and the catalog
    wrong = one_line_error(cli(capsys, monkeypatch, "-w", ws, "datasets", "head", "web@2"))
    assert wrong == f"error: wrong passphrase for workspace {ws}"
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", "another passphrase")
    code, out, _ = cli(capsys, monkeypatch, "-w", ws, "datasets", "head", "web@2")
    assert code == 0 and "confidential note 30" in out

    with Workspace.open(ws) as opened:
        decrypted = [e for e in opened.audit.entries(limit=1000) if e.action == "export.decrypt"]
        assert [e.entity_id for e in decrypted] == ["web@2", "project p"]
        assert [e.action for e in opened.audit.entries(limit=1000, entity="workspace_keys")] == ["keys.setup",
                                                                                                "keys.rotate"]
    secrets = [PASSPHRASE.encode(), b"another passphrase"]
    assert not [p for p in ws.rglob("*") if p.is_file() and any(s in p.read_bytes() for s in secrets)]

    monkeypatch.delenv("DATATRAINER_PASSPHRASE")
    missing = one_line_error(cli(capsys, monkeypatch, "-w", ws, "datasets", "head", "web@2"))
    assert missing == f"error: set DATATRAINER_PASSPHRASE to the passphrase of the encrypted workspace {ws}"


def test_encrypt_an_existing_workspace(tmp_path: Path, records: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ws, key_file = tmp_path / "ws", tmp_path / "secret" / "ws.key"
    assert cli(capsys, monkeypatch, "init", ws)[0] == 0
    assert cli(capsys, monkeypatch, "-w", ws, "ingest", records, "--name", "web")[0] == 0

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(keys_encrypt, "put_file", interrupt)  # Ctrl-C while the first file is replaced
        code, out, err = cli(capsys, monkeypatch, "-w", ws, "encrypt", "--key-provider", "keyfile",
                             "--key-file", key_file)
    assert code == 130 and f"key file {key_file}" in out
    assert err.strip().splitlines() == ["error: interrupted: the files done so far stay encrypted; run "
                                        "`datatrainer encrypt` again to finish"]
    code, out, _ = cli(capsys, monkeypatch, "-w", ws, "encrypt")
    assert code == 0 and "encrypted 1 file(s) of 1 version(s)" in out
    code, out, _ = cli(capsys, monkeypatch, "-w", ws, "encrypt")
    assert code == 0 and "encrypted 0 file(s)" in out and "1 already encrypted" in out
    new_key = tmp_path / "secret" / "rotated.key"
    code, out, _ = cli(capsys, monkeypatch, "-w", ws, "keys", "rotate", "--key-file", new_key)
    assert code == 0 and f"the old key file {key_file} is no longer used" in out
    key_file.unlink()
    code, out, _ = cli(capsys, monkeypatch, "-w", ws, "datasets", "head", "web")
    assert code == 0 and "confidential note 0" in out
    new_key.unlink()
    missing = one_line_error(cli(capsys, monkeypatch, "-w", ws, "datasets", "head", "web"))
    assert missing.startswith(f"error: key file {new_key} of workspace {ws} is missing")


def test_wrong_passphrase_is_one_line_for_a_user(tmp_path: Path, records: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    with Workspace.init(tmp_path / "ws") as ws:
        ws.keys.setup(new_provider("passphrase"))
        ws.ingest(records, "web")
    result = subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", "-w", str(ws.root), "ingest",
                             str(records), "--name", "web"], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "DATATRAINER_PASSPHRASE": "guess"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: wrong passphrase for workspace {ws.root}"]
