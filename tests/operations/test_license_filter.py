"""`license-filter` against a brute-force reference (Python's fnmatch on each licence)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from datatrainer.operations.license_filter import NON_COMMERCIAL, UNKNOWN
from datatrainer.workspace import Workspace

LICENCES = ["CC-BY-4.0", "cc-by-nc-4.0", "MIT", None, "", "Unknown", "apache-2.0", "CC-BY-NC-SA-3.0",
            "Research-Only", "cc0-1.0", "  mit  ", "other", "GPL-3.0", "CC-BY-SA-4.0"]


def _expected(licence: str | None, deny: list[str], allow: list[str] | None, keep_unknown: bool) -> str | None:
    value = (licence or "").strip().lower()
    if value in UNKNOWN:
        return None if keep_unknown else "license: unknown"
    if any(fnmatch.fnmatchcase(value, p) for p in deny):
        return "license: denied"
    if allow is not None and not any(fnmatch.fnmatchcase(value, p) for p in allow):
        return "license: not allowed"
    return None


def test_license_filter_matches_the_reference(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "text": f"record {i}", "license": licence} for i, licence in enumerate(LICENCES)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    version = sqlite_workspace.ingest(source, "docs")
    for params in ({}, {"keep_unknown": True}, {"allow": ["cc0*", "cc-by-4.0", "mit", "apache-2.0"]},
                   {"deny": ["gpl*"], "allow": ["cc-by*", "gpl*"], "keep_unknown": True}):
        out = sqlite_workspace.apply("license-filter", [version], params, name="clean")
        deny, allow = params.get("deny", NON_COMMERCIAL), params.get("allow")
        expected = {row["id"]: _expected(row["license"], deny, allow, bool(params.get("keep_unknown")))
                    for row in rows}
        kept = set(out.to_table(["id"]).column("id").to_pylist())
        assert kept == {i for i, reason in expected.items() if reason is None}, params
        dropped = out.artifact("dropped").to_pylist()
        assert {d["id"]: d["reason"] for d in dropped} == {i: r for i, r in expected.items() if r}, params
