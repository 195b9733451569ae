"""Measurements stored in the catalog (SQLite and PostgreSQL) and the trend across versions and lineage."""

from __future__ import annotations

from datetime import UTC, datetime

from datatrainer.quality.metrics import METRICS_KIND, QualityConfig, QualitySummary, measure_and_store
from datatrainer.quality.metrics.history import related_versions, trend
from datatrainer.store.catalog import VersionInfo
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

CONFIG = QualityConfig(metrics=("completeness", "errors", "freshness"), reference_date=datetime(2026, 1, 1))
RECORDS = [{"id": str(i), "text": "N/A" if i % 4 == 0 else f"Sentence number {i}.",
            "collected_at": f"2025-0{i % 9 + 1}-01"} for i in range(40)]


def test_store_reload_and_trend(workspace: Workspace) -> None:
    v1 = make_version(workspace, RECORDS, name="web")
    first = measure_and_store(workspace, v1, CONFIG).summary
    stored = workspace.catalog.load_metrics(v1.info, METRICS_KIND, CONFIG.config_hash())
    assert stored is not None and QualitySummary.model_validate(stored) == first

    v2 = workspace.apply("filter", [v1], {"where": "text <> 'N/A'"})  # same dataset, parent v1
    v3 = workspace.apply("filter", [v2], {"where": "length(text) > 17"}, name="web-long")  # lineage child
    other = make_version(workspace, RECORDS[:5], name="unrelated")
    assert [(info.ref, relation) for info, relation in related_versions(workspace, v3.info)] == [
        ("web@1", "ancestor"), ("web@2", "ancestor"), ("web-long@1", "this version")]
    assert other.ref not in {info.ref for info, _ in related_versions(workspace, v1.info)}

    current = measure_and_store(workspace, v3, CONFIG).summary
    points = trend(workspace, current, v3.info)
    assert [(p.version, p.measured) for p in points] == [("web@1", True), ("web@2", False), ("web-long@1", True)]
    assert points[0].completeness_rate == first.completeness.rate == 0.75  # type: ignore[union-attr]
    assert points[2].completeness_rate == 1.0

    # A version measured with other settings is not comparable: it counts as not measured.
    measure_and_store(workspace, v2, CONFIG.model_copy(update={"horizon_days": 10.0}))
    assert not trend(workspace, current, v3.info)[1].measured

    measured: list[str] = []

    def on_demand(info: VersionInfo) -> QualitySummary:
        measured.append(info.ref)
        return measure_and_store(workspace, workspace.version(info.ref), CONFIG).summary

    points = trend(workspace, current, v3.info, on_demand)
    assert measured == ["web@2"] and all(p.measured for p in points)
    assert points[1].completeness_rate == 1.0
    assert trend(workspace, current, v3.info)[1].measured  # now stored


def test_config_hash_is_canonical() -> None:
    a = QualityConfig(required_fields=("text", "label"), labels=("b", "a"))
    b = QualityConfig(required_fields=("label", "text", "label"), labels=("a", "b"))
    assert a.config_hash() == b.config_hash()
    assert a.config_hash() != a.model_copy(update={"half_life_days": 90.0}).config_hash()
    naive = QualityConfig(reference_date=datetime(2026, 1, 1))
    aware = QualityConfig(reference_date=datetime(2026, 1, 1, tzinfo=UTC))
    assert naive.reference_date == aware.reference_date and naive.config_hash() == aware.config_hash()


def test_defaults_hash_like_the_same_values_given() -> None:
    default = QualityConfig()
    explicit = QualityConfig.model_validate(default.model_dump(mode="json"))
    assert default == explicit and default.config_hash() == explicit.config_hash()
