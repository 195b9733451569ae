"""Coherence index: how consistent a dataset is with itself, as 1 minus the mean of four problem rates.

Components (each a rate of records with the problem among the records it applies to):
  - `label_conflict` (needs the label field): texts are grouped into near-duplicate clusters by MinHash
    (`datatrainer.quality.dedup.near_duplicate_clusters`, Jaccard threshold `near_dup_threshold` on
    normalised word 3-grams); a labelled record conflicts when its cluster holds another labelled record
    with a different label. Applies to labelled records.
  - `language` (needs `expected_language`): the language detected (`datatrainer.quality.langid`, CLD2) in
    the first `language_max_chars` characters differs from the expected one with detector confidence >=
    `language_min_confidence`. Applies to records with
    non-blank text.
  - `format`: each value of a format field (config `format_fields`; default the label, date and `source`
    fields where they are string columns) is reduced to its shape: runs of upper-case letters become `A`,
    of lower-case letters `a`, of other letters `L`, of digits `9`, of whitespace one space, the rest kept,
    cut to 40 characters (`2024-01-05` -> `9-9-9`, `Positive` -> `Aa`). A field's dominant shape is its
    most common one when it covers at least half the field's non-null values (a free-text field has none).
    A record is inconsistent when any of its values has a shape other than its field's dominant shape.
    Applies to records with at least one non-null format value.
  - `repetition`: the Gopher repetition rules (Rae et al. 2021): the record fails when any signal from
    `datatrainer.quality.signals.repetition_signals` exceeds its limit in `repetition_limits` (duplicate
    line/paragraph fractions, top 2-4-gram and duplicate 5-10-gram character fractions).
    `repetition_score` is the largest signal/limit ratio (> 1 fails). Applies to records with non-blank text.
coherence index = 1 - mean(rate of each component that ran and applied to at least one record); None when
no component did. The components and their rates are always shown next to the index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.quality.dedup import MinHashSettings, NearDuplicateFinder
from datatrainer.quality.langid import detect_language
from datatrainer.quality.metrics.columns import column, is_blank, is_stringlike, text_column
from datatrainer.quality.metrics.config import CoherenceComponentName, QualityConfig
from datatrainer.quality.metrics.stats import Histogram, Problem, count_true, flag, histogram, rate, to_numpy
from datatrainer.quality.signals import repetition_signals

MIN_DOMINANCE = 0.5
SHAPE_CHARS = 40
_SHAPES = ((r"\p{Lu}+", "A"), (r"\p{Ll}+", "a"), (r"[\p{Lt}\p{Lm}\p{Lo}]+", "L"), (r"\pN+", "9"), (r"\s+", " "))
REPETITION_PREFIX = "rep_"


def shape_column(field: str) -> str:
    return f"shape_{field}"


def format_mismatch_column(field: str) -> str:
    return f"format_mismatch_{field}"


def format_fields(config: QualityConfig, schema: pa.Schema) -> list[str]:
    """The fields checked for format consistency that exist as string columns."""
    wanted = config.format_fields if config.format_fields is not None else \
        (config.label_field, config.date_field, "source")
    return sorted({f for f in wanted if f in schema.names and is_stringlike(schema.field(f).type)})


def shapes(values: pa.Array) -> pa.Array:
    """The shape of each value (see the module docstring); null stays null."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    shaped = pc.utf8_trim_whitespace(values)
    for pattern, replacement in _SHAPES:
        shaped = pc.replace_substring_regex(shaped, pattern, replacement)
    return pc.utf8_slice_codeunits(shaped, 0, SHAPE_CHARS)


def language_columns(texts: pa.Array, config: QualityConfig) -> dict[str, pa.Array]:
    codes, confidence = detect_language(texts, max_chars=config.language_max_chars)
    confident = pa.array(np.asarray(confidence, dtype=np.float64) >= config.language_min_confidence)
    mismatch = pc.and_(pc.and_(pc.invert(is_blank(texts)), confident),
                       pc.fill_null(pc.not_equal(codes, pa.scalar(config.expected_language)), True))
    return {"language": pc.cast(codes, pa.string()),
            "language_confidence": pa.array(np.asarray(confidence, dtype=np.float32)),
            "language_mismatch": mismatch}


def repetition_columns(texts: pa.Array, config: QualityConfig) -> dict[str, pa.Array]:
    signals = repetition_signals(texts)
    limits = {name: limit for name, limit in config.repetition_limits.items() if name in signals.column_names}
    columns = {REPETITION_PREFIX + name: pc.cast(signals[name], pa.float32()).combine_chunks() for name in limits}
    score = np.zeros(len(texts))
    for name, limit in limits.items():
        score = np.maximum(score, to_numpy(signals[name], 0.0) / limit)
    score = np.where(is_blank(texts).to_numpy(zero_copy_only=False), 0.0, score)
    return columns | {"repetition_score": pa.array(score, pa.float32()), "repetitive": pa.array(score > 1.0)}


