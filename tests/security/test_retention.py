"""`datatrainer retention apply`: records past their source's horizon are erased, checked against a
brute-force reference over the records' dates; the rest of the workspace stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from datatrainer.compliance.retention import Policies, apply_retention, expired
from datatrainer.io.ingest import IngestOptions
from datatrainer.workspace import Workspace
from tests.security.test_erase import _cli

NOW = datetime(2026, 12, 1, tzinfo=UTC)
AGES = [1, 20, 40, 200, 400, 2000, None]  # days before NOW; None: no date


def _ingest(ws: Workspace, tmp_path: Path, source: str) -> None:
    rows = [{"id": f"{source}{i}", "text": f"{source} record {i}",
             "date": (NOW - timedelta(days=age)).isoformat() if age is not None else None}
            for i, age in enumerate(AGES)]
    path = tmp_path / f"{source}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ws.ingest(path, source, IngestOptions(source=source, collected_at_field="date"))


def test_retention_erases_exactly_the_expired_records(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    for source in ("web", "forum", "books"):
        _ingest(ws, tmp_path, source)
    policies = Policies.parse({"web": 30, "forum": 365, "*": 1000}, "test")
    horizon = {"web": 30, "forum": 365, "books": 1000}
    expected = {f"{source}@1": sum(1 for age in AGES if age is not None and age > days)
                for source, days in horizon.items()}
    assert expired(ws, policies, NOW) == expected
    result = apply_retention(ws, policies, NOW)
    assert result.records == sum(expected.values())
    for source, days in horizon.items():
        kept = set(ws.version(f"{source}@1").to_table(["id"]).column("id").to_pylist())
        assert kept == {f"{source}{i}" for i, age in enumerate(AGES) if age is None or age <= days}
    assert expired(ws, policies, NOW) == dict.fromkeys(expected, 0)
    assert ws.audit.verify().ok


def test_retention_cli_dry_run_and_bad_policy(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    _ingest(ws, tmp_path, "web")
    result = _cli(ws, "retention", "apply", "--policy", "web=100000", "--dry-run")
    assert result.exit_code == 0 and "web@1: 0 expired" in result.output, result.output
    missing = _cli(ws, "retention", "apply")
    assert missing.exit_code == 1 and "no retention policy" in str(missing.exception)
    bad = _cli(ws, "retention", "apply", "--policy", "web=soon")
    assert bad.exit_code == 1 and "SOURCE=DAYS" in str(bad.exception)
    (ws.root / "datatrainer.toml").write_text((ws.root / "datatrainer.toml").read_text() + "\n[retention]\nweb = 1\n")
    done = _cli(ws, "retention", "apply")
    assert done.exit_code == 0 and "erased" in done.output and ws.version("web@1").num_rows < len(AGES)
