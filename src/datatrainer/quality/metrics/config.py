"""`QualityConfig`: everything that defines a quality measurement, validated up front and hashed.

Measurements are stored per (version, config hash), so the hash must change whenever a setting that changes
a number changes, and only then: set-like settings are sorted and de-duplicated before hashing, and the hash
includes `DEFINITIONS_VERSION`, which is bumped whenever a metric's definition changes in the code, so
numbers computed under an older definition are never compared with new ones.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFINITIONS_VERSION = 1

MetricName = Literal["completeness", "errors", "label_errors", "coherence", "freshness"]
CoherenceComponentName = Literal["label_conflict", "language", "format", "repetition"]
ALL_METRICS: tuple[MetricName, ...] = ("coherence", "completeness", "errors", "freshness", "label_errors")
ALL_COHERENCE: tuple[CoherenceComponentName, ...] = ("format", "label_conflict", "language", "repetition")

# Whole-value patterns (case-insensitive, after trimming) that mean "no real content".
DEFAULT_PLACEHOLDERS: tuple[str, ...] = (
    r"n/?a", r"none", r"null", r"nil", r"nan", r"undefined", r"unknown", r"tbd", r"todo", r"placeholder",
    r"lorem ipsum\b.*", r"-+", r"\?+", r"\.+", r"x{3,}",
)

# Lengths at which text is commonly cut by a tool (field limits, buffer sizes): powers of two from 64 to
# 65,536, each minus one, and round limits.
DEFAULT_TRUNCATION_LENGTHS: tuple[int, ...] = tuple(
    sorted({2**k for k in range(6, 17)} | {2**k - 1 for k in range(6, 17)}
           | {100, 140, 200, 250, 280, 300, 500, 1000, 2000, 5000, 10000})
)

# Gopher (Rae et al. 2021, table A1) repetition limits: a record fails when any signal exceeds its limit.
GOPHER_REPETITION_LIMITS: dict[str, float] = {
    "dup_line_frac": 0.30, "dup_para_frac": 0.30, "dup_line_char_frac": 0.20, "dup_para_char_frac": 0.20,
    "top_2gram_char_frac": 0.20, "top_3gram_char_frac": 0.18, "top_4gram_char_frac": 0.16,
    "dup_5gram_char_frac": 0.15, "dup_6gram_char_frac": 0.14, "dup_7gram_char_frac": 0.13,
    "dup_8gram_char_frac": 0.12, "dup_9gram_char_frac": 0.11, "dup_10gram_char_frac": 0.10,
}


class QualityConfig(BaseModel):
    """How to measure a dataset. Every metric's definition (docs/commands/quality.md, "Definitions") refers to these."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    metrics: tuple[MetricName, ...] = Field(ALL_METRICS, description="which metrics run")
    text_field: str = "text"
    required_fields: tuple[str, ...] = Field(("text",), description="fields that must be present and non-trivial")
    placeholder_patterns: tuple[str, ...] = Field(
        DEFAULT_PLACEHOLDERS, description="RE2 patterns; a whole (trimmed, case-folded) value matching one is "
                                          "a placeholder")
    label_field: str = Field("label", description="label column; label metrics run only where it exists")
    labels: tuple[str, ...] | None = Field(None, description="the valid label set; None: any label is valid")
    expected_language: str | None = Field("en", description="ISO 639-1 code; None: no language check")
    language_min_confidence: float = Field(0.5, ge=0, le=1,
                                           description="a mismatch counts only at this detector confidence")
    language_max_chars: int = Field(200, ge=1, description="characters of each text the language detector reads "
                                                           "(CLD2 is as accurate at 200 as at 1,000, and twice as "
                                                           "fast as at 500)")
    date_field: str = "collected_at"
    reference_date: datetime | None = Field(None, description="ages are measured to this instant; None: now "
                                                              "(the instant used is stored with the result)")
    horizon_days: float = Field(365.0, gt=0)
    half_life_days: float = Field(180.0, gt=0)
    truncation_lengths: tuple[int, ...] = DEFAULT_TRUNCATION_LENGTHS
    coherence_components: tuple[CoherenceComponentName, ...] = ALL_COHERENCE
    near_dup_threshold: float = Field(0.8, gt=0, le=1, description="MinHash Jaccard threshold")
    format_fields: tuple[str, ...] | None = Field(
        None, description="fields whose values should share one format; None: the label, date and source "
                          "fields and the required fields other than text, where they are string columns")
    repetition_limits: dict[str, float] = Field(default_factory=lambda: dict(GOPHER_REPETITION_LIMITS))
    label_sample_size: int | None = Field(50_000, ge=10, description="labelled records checked for label "
                                                                     "errors (seeded sample); None: all")
    embedder: str = Field("lsa", description="'lsa' (TF-IDF + TruncatedSVD) or "
                                             "'sentence-transformers:MODEL' (needs sentence-transformers)")
    embedding_dimensions: int = Field(64, ge=2)
    cv_folds: int = Field(5, ge=2)
    seed: int = 0

    @field_validator("metrics", "required_fields", "placeholder_patterns", "labels", "truncation_lengths",
                     "coherence_components", "format_fields")
    @classmethod
    def _canonical(cls, value: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        """Order and repeats carry no meaning here; sorting keeps the hash stable."""
        return None if value is None else tuple(sorted(set(value)))

    @field_validator("reference_date")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Naive dates are read as UTC, like the stored timestamps."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def runs(self, metric: MetricName) -> bool:
        return metric in self.metrics

    def config_hash(self) -> str:
        """16 hex digits of SHA-256 over the canonical JSON of the settings and the definitions version."""
        payload = {"definitions": DEFINITIONS_VERSION, "config": self.model_dump(mode="json")}
        return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    def resolved_reference(self, now: datetime | None = None) -> datetime:
        return self.reference_date or (now or datetime.now(UTC))
