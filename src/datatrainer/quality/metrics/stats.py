"""Small typed building blocks shared by the metric summaries: rates, histograms, quantiles, problems.

Summaries carry the histogram counts themselves (not only plots), so the JSON twin of a report holds
every number the HTML shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel


class Histogram(BaseModel):
    """Counts per bin; `edges` has one more entry than `counts` (NumPy's convention)."""

    edges: list[float]
    counts: list[int]


class Quantiles(BaseModel):
    count: int
    mean: float | None
    min: float | None
    p10: float | None
    p25: float | None
    median: float | None
    p75: float | None
    p90: float | None
    max: float | None


def rate(part: int, whole: int) -> float | None:
    """A share, or None when there is nothing to take a share of (never a misleading 0 or 1)."""
    return part / whole if whole else None


def count_true(values: pa.Array | pa.ChunkedArray) -> int:
    """Number of true values; nulls count as false."""
    return int(pc.sum(pc.fill_null(values, False).cast(pa.int64())).as_py() or 0)


def to_numpy(values: pa.Array | pa.ChunkedArray, fill: float = np.nan) -> np.ndarray:
    """A float64 NumPy copy with nulls replaced by `fill`."""
    return np.asarray(pc.fill_null(pc.cast(values, pa.float64()), fill).to_numpy(zero_copy_only=False))


def histogram(values: np.ndarray, bins: int = 40, upper: float | None = None) -> Histogram:
    """Linear bins from 0 (or the minimum, if negative) to `upper` (default the maximum); NaN left out."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Histogram(edges=[], counts=[])
    low = min(0.0, float(finite.min()))
    high = float(finite.max()) if upper is None else upper
    counts, edges = np.histogram(np.clip(finite, low, high), bins=bins, range=(low, max(high, low + 1e-9)))
    return Histogram(edges=[round(float(e), 6) for e in edges], counts=[int(c) for c in counts])


def quantiles(values: np.ndarray) -> Quantiles:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Quantiles(count=0, mean=None, min=None, p10=None, p25=None, median=None, p75=None, p90=None,
                         max=None)
    q = np.quantile(finite, [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
    return Quantiles(count=int(finite.size), mean=float(finite.mean()), min=float(q[0]), p10=float(q[1]),
                     p25=float(q[2]), median=float(q[3]), p75=float(q[4]), p90=float(q[5]), max=float(q[6]))


@dataclass(frozen=True)
class Problem:
    """One kind of per-record problem: which records have it, how to rank examples, how to explain one.

    Examples are ranked by the `severity` column, highest first (lowest first with `lowest_first`), or kept
    in stored order without one.

    Every metric lists its problems; the orchestrator turns them into each record's `reasons` and the report
    into "worst examples" tables, so a new rule needs no change outside its own module.
    """

    name: str
    metric: str
    title: str
    mask: Callable[[pa.Table], pa.Array | pa.ChunkedArray]
    severity: str | None = None
    lowest_first: bool = False
    explain: Callable[[Mapping[str, Any]], str] | None = None

    def flags(self, records: pa.Table) -> pa.Array | pa.ChunkedArray:
        """The boolean mask of records that have this problem (nulls are false)."""
        return pc.fill_null(self.mask(records), False)

    def describe(self, row: Mapping[str, Any]) -> str:
        return self.explain(row) if self.explain is not None else self.title


def flag(column_name: str) -> Callable[[pa.Table], pa.Array | pa.ChunkedArray]:
    """A `Problem.mask` that reads a boolean column of the records table."""
    return lambda records: records[column_name]