def record_columns(batch: pa.RecordBatch, config: QualityConfig) -> dict[str, pa.Array]:
    """The per-batch part: language, repetition signals and value shapes (format needs the whole dataset)."""
    texts = text_column(batch, config.text_field)
    columns: dict[str, pa.Array] = {}
    if "language" in config.coherence_components and config.expected_language is not None:
        columns |= language_columns(texts, config)
    if "repetition" in config.coherence_components:
        columns |= repetition_columns(texts, config)
    if "format" in config.coherence_components:
        columns |= {shape_column(f): shapes(column(batch, f)) for f in format_fields(config, batch.schema)}
    return columns


def dominant_shapes(records: pa.Table, fields: list[str]) -> dict[str, str | None]:
    """Each field's most common shape if it covers at least half of the field's non-null values."""
    dominant: dict[str, str | None] = {}
    for field in fields:
        counts = pc.value_counts(records[shape_column(field)].drop_null()).to_pylist()
        top = max(counts, key=lambda item: item["counts"], default=None)
        total = sum(item["counts"] for item in counts)
        dominant[field] = top["values"] if top is not None and top["counts"] >= MIN_DOMINANCE * total else None
    return dominant


def format_columns(records: pa.Table, fields: list[str]) -> dict[str, pa.Array | pa.ChunkedArray]:
    """`format_mismatch_<field>` per field and `format_inconsistent` for any."""
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for field, shape in dominant_shapes(records, fields).items():
        values = records[shape_column(field)]
        mismatch = pa.array(np.zeros(len(values), dtype=bool)) if shape is None \
            else pc.fill_null(pc.not_equal(values, shape), False)
        columns[format_mismatch_column(field)] = mismatch
    inconsistent: pa.Array | pa.ChunkedArray = pa.array(np.zeros(records.num_rows, dtype=bool))
    for mismatch in columns.values():
        inconsistent = pc.or_(inconsistent, mismatch)
    return columns | {"format_inconsistent": inconsistent}


def near_duplicate_finder(config: QualityConfig, spill_folder: Path | None) -> NearDuplicateFinder:
    """The streaming form of `near_duplicate_clusters`: each batch is sketched where it is read (in the
    engine's threads), so the texts are read once and never held all at once; sketches beyond a memory
    budget spill to `spill_folder`."""
    return NearDuplicateFinder(MinHashSettings(threshold=config.near_dup_threshold), spill_folder)


def conflicts_in_clusters(clusters: np.ndarray, labels: pa.Array | pa.ChunkedArray) -> dict[str, pa.Array]:
    """`near_dup_cluster`, and per labelled record how many of its near-duplicates carry another label.

    Vectorised with sorting: the number of labelled records per (cluster, label) pair and per cluster give,
    for every record, cluster labelled count - same-label count = near-duplicates labelled differently.
    """
    encoded = pc.dictionary_encode(labels).combine_chunks() if isinstance(labels, pa.ChunkedArray) \
        else pc.dictionary_encode(labels)
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    labelled = codes >= 0
    _, cluster_index = np.unique(clusters, return_inverse=True)
    pair = cluster_index * (int(codes.max(initial=0)) + 1) + codes
    per_cluster = np.bincount(cluster_index[labelled], minlength=cluster_index.max(initial=-1) + 1)
    _, pair_index, pair_counts = np.unique(pair[labelled], return_inverse=True, return_counts=True)
    others = np.zeros(len(codes), dtype=np.int64)
    others[labelled] = per_cluster[cluster_index[labelled]] - pair_counts[pair_index]
    return {"near_dup_cluster": pa.array(clusters, pa.int64()),
            "label_conflict_others": pa.array(others, pa.int32()),
            "label_conflict": pa.array(others > 0)}


class CoherenceComponent(BaseModel):
    name: CoherenceComponentName
    status: Literal["ok", "skipped"]
    reason: str | None = None
    applicable: int = 0
    problems: int = 0
    rate: float | None = None


class CoherenceSummary(BaseModel):
    index: float | None
    components: list[CoherenceComponent]
    language_mix: dict[str, int]
    dominant_formats: dict[str, str | None]
    format_shapes: dict[str, dict[str, int]]
    repetition: dict[str, Histogram]


