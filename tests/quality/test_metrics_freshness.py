"""Freshness against a NumPy reference: ages, half-life weights 0.5 ** (age / half_life), undated counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.quality.metrics import QualityConfig, measure
from datatrainer.quality.metrics.freshness import record_columns, summarize
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(
    ages=st.lists(st.one_of(st.none(), st.floats(-30, 5000, allow_nan=False)), min_size=1, max_size=40),
    half_life=st.floats(1, 1000),
    horizon=st.floats(1, 2000),
)
def test_matches_numpy_reference(ages: list[float | None], half_life: float, horizon: float) -> None:
    config = QualityConfig(half_life_days=half_life, horizon_days=horizon)
    micros = [None if a is None else round(a * 86_400e6) for a in ages]
    stamps = [None if m is None else REFERENCE - timedelta(microseconds=m) for m in micros]
    batch = pa.RecordBatch.from_pydict({"collected_at": pa.array(stamps, pa.timestamp("us", tz="UTC"))})
    records = pa.table(record_columns(batch, config, REFERENCE))
    summary = summarize(records, config, REFERENCE)

    raw = np.array([np.nan if m is None else m / 86_400e6 for m in micros])
    dated = ~np.isnan(raw)
    age = np.maximum(raw[dated], 0)
    weights = 0.5 ** (age / half_life)
    n = len(ages)
    assert summary.dated == dated.sum() and summary.undated == n - dated.sum()
    assert summary.future == int((raw[dated] < 0).sum())
    assert summary.stale == int((age > horizon).sum())
    assert summary.stale_rate == pytest.approx((age > horizon).sum() / n)
    assert summary.undated_rate == pytest.approx((n - dated.sum()) / n)
    assert summary.score == pytest.approx(weights.sum() / n)
    assert summary.score_dated == (pytest.approx(weights.mean()) if dated.any() else None)
    if dated.any():
        assert summary.age_days.median == pytest.approx(np.median(age))
        assert summary.age_days.p90 == pytest.approx(np.quantile(age, 0.9))
        assert sum(summary.age_histogram.counts) == dated.sum()
    np.testing.assert_allclose(records["freshness_weight"].to_numpy(),
                               np.where(dated, 0.5 ** (np.nan_to_num(np.maximum(raw, 0)) / half_life), 0.0))


def test_dates_as_strings_and_missing_column(sqlite_workspace: Workspace) -> None:
    records = [
        {"id": "a", "text": "x.", "collected_at": "2025-12-31T00:00:00Z"},  # 1 day
        {"id": "b", "text": "x.", "collected_at": "2024-01-01"},  # 731 days: stale
        {"id": "c", "text": "x.", "collected_at": "not a date"},  # undated (and a bad_date error)
        {"id": "d", "text": "x.", "collected_at": None},  # undated
    ]
    version = make_version(sqlite_workspace, records)
    config = QualityConfig(reference_date=REFERENCE, half_life_days=365, horizon_days=365, metrics=("freshness",))
    fresh = measure(version, config).summary.freshness
    assert fresh is not None
    assert (fresh.dated, fresh.undated, fresh.stale, fresh.future) == (2, 2, 1, 0)
    assert fresh.score == pytest.approx((0.5 ** (1 / 365) + 0.5 ** (731 / 365)) / 4)
    assert fresh.undated_rate == 0.5 and fresh.stale_rate == 0.25

    no_dates = make_version(sqlite_workspace, [{"id": "e", "text": "x."}], name="nodates")
    fresh = measure(no_dates, config).summary.freshness
    assert fresh is not None
    assert (fresh.undated, fresh.undated_rate, fresh.score, fresh.score_dated) == (1, 1.0, 0.0, None)


def test_ingested_timestamps(sqlite_workspace: Workspace) -> None:
    records = [{"id": str(i), "text": "x.", "created": f"2025-{m:02d}-01T00:00:00Z"} for i, m in enumerate((1, 7))]
    version = make_version(sqlite_workspace, records, collected_at_field="created")
    config = QualityConfig(reference_date=datetime(2025, 7, 1), half_life_days=181, metrics=("freshness",))
    fresh = measure(version, config).summary.freshness
    assert fresh is not None
    assert fresh.reference_date == datetime(2025, 7, 1, tzinfo=UTC)
    assert fresh.score == pytest.approx((0.5 + 1.0) / 2)
