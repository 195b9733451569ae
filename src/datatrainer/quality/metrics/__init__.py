"""Quality metrics of a dataset version: completeness, error rate, label errors, coherence, freshness.

`measure(version, QualityConfig(...))` computes them per record and per dataset; `measure_and_store` also
records the dataset-level summary in the catalog, which is where the report's trend across versions comes
from. Each metric's precise definition is its module's docstring (and docs/commands/quality.md).
"""

from datatrainer.quality.metrics.config import QualityConfig
from datatrainer.quality.metrics.measure import measure, measure_and_store
from datatrainer.quality.metrics.result import METRICS_KIND, QualityResult, QualitySummary

__all__ = ["METRICS_KIND", "QualityConfig", "QualityResult", "QualitySummary", "measure", "measure_and_store"]