def _component(name: CoherenceComponentName, records: pa.Table, problem: str,
               applicable: pa.Array | pa.ChunkedArray) -> CoherenceComponent:
    considered = count_true(applicable)
    problems = count_true(pc.and_(applicable, records[problem]))
    return CoherenceComponent(name=name, status="ok", applicable=considered, problems=problems,
                              rate=rate(problems, considered))


def summarize(records: pa.Table, config: QualityConfig, fields: list[str],
              skipped: Mapping[CoherenceComponentName, str]) -> CoherenceSummary:
    """`skipped` gives the reason for each component that did not run."""
    nonblank = pc.invert(records["text_blank"])
    applies: dict[CoherenceComponentName, Callable[[], CoherenceComponent]] = {
        "label_conflict": lambda: _component("label_conflict", records, "label_conflict",
                                             pc.is_valid(records["label"])),
        "language": lambda: _component("language", records, "language_mismatch", nonblank),
        "format": lambda: _component("format", records, "format_inconsistent", _any_valid(records, fields)),
        "repetition": lambda: _component("repetition", records, "repetitive", nonblank),
    }
    components = [CoherenceComponent(name=name, status="skipped", reason=skipped[name]) if name in skipped
                  else applies[name]() for name in config.coherence_components]
    rates = [c.rate for c in components if c.rate is not None]
    format_ran = "format" in config.coherence_components and "format" not in skipped
    return CoherenceSummary(
        index=1.0 - float(np.mean(rates)) if rates else None,
        components=components,
        language_mix=_top_counts(records, "language", 15),
        dominant_formats=dominant_shapes(records, fields) if format_ran else {},
        format_shapes={f: _top_counts(records, shape_column(f), 8) for f in fields} if format_ran else {},
        repetition={name.removeprefix(REPETITION_PREFIX): histogram(to_numpy(records[name]), bins=20, upper=1.0)
                    for name in records.column_names if name.startswith(REPETITION_PREFIX)},
    )


def _any_valid(records: pa.Table, fields: list[str]) -> pa.Array | pa.ChunkedArray:
    present: pa.Array | pa.ChunkedArray = pa.array(np.zeros(records.num_rows, dtype=bool))
    for field in fields:
        present = pc.or_(present, pc.is_valid(records[shape_column(field)]))
    return present


def _top_counts(records: pa.Table, name: str, limit: int) -> dict[str, int]:
    """The `limit` most common values with their counts, the rest summed as "(other)"."""
    if name not in records.column_names:
        return {}
    counts = sorted(pc.value_counts(records[name].drop_null()).to_pylist(), key=lambda c: -c["counts"])
    top = {str(c["values"]): int(c["counts"]) for c in counts[:limit]}
    rest = sum(int(c["counts"]) for c in counts[limit:])
    return top | ({"(other)": rest} if rest else {})


def problems(config: QualityConfig, fields: list[str]) -> dict[CoherenceComponentName, Problem]:
    """The problem behind each component, keyed by component (only those that ran have flag columns)."""
    def explain_conflict(row: Mapping[str, Any]) -> str:
        return (f"labelled {row['label']!r}; {row['label_conflict_others']} near-duplicate(s) in cluster "
                f"{row['near_dup_cluster']} carry another label")

    def explain_language(row: Mapping[str, Any]) -> str:
        return (f"detected {row['language']!r} (confidence {row['language_confidence']:.2f}), "
                f"expected {config.expected_language!r}")

    def explain_format(row: Mapping[str, Any]) -> str:
        off = [f"'{f}' has shape {row[shape_column(f)]!r}" for f in fields if row.get(format_mismatch_column(f))]
        return "; ".join(off) + " unlike most values"

    def explain_repetition(row: Mapping[str, Any]) -> str:
        worst = max(((name, row[REPETITION_PREFIX + name] / limit) for name, limit in config.repetition_limits.items()
                     if row.get(REPETITION_PREFIX + name) is not None), key=lambda item: item[1])
        return f"{worst[0]} = {row[REPETITION_PREFIX + worst[0]]:.2f} (limit {config.repetition_limits[worst[0]]:g})"

    return {
        "label_conflict": Problem("label_conflict", "coherence", "Near-duplicates with conflicting labels",
                                  flag("label_conflict"), severity="label_conflict_others",
                                  explain=explain_conflict),
        "language": Problem("language_mismatch", "coherence", "Language other than expected",
                            flag("language_mismatch"), severity="language_confidence", explain=explain_language),
        "format": Problem("format_inconsistent", "coherence", "Field in a minority format",
                          flag("format_inconsistent"), explain=explain_format),
        "repetition": Problem("repetition", "coherence", "Internal repetition (Gopher rules)", flag("repetitive"),
                              severity="repetition_score", explain=explain_repetition),
    }
