"""Freshness: how old the records are against a reference date, with undated records counted.

Definition. R is the reference date (config `reference_date`, default the moment of measurement, stored
with the result). A record is dated when its date field (default `collected_at`) holds a timestamp, a date
or an ISO-8601 string; otherwise (absent column, null, unparseable) it is undated. For a dated record,
age = max(0, R - date) in days (fractional); a date after R is counted as `future` and has age 0.
  - stale rate = dated records with age > `horizon_days` / all records;
  - undated rate = undated records / all records;
  - freshness score = (Σ over dated records of 0.5 ** (age / `half_life_days`)) / all records, so an
    undated record weighs 0 and a record collected at R weighs 1; `score_dated` is the same mean over dated
    records only.
The age distribution (quantiles and a histogram in days) covers dated records.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.quality.metrics.columns import column, parse_timestamps
from datatrainer.quality.metrics.config import QualityConfig
from datatrainer.quality.metrics.stats import (
    Histogram,
    Problem,
    Quantiles,
    count_true,
    flag,
    histogram,
    quantiles,
    rate,
    to_numpy,
)

MICROS_PER_DAY = 86_400 * 1_000_000


def ages_in_days(timestamps: pa.Array, reference: datetime) -> np.ndarray:
    """Age in days per value (NaN where null); negative for dates after the reference."""
    micros = pc.cast(timestamps, pa.int64()).to_numpy(zero_copy_only=False)
    ref = int(pa.scalar(reference, pa.timestamp("us", tz="UTC")).cast(pa.int64()).as_py())
    ages = (ref - np.asarray(micros, dtype=np.float64)) / MICROS_PER_DAY
    valid = pc.is_valid(timestamps).to_numpy(zero_copy_only=False)
    return np.where(valid, ages, np.nan)


def record_columns(batch: pa.RecordBatch, config: QualityConfig, reference: datetime) -> dict[str, pa.Array]:
    """`age_days` (null when undated), `freshness_weight`, and the `undated`/`future`/`stale` flags."""
    timestamps, _ = parse_timestamps(column(batch, config.date_field))
    raw = ages_in_days(timestamps, reference)
    dated = np.isfinite(raw)
    ages = np.where(dated, np.maximum(raw, 0.0), np.nan)
    weights = np.where(dated, 0.5 ** (np.nan_to_num(ages) / config.half_life_days), 0.0)
    return {
        "age_days": pa.array(ages, pa.float64(), from_pandas=True),
        "freshness_weight": pa.array(weights, pa.float64()),
        "undated": pa.array(~dated),
        "future": pa.array(dated & (raw < 0)),
        "stale": pa.array(dated & (ages > config.horizon_days)),
    }


class FreshnessSummary(BaseModel):
    reference_date: datetime
    horizon_days: float
    half_life_days: float
    records: int
    dated: int
    undated: int
    future: int
    stale: int
    stale_rate: float | None
    undated_rate: float | None
    score: float | None
    score_dated: float | None
    age_days: Quantiles
    age_histogram: Histogram


def summarize(records: pa.Table, config: QualityConfig, reference: datetime) -> FreshnessSummary:
    n = records.num_rows
    ages = to_numpy(records["age_days"])
    dated = np.isfinite(ages)
    weights = to_numpy(records["freshness_weight"])
    undated, stale = count_true(records["undated"]), count_true(records["stale"])
    return FreshnessSummary(
        reference_date=reference, horizon_days=config.horizon_days, half_life_days=config.half_life_days,
        records=n, dated=int(dated.sum()), undated=undated, future=count_true(records["future"]), stale=stale,
        stale_rate=rate(stale, n), undated_rate=rate(undated, n),
        score=float(weights.sum()) / n if n else None,
        score_dated=float(weights[dated].mean()) if dated.any() else None,
        age_days=quantiles(ages), age_histogram=histogram(ages),
    )


def problems(config: QualityConfig) -> list[Problem]:
    return [
        Problem(name="stale", metric="freshness", title=f"Older than {config.horizon_days:g} days",
                mask=flag("stale"), severity="age_days",
                explain=lambda row: f"{row['age_days']:.0f} days old"),
        Problem(name="undated", metric="freshness", title=f"No usable '{config.date_field}'", mask=flag("undated"),
                explain=lambda row: f"'{config.date_field}' is missing or unparseable"),
    ]
