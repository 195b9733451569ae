"""`datatrainer pii scan`: stream a version through the engine and count what `detect` finds.

Each batch comes back as small counts and its few worst records (never the found values), so memory is
bounded by the batch size and `worst`, whatever the version's size. The worst records carry a snippet
with every finding masked, safe to show in a report.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.engine.base import Engine
from datatrainer.engine.local import LocalEngine
from datatrainer.pii.config import PiiConfig
from datatrainer.pii.detect import detect_batch, scan_fields
from datatrainer.pii.surrogates import replace_spans
from datatrainer.store.versions import DatasetVersion

SNIPPET_CHARS = 240


class PiiRecord(BaseModel):
    """One of the records with the most findings; `snippet` has every finding masked."""

    id: str
    findings: int
    types: dict[str, int]
    field: str
    snippet: str


class PiiSummary(BaseModel):
    version: str
    records: int
    records_with_pii: int
    fields: list[str]
    config: PiiConfig
    findings: dict[str, int]
    records_by_type: dict[str, int]
    by_field: dict[str, dict[str, int]]
    worst: list[PiiRecord]
    seconds: float

    @property
    def rate(self) -> float | None:
        return self.records_with_pii / self.records if self.records else None


@dataclass
class BatchCounts:
    """What one batch sends back to the driver."""

    records: int
    records_with_pii: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    records_by_type: Counter[str] = field(default_factory=Counter)
    by_field: Counter[tuple[str, str]] = field(default_factory=Counter)
    worst: list[PiiRecord] = field(default_factory=list)


def _snippet(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Up to SNIPPET_CHARS around the first finding, with every finding masked."""
    start = max(0, spans[0][0] - SNIPPET_CHARS // 3)
    masked = replace_spans(text, spans, b"", "mask")
    shift = sum(len(f"[{k.upper()}]") - (e - s) for s, e, k in spans if e <= start)
    return ("…" if start else "") + masked[start + shift:start + shift + SNIPPET_CHARS]


def count_batch(batch: pa.RecordBatch, config: PiiConfig, fields: list[str], worst: int) -> BatchCounts:
    found = detect_batch(batch.select(["id", *fields]), config)
    counts = BatchCounts(records=batch.num_rows)
    if found.num_rows == 0:
        return counts
    counts.records_with_pii = len(pc.unique(found["row"]))
    for item in found.group_by(["type"]).aggregate([("row", "count"), ("row", "count_distinct")]).to_pylist():
        counts.findings[item["type"]] = item["row_count"]
        counts.records_by_type[item["type"]] = item["row_count_distinct"]
    for item in found.group_by(["field", "type"]).aggregate([("row", "count")]).to_pylist():
        counts.by_field[item["field"], item["type"]] = item["row_count"]
    per_row = found.group_by(["row"]).aggregate([("row", "count")]).sort_by([("row_count", "descending"),
                                                                            ("row", "ascending")])
    ids = batch.column("id")
    for item in per_row.slice(0, worst).to_pylist():
        mine = found.filter(pc.equal(found["row"], item["row"])).to_pylist()
        types = Counter(f["type"] for f in mine)
        top_field = Counter(f["field"] for f in mine).most_common(1)[0][0]
        spans = [(f["start"], f["end"], f["type"]) for f in mine if f["field"] == top_field]
        text = batch.column(top_field)[item["row"]].as_py()
        record = PiiRecord(id=str(ids[item["row"]].as_py()), findings=item["row_count"], types=dict(types),
                           field=top_field, snippet=_snippet(text, sorted(spans)))
        counts.worst.append(record)
    return counts


def _merge(parts: Iterable[BatchCounts], worst: int) -> BatchCounts:
    """Sum the counts; keep the `worst` records with most findings, then most kinds, ties by id."""
    total = BatchCounts(records=0)
    for part in parts:
        total.records += part.records
        total.records_with_pii += part.records_with_pii
        total.findings.update(part.findings)
        total.records_by_type.update(part.records_by_type)
        total.by_field.update(part.by_field)
        total.worst = sorted(total.worst + part.worst, key=lambda r: (-r.findings, -len(r.types), r.id))[:worst]
    return total


def scan_version(version: DatasetVersion, config: PiiConfig | None = None, engine: Engine | None = None,
                 worst: int = 10) -> PiiSummary:
    """Count the personal data in every scanned field of `version`, and find its `worst` records."""
    config = config or PiiConfig()
    engine = engine or LocalEngine()
    fields = scan_fields(version.schema, config)
    began = time.perf_counter()
    parts = engine.map_batches(lambda batch: count_batch(batch, config, fields, worst), version,
                               columns=["id", *fields], description="scanning for PII")
    total = _merge(parts, worst)
    by_field: dict[str, dict[str, int]] = {name: {} for name in fields}
    for (name, kind), count in sorted(total.by_field.items()):
        by_field[name][kind] = count
    return PiiSummary(version=version.ref, records=total.records, records_with_pii=total.records_with_pii,
                      fields=fields, config=config, findings=dict(sorted(total.findings.items())),
                      records_by_type=dict(sorted(total.records_by_type.items())), by_field=by_field,
                      worst=total.worst, seconds=time.perf_counter() - began)
