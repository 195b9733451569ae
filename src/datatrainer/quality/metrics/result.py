"""What a measurement produces: a per-dataset `QualitySummary` (JSON, stored in the catalog) and the
per-record table aligned with the version's ids (`QualityResult.records`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from datatrainer.quality.metrics.coherence import CoherenceSummary
from datatrainer.quality.metrics.completeness import CompletenessSummary
from datatrainer.quality.metrics.config import QualityConfig
from datatrainer.quality.metrics.errors import ErrorSummary
from datatrainer.quality.metrics.freshness import FreshnessSummary
from datatrainer.quality.metrics.label_errors import LabelErrorSummary
from datatrainer.quality.metrics.stats import Histogram, Problem, Quantiles

METRICS_KIND = "quality"


class ProblemCount(BaseModel):
    name: str
    metric: str
    title: str
    records: int


class QualitySummary(BaseModel):
    """The dataset-level numbers of one measurement; a metric that did not run is None."""

    version: str
    dataset: str
    number: int
    records: int
    config: QualityConfig
    config_hash: str
    reference_date: datetime
    measured_at: datetime
    code_version: str
    completeness: CompletenessSummary | None
    errors: ErrorSummary | None
    label_errors: LabelErrorSummary | None
    coherence: CoherenceSummary | None
    freshness: FreshnessSummary | None
    word_counts: Quantiles
    word_count_histogram: Histogram
    problems: list[ProblemCount]
    timings: dict[str, float]

    def headline(self) -> dict[str, float | None]:
        """The five headline numbers, as shown at the top of the report and in the trend."""
        return {
            "completeness_rate": self.completeness.rate if self.completeness else None,
            "error_rate": self.errors.rate if self.errors else None,
            "label_issue_rate": self.label_errors.rate if self.label_errors else None,
            "coherence_index": self.coherence.index if self.coherence else None,
            "freshness_score": self.freshness.score if self.freshness else None,
        }


@dataclass
class QualityResult:
    """A measurement: the summary, the per-record table (row i is the version's record i) and the problems
    whose flags it holds (`reasons` lists, per record, the names of the problems it has)."""

    summary: QualitySummary
    records: pa.Table
    problems: list[Problem]

    def flagged(self, problem: Problem) -> np.ndarray:
        """Row indices of the records with this problem, in stored order."""
        return np.flatnonzero(np.asarray(problem.flags(self.records).to_numpy(zero_copy_only=False)))
