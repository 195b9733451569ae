"""Measure a dataset version: one streaming pass for everything per record, then the whole-dataset steps.

The pass reads only the columns the configuration needs, batch by batch through the engine (both cores),
and keeps per record only small flags and scores, never the texts; for labelled data it also sketches each
batch for near-duplicate search (MinHash band and shingle hashes). Steps that need the whole dataset work on
those results (format consistency, near-duplicate clusters with conflicting labels) or re-read what they
need: a sample of texts for label errors, and the texts of the worst examples for the report.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.engine.base import Engine
from datatrainer.engine.local import LocalEngine
from datatrainer.quality.dedup import NearDuplicateFinder
from datatrainer.quality.metrics import coherence, completeness, errors, freshness, label_errors
from datatrainer.quality.metrics.columns import as_strings, column, is_blank, take_rows, text_column
from datatrainer.quality.metrics.config import CoherenceComponentName, QualityConfig
from datatrainer.quality.metrics.result import METRICS_KIND, ProblemCount, QualityResult, QualitySummary
from datatrainer.quality.metrics.stats import Problem, histogram, quantiles, to_numpy
from datatrainer.quality.metrics.words import word_counts
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import CODE_VERSION, Workspace


class Timings(dict[str, float]):
    """Seconds per stage, reported with the summary (and printed by the benchmark)."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - started


def _needed_columns(version: DatasetVersion, config: QualityConfig, fields: list[str]) -> list[str]:
    wanted = ["id", config.text_field, config.label_field, config.date_field, *config.required_fields, *fields]
    return [name for name in dict.fromkeys(wanted) if name in version.schema.names]


def _batch_columns(batch: pa.RecordBatch, config: QualityConfig, reference: datetime,
                   violations: dict[str, str]) -> pa.Table:
    """Everything computed per record from one batch (see the metric modules for the definitions)."""
    texts = text_column(batch, config.text_field)
    labels = pa.nulls(batch.num_rows, pa.string()) if config.label_field in violations \
        else as_strings(column(batch, config.label_field))
    columns: dict[str, pa.Array] = {"id": column(batch, "id"), "label": labels, "text_blank": is_blank(texts),
                                    "word_count": pa.array(word_counts(texts), pa.int32())}
    if config.runs("completeness"):
        columns |= completeness.record_columns(batch, config)
    if config.runs("errors"):
        columns |= errors.record_columns(batch, config, reference, violations)
    if config.runs("freshness"):
        columns |= freshness.record_columns(batch, config, reference)
    if config.runs("coherence"):
        columns |= coherence.record_columns(batch, config)
    return pa.table(columns)


def _reasons(records: pa.Table, problems: list[Problem]) -> tuple[pa.Array, list[int]]:
    """Each record's problem names as a list column, and the number of records per problem.

    Built from a boolean matrix (records x problems) without a loop over rows: its true cells, in row-major
    order, are exactly the list values, and the row sums are the list lengths.
    """
    if not problems:
        return pa.array([[]] * records.num_rows, pa.list_(pa.string())), []
    matrix = np.column_stack([np.asarray(p.flags(records).to_numpy(zero_copy_only=False), dtype=bool)
                              for p in problems]) if records.num_rows else np.zeros((0, len(problems)), bool)
    _, columns = np.nonzero(matrix)
    offsets = np.concatenate([[0], np.cumsum(matrix.sum(axis=1))]).astype(np.int32)
    names = pa.array([p.name for p in problems], pa.string()).take(pa.array(columns, pa.int64()))
    return pa.ListArray.from_arrays(pa.array(offsets), names), [int(c) for c in matrix.sum(axis=0)]


