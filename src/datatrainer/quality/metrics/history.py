"""The trend of a dataset's quality across versions, from measurements stored in the catalog.

Which versions: every version of the same dataset and every ancestor in the lineage (parents, their
parents, ...), since a filtered or deduplicated dataset is best compared with what it came from. Which
numbers: only measurements stored under the same configuration hash, because numbers measured under other
settings are not comparable. Versions never measured with these settings are listed as missing; the report
measures them first when asked to (`compute_missing`), otherwise it shows only what is stored, so a report
never silently costs a full pass over every old version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel, ValidationError

from datatrainer.quality.metrics.result import METRICS_KIND, QualitySummary
from datatrainer.store.catalog import VersionInfo
from datatrainer.workspace import Workspace


class TrendPoint(BaseModel):
    version: str
    created_at: datetime
    relation: str
    records: int
    measured: bool
    measured_at: datetime | None = None
    completeness_rate: float | None = None
    error_rate: float | None = None
    label_issue_rate: float | None = None
    coherence_index: float | None = None
    freshness_score: float | None = None


def related_versions(workspace: Workspace, version: VersionInfo) -> list[tuple[VersionInfo, str]]:
    """(version, relation) for the dataset's versions and the lineage ancestors, oldest first."""
    related: dict[int, tuple[VersionInfo, str]] = {
        info.id: (info, "this version" if info.id == version.id else "same dataset")
        for info in workspace.catalog.versions_of(version.dataset)
    }
    pending = list(version.parents)
    while pending:
        info = workspace.catalog.resolve(pending.pop())
        if info.id not in related:
            related[info.id] = (info, "ancestor")
            pending.extend(info.parents)
        elif related[info.id][1] == "same dataset":
            related[info.id] = (info, "ancestor")
    return sorted(related.values(), key=lambda item: (item[0].created_at, item[0].id))


def _stored(workspace: Workspace, info: VersionInfo, config_hash: str) -> QualitySummary | None:
    payload = workspace.catalog.load_metrics(info, METRICS_KIND, config_hash)
    if payload is None:
        return None
    try:
        return QualitySummary.model_validate(payload)
    except ValidationError:  # stored by a code version whose summary had another shape
        return None


def trend(workspace: Workspace, current: QualitySummary, version: VersionInfo,
          measure_missing: Callable[[VersionInfo], QualitySummary] | None = None) -> list[TrendPoint]:
    """One point per related version, with its stored headline numbers under `current`'s configuration.

    `current` stands for `version` itself (it need not be stored yet); `measure_missing`, when given, is
    called for each related version without a stored measurement and its result is used.
    """
    points = []
    for info, relation in related_versions(workspace, version):
        summary = current if info.id == version.id else _stored(workspace, info, current.config_hash)
        if summary is None and measure_missing is not None:
            summary = measure_missing(info)
        point = TrendPoint(version=info.ref, created_at=info.created_at, relation=relation,
                           records=info.row_count, measured=summary is not None)
        if summary is not None:
            point = point.model_copy(update={"measured_at": summary.measured_at, **summary.headline()})
        points.append(point)
    return points
