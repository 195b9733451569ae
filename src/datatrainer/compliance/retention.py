"""Per-source retention: records collected longer ago than their source's horizon are erased everywhere.

Policies are days per `source` value, from the workspace settings (`[retention]` in `datatrainer.toml`; the
key `"*"` is the horizon of every other source) or given on the command line. Applying them is an erasure
(`erasure.erase`) whose condition is built here, so expired records leave every version in their lineage,
the stores, annotations and exports, with a journal and a receipt, like any erasure. Records without a
`collected_at` never expire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from datatrainer.compliance.erasure import ErasureResult, erase
from datatrainer.compliance.select import Selector, applies_to, match
from datatrainer.config import read_workspace_config
from datatrainer.errors import DatatrainerError
from datatrainer.store.schema import COLLECTED_AT, SOURCE

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

DEFAULT_KEY = "*"


@dataclass(frozen=True)
class Policies:
    days: Mapping[str, int]

    @classmethod
    def parse(cls, pairs: Mapping[str, object], where: str) -> Policies:
        days: dict[str, int] = {}
        for source, value in pairs.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DatatrainerError(f"{where}: the retention of {source!r} must be a whole number of days, "
                                       f"got {value!r}")
            days[str(source)] = value
        return cls(days)

    def predicate(self, now: datetime) -> str:
        """The SQL condition (DuckDB) matching the expired records."""
        def cutoff(days: int) -> str:
            return f"{COLLECTED_AT} < TIMESTAMPTZ '{(now - timedelta(days=days)).isoformat()}'"

        named = {source: days for source, days in self.days.items() if source != DEFAULT_KEY}
        parts = [f"({SOURCE} = '{source.replace(chr(39), chr(39) * 2)}' AND {cutoff(days)})"
                 for source, days in sorted(named.items())]
        if DEFAULT_KEY in self.days:
            others = " AND ".join(f"{SOURCE} <> '{s.replace(chr(39), chr(39) * 2)}'" for s in sorted(named))
            scope = f"({SOURCE} IS NULL OR ({others}))" if named else "true"
            parts.append(f"({scope} AND {cutoff(self.days[DEFAULT_KEY])})")
        return " OR ".join(parts)


def workspace_policies(ws: Workspace, overrides: Mapping[str, int] | None = None) -> Policies:
    settings = read_workspace_config(ws.root).get("retention", {})
    if not isinstance(settings, dict):
        raise DatatrainerError(f"{ws.root}/datatrainer.toml: [retention] must be a table of source = days")
    merged = {**settings, **(overrides or {})}
    if not merged:
        raise DatatrainerError("no retention policy: add a [retention] table to datatrainer.toml "
                               "(e.g. web = 365, \"*\" = 1095) or pass --policy SOURCE=DAYS")
    return Policies.parse(merged, "retention")


def expired(ws: Workspace, policies: Policies, now: datetime | None = None) -> dict[str, int]:
    """How many records of each version are past their horizon (a dry run)."""
    selector = Selector(where=policies.predicate(now or datetime.now(UTC)))
    counts = {}
    for name in ws.datasets.names():
        for version in ws.datasets.versions(name):
            if applies_to(selector, version) is None:
                counts[version.ref] = len(match(selector, version).ids)
    return counts


def apply_retention(ws: Workspace, policies: Policies, now: datetime | None = None) -> ErasureResult:
    """Erase every expired record; versions without `source`/`collected_at` columns are left alone."""
    selector = Selector(where=policies.predicate(now or datetime.now(UTC)))
    if not any(applies_to(selector, version) is None
               for name in ws.datasets.names() for version in ws.datasets.versions(name)):
        return ErasureResult(None)  # no version has the columns the policies need
    return erase(ws, selector)