@dataclass
class _Run:
    """One measurement in progress: what every step needs, and the per-record table as it grows."""

    version: DatasetVersion
    config: QualityConfig
    measured_at: datetime
    timings: Timings = field(default_factory=Timings)
    records: pa.Table = field(init=False)

    def __post_init__(self) -> None:
        self.reference = self.config.resolved_reference(self.measured_at)
        self.violations = errors.schema_violations(self.version.schema, self.config)
        self.fields = coherence.format_fields(self.config, self.version.schema)
        self.names = _needed_columns(self.version, self.config, self.fields)
        self.skipped: dict[CoherenceComponentName, str] = {}
        self.no_labels = f"no labels (field '{self.config.label_field}' is absent, empty or of a wrong type)"

    def add(self, columns: Mapping[str, pa.Array | pa.ChunkedArray]) -> None:
        for name, values in columns.items():
            self.records = self.records.append_column(name, values)

    @property
    def labelled(self) -> bool:
        return bool(self.records["label"].null_count < self.records.num_rows)

    def wants_conflicts(self) -> bool:
        config = self.config
        return config.runs("coherence") and "label_conflict" in config.coherence_components \
            and config.label_field in self.names and config.label_field not in self.violations

    def stream(self, engine: Engine, finder: NearDuplicateFinder | None) -> None:
        """The one pass over the stored batches: per-record columns, and near-duplicate sketches."""
        per_batch = partial(_batch_columns, config=self.config, reference=self.reference,
                            violations=self.violations)

        def sketched(batch: pa.RecordBatch) -> tuple[pa.Table, Any]:
            texts = text_column(batch, self.config.text_field)
            return per_batch(batch), finder.sketch(texts) if finder is not None else None

        with self.timings.stage("records"):
            parts = []
            for part, sketch in engine.map_batches(sketched, self.version, self.names,
                                                   description="quality metrics"):
                parts.append(part)
                if finder is not None:
                    finder.add(sketch)
            empty = pa.RecordBatch.from_pylist([], schema=pa.schema([self.version.schema.field(n)
                                                                     for n in self.names]))
            self.records = pa.concat_tables(parts or [per_batch(empty)])

    def whole_dataset_coherence(self, finder: NearDuplicateFinder | None) -> None:
        """Format consistency needs every value's shape; label conflicts need every sketch."""
        components = self.config.coherence_components
        if "format" in components:
            self.add(coherence.format_columns(self.records, self.fields))
        if "language" in components and self.config.expected_language is None:
            self.skipped["language"] = "no expected language configured"
        if "label_conflict" in components and (finder is None or not self.labelled):
            self.skipped["label_conflict"] = self.no_labels
        elif finder is not None:
            with self.timings.stage("near_duplicates"):
                clusters = finder.finish().labels
                self.add(coherence.conflicts_in_clusters(clusters, self.records["label"]))

    def check_labels(self) -> label_errors.LabelErrorSummary:
        if not self.labelled:
            return label_errors.summarize(None, np.array([]), 0, False, self.config, self.no_labels)
        with self.timings.stage("label_errors"):
            usable = pc.and_(pc.is_valid(self.records["label"]), pc.invert(self.records["text_blank"]))
            if "error_invalid_label" in self.records.column_names:
                usable = pc.and_(usable, pc.invert(self.records["error_invalid_label"]))
            text_field = self.config.text_field

            def fetch(rows: np.ndarray) -> list[str]:
                texts = take_rows(self.version, [text_field], rows)[text_field]
                return [text or "" for text in texts.to_pylist()]

            columns, summary = label_errors.run(self.records["label"], to_numpy(usable, 0).astype(bool), fetch,
                                                self.config)
            self.add(columns)
            return summary

    def result(self, label_summary: label_errors.LabelErrorSummary | None) -> QualityResult:
        config, records = self.config, self.records
        problems = _problems(config, self.violations, self.fields, self.skipped, label_summary)
        with self.timings.stage("summaries"):
            reasons, counts = _reasons(records, problems)
            records = records.append_column("reasons", reasons)
            words = to_numpy(records["word_count"])
            summary = QualitySummary(
                version=self.version.ref, dataset=self.version.info.dataset, number=self.version.info.number,
                records=records.num_rows, config=config, config_hash=config.config_hash(),
                reference_date=self.reference, measured_at=self.measured_at, code_version=CODE_VERSION,
                completeness=completeness.summarize(records, config) if config.runs("completeness") else None,
                errors=errors.summarize(records, self.violations) if config.runs("errors") else None,
                label_errors=label_summary,
                coherence=coherence.summarize(records, config, self.fields, self.skipped)
                if config.runs("coherence") else None,
                freshness=freshness.summarize(records, config, self.reference) if config.runs("freshness") else None,
                word_counts=quantiles(words), word_count_histogram=histogram(words),
                problems=[ProblemCount(name=p.name, metric=p.metric, title=p.title, records=c)
                          for p, c in zip(problems, counts, strict=True)],
                timings={},
            )
        summary.timings.update(self.timings)
        return QualityResult(summary=summary, records=records, problems=problems)


def measure(version: DatasetVersion, config: QualityConfig | None = None, engine: Engine | None = None,
            now: datetime | None = None, spill_folder: Path | None = None) -> QualityResult:
    """Compute every configured metric for one version (nothing is stored; see `measure_and_store`).

    `spill_folder` takes near-duplicate sketches that outgrow memory (default: they stay in memory).
    """
    run = _Run(version, config or QualityConfig(), now or datetime.now(UTC))
    finder = coherence.near_duplicate_finder(run.config, spill_folder) if run.wants_conflicts() else None
    try:
        run.stream(engine or LocalEngine(), finder)
        if run.config.runs("coherence"):
            run.whole_dataset_coherence(finder)
    finally:
        if finder is not None:
            finder.close()
    return run.result(run.check_labels() if run.config.runs("label_errors") else None)


def _problems(config: QualityConfig, violations: dict[str, str], fields: list[str],
              skipped: dict[CoherenceComponentName, str],
              label_summary: label_errors.LabelErrorSummary | None) -> list[Problem]:
    """The problems whose flags this measurement computed, in report order."""
    found: list[Problem] = []
    if config.runs("completeness"):
        found += completeness.problems(config)
    if config.runs("errors"):
        found += errors.problems(config, violations)
    if label_summary is not None and label_summary.status == "ok":
        found += label_errors.problems()
    if config.runs("coherence"):
        by_component = coherence.problems(config, fields)
        found += [by_component[c] for c in config.coherence_components if c not in skipped]
    if config.runs("freshness"):
        found += freshness.problems(config)
    return found


def measure_and_store(workspace: Workspace, version: DatasetVersion, config: QualityConfig | None = None,
                      engine: Engine | None = None) -> QualityResult:
    """Measure and record the summary in the catalog under (version, "quality", config hash), replacing an
    earlier measurement with the same settings, so reports can show the trend across versions."""
    result = measure(version, config, engine, spill_folder=workspace.root / "tmp")
    workspace.catalog.save_metrics(version.info, METRICS_KIND, result.summary.config_hash,
                                   result.summary.model_dump(mode="json"))
    return result
