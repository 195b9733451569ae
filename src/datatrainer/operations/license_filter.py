"""`license-filter`: keep only records whose licence may be used, e.g. drop non-commercial and unknown ones.

Licences are matched case-insensitively against glob patterns (`cc-by-nc*`, `*noncommercial*`), vectorised
with Arrow's regular-expression kernels. A record is dropped, with the reason stored in `dropped`, when its
licence is unknown (null, empty, `unknown`, `other`) and unknown ones are not kept, matches a `deny` pattern,
or, when `allow` is given, matches none of the `allow` patterns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from datatrainer.errors import DatatrainerError
from datatrainer.operations.base import BatchOperation, Filtered
from datatrainer.store.schema import ID, LICENSE
from datatrainer.store.versions import DatasetVersion

NON_COMMERCIAL = ["*-nc*", "*noncommercial*", "*non-commercial*", "*research-only*", "*research only*"]
UNKNOWN = ("", "unknown", "other", "none", "n/a", "noassertion")


class LicenseFilterParams(BaseModel):
    deny: list[str] = Field(default_factory=lambda: list(NON_COMMERCIAL),
                            description="Glob patterns of licences to drop (default: non-commercial and "
                                        "research-only ones).")
    allow: list[str] | None = Field(default=None, description="If given, keep only licences matching one of "
                                                              "these glob patterns, e.g. [\"cc0*\", \"cc-by-4.0\", "
                                                              "\"mit\", \"apache-2.0\"].")
    keep_unknown: bool = Field(default=False, description="Keep records whose licence is missing or unknown.")
    field: str = Field(default=LICENSE, min_length=1, description="The column holding the licence.")


def _regex(patterns: list[str]) -> str:
    """One anchored, case-insensitive RE2 pattern matching any of the globs."""
    parts = [re.escape(p.strip().lower()).replace(r"\*", ".*").replace(r"\?", ".") for p in patterns]
    return "^(?:" + "|".join(parts) + ")$"


def _reasons(licences: pa.Array, params: LicenseFilterParams) -> pa.Array:
    """The drop reason of each record, null for the kept ones."""
    text = pc.utf8_lower(pc.utf8_trim_whitespace(licences.cast(pa.string())))
    unknown = pc.or_kleene(pc.is_null(text), pc.is_in(text, value_set=pa.array(UNKNOWN)))
    reasons = pa.nulls(len(text), pa.string())
    conditions: list[tuple[pa.Array, str]] = []
    if not params.keep_unknown:
        conditions.append((unknown, "license: unknown"))
    known = pc.invert(pc.fill_null(unknown, True))
    if params.deny:
        denied = pc.and_(known, pc.fill_null(pc.match_substring_regex(text, _regex(params.deny)), False))
        conditions.append((denied, "license: denied"))
    if params.allow is not None:
        allowed = pc.fill_null(pc.match_substring_regex(text, _regex(params.allow)), False)
        conditions.append((pc.and_(known, pc.invert(allowed)), "license: not allowed"))
    for condition, reason in reversed(conditions):  # the first condition that holds names the reason
        reasons = pc.if_else(condition, pa.scalar(reason), reasons)
    return reasons


class LicenseFilterOperation(BatchOperation[LicenseFilterParams]):
    """Keep the records whose licence is allowed; the others are dropped, each with why."""

    name = "license-filter"
    params_model = LicenseFilterParams

    def prepare(self, version: DatasetVersion, params: LicenseFilterParams) -> None:
        if params.field != LICENSE and params.field not in version.schema.names:
            raise DatatrainerError(f"license-filter: {version.ref} has no field {params.field!r}")
        if params.allow == []:
            raise DatatrainerError("license-filter: allow is empty (it would drop every record); omit it instead")

    def transform(self, batch: pa.RecordBatch, params: LicenseFilterParams) -> Filtered:
        table = pa.Table.from_batches([batch])
        licences = (table.column(params.field).combine_chunks() if params.field in table.column_names
                    else pa.nulls(table.num_rows, pa.string()))
        reasons = _reasons(licences, params)
        dropped = pc.is_valid(reasons)
        kept = table.filter(pc.invert(dropped))
        gone = pa.table({ID: table.column(ID).filter(dropped), "reason": reasons.filter(dropped),
                         "license": licences.cast(pa.string()).filter(dropped)})
        return Filtered(kept, gone)

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        # The example records carry no licence column: their ids stand in for licence names.
        return [{"field": "id", "deny": ["r001*", "r002?"]}, {"field": "id", "allow": ["r00*"], "deny": []},
                {"keep_unknown": True}]
