"""`pii-redact` on a real workspace: each mode, pseudonyms consistent across versions and datasets, the key
kept out of the lineage, and a rescan of the redacted version finding none of the original values."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pyarrow as pa
import pytest

from datatrainer.pii.config import PiiConfig
from datatrainer.pii.scan import scan_version
from datatrainer.pii.secret import KEY_FILE
from datatrainer.pii.validators import credit_card_valid, iban_valid, ip_valid
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.conftest import write_lines

STRUCTURED = ["email", "phone", "credit_card", "iban", "ip", "national_id"]
VALUES = {"email": "maria.gonzalez@example.com", "phone": "(212) 555-0187", "credit_card": "4111 1111 1111 1111",
          "iban": "GB82 WEST 1234 5698 7654 32", "ip": "192.168.1.20", "national_id": "536-22-1234"}
RECORDS = [
    {"id": "r1", "text": f"Write to {VALUES['email']} or call {VALUES['phone']}.", "lang": "en"},
    {"id": "r2", "text": f"Card {VALUES['credit_card']}, account {VALUES['iban']}.", "lang": "en"},
    {"id": "r3", "text": "Nothing personal: order ORD-2023-004512, version 3.10.12.", "lang": "en"},
    {"id": "r4", "text": f"Login from {VALUES['ip']}; SSN {VALUES['national_id']}; again {VALUES['email']}.",
     "lang": "en"},
]


def _ingest(ws: Workspace, tmp_path: Path, name: str, records: list[dict[str, str]]) -> DatasetVersion:
    path = write_lines(tmp_path / f"{name}.jsonl", *(json.dumps(r) for r in records))
    return ws.ingest(path, name)


def _texts(version: DatasetVersion) -> dict[str, str]:
    table = version.to_table(columns=["id", "text"])
    return dict(zip(table["id"].to_pylist(), table["text"].to_pylist(), strict=True))


@pytest.fixture
def source(sqlite_workspace: Workspace, tmp_path: Path) -> DatasetVersion:
    return _ingest(sqlite_workspace, tmp_path, "crm", RECORDS)


def test_mask_replaces_every_value_and_keeps_the_rest(sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    out = sqlite_workspace.apply("pii-redact", [source], {"mode": "mask", "types": STRUCTURED})
    texts = _texts(out)
    assert texts["r1"] == "Write to [EMAIL] or call [PHONE]."
    assert texts["r3"] == RECORDS[2]["text"]
    assert not any(value in text for value in VALUES.values() for text in texts.values())
    table = out.to_table()
    assert table["lang"].to_pylist() == ["en"] * 4 and out.schema.equals(source.schema)
    # the cache key follows the text, computed as ingest computes it
    assert table["content_hash"].to_pylist() == [hashlib.md5(t.encode()).hexdigest() for t in table["text"].to_pylist()]
    assert list(out.info.parents) == [source.ref]
    assert out.info.operation == "pii-redact"


def test_pseudonyms_are_consistent_across_versions_and_keyed_by_the_workspace(
        sqlite_workspace: Workspace, source: DatasetVersion, tmp_path: Path) -> None:
    params = {"mode": "pseudonymise", "types": STRUCTURED}
    first = _texts(sqlite_workspace.apply("pii-redact", [source], params))
    other = _ingest(sqlite_workspace, tmp_path, "tickets",
                    [{"id": "t1", "text": f"Customer {VALUES['email']} again, card {VALUES['credit_card']}."}])
    second = _texts(sqlite_workspace.apply("pii-redact", [other], params))
    email_surrogate = first["r1"].split()[2]
    assert email_surrogate.endswith((".com", ".org", ".net")) and email_surrogate != VALUES["email"]
    assert email_surrogate in first["r4"] and email_surrogate in second["t1"]  # same value, same surrogate
    card = second["t1"].split("card ")[1].rstrip(".")
    assert credit_card_valid(card) and card in first["r2"] and card != VALUES["credit_card"]
    assert iban_valid(first["r2"].split("account ")[1].rstrip(".")) and ip_valid(first["r4"].split()[2].rstrip(";"))
    key_file = sqlite_workspace.root / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_hex = key_file.read_text().strip()
    lineage = json.dumps(sqlite_workspace.version("crm@2").info.params)
    assert key_hex not in lineage and "key" not in sqlite_workspace.version("crm@2").info.params
    # Another workspace (another key) gives other surrogates for the same value.
    elsewhere = Workspace.init(tmp_path / "other")
    try:
        copy = _ingest(elsewhere, tmp_path, "crm", RECORDS)
        assert email_surrogate not in _texts(elsewhere.apply("pii-redact", [copy], params))["r1"]
    finally:
        elsewhere.close()


def test_hash_mode_is_a_keyed_digest(sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    texts = _texts(sqlite_workspace.apply("pii-redact", [source], {"mode": "hash", "types": ["email"]}))
    token = texts["r1"].split()[2]
    assert token.startswith("[EMAIL:") and token in texts["r4"]
    plain = hashlib.sha256(VALUES["email"].encode()).hexdigest()[:16]
    assert plain not in token  # not an unkeyed hash anyone could recompute


def test_drop_removes_records_with_pii_and_says_why(sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    out = sqlite_workspace.apply("pii-redact", [source], {"mode": "drop", "types": STRUCTURED})
    assert out.to_table(columns=["id"])["id"].to_pylist() == ["r3"]
    dropped = out.artifact("dropped").sort_by("id").to_pylist()
    assert dropped == [{"id": "r1", "reason": "pii: email, phone"}, {"id": "r2", "reason": "pii: credit_card, iban"},
                       {"id": "r4", "reason": "pii: email, ip, national_id"}]
    assert out.info.stats["dropped"] == 3


def test_scan_counts_per_type_and_field_and_redacted_version_is_clean(
        sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    config = PiiConfig(types=STRUCTURED)
    summary = scan_version(source, config, worst=2)
    expected: dict[str, int] = {}
    for record in RECORDS:  # independent count: each planted value's occurrences
        for kind, value in VALUES.items():
            expected[kind] = expected.get(kind, 0) + record["text"].count(value)
    assert summary.findings == {k: v for k, v in sorted(expected.items()) if v}
    assert summary.by_field == {"text": summary.findings, "lang": {}}
    assert summary.records_with_pii == 3 and summary.records_by_type["email"] == 2
    assert [r.id for r in summary.worst] == ["r4", "r1"]  # 4 findings, then 2 (r1 before r2 by id)
    assert VALUES["email"] not in summary.model_dump_json() and "[EMAIL]" in summary.worst[0].snippet
    redacted = sqlite_workspace.apply("pii-redact", [source], {"mode": "pseudonymise", "types": STRUCTURED})
    again = scan_version(redacted, config)
    assert not any(v in t for v in VALUES.values() for t in _texts(redacted).values())
    assert again.records_with_pii <= 3  # surrogates look like PII by design, but none is an original value


def test_one_table_of_findings_per_batch_is_bounded(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    rows = [{"id": f"r{i:04d}", "text": f"row {i} mail user{i}@example.org"} for i in range(300)]
    version = _ingest(sqlite_workspace, tmp_path, "many", rows)
    from datatrainer.engine.local import LocalEngine

    summary = scan_version(version, PiiConfig(types=["email"]), LocalEngine(batch_size=16), worst=3)
    assert summary.findings == {"email": 300} and len(summary.worst) == 3
    assert [r.id for r in summary.worst] == ["r0000", "r0001", "r0002"]
    assert pa.types.is_string(version.schema.field("text").type)
