"""The rules of the `quality-filter` operation: which records fail the Gopher, C4 or language checks, and why.

Each rule is a list of checks of one signal against one threshold (`CHECKS`); a parameter named
`min_<signal>` / `max_<signal>` holds each threshold, defaulting to the published value, and `None` turns a
check off. A record is dropped when any check of a selected rule fails. Its `reason` is the first failing
check with the record's value ("gopher-quality: word_count 12 < 50", "lang: bg != en (0.98)"), and `reasons`
lists every failing check without values, so that they can be counted (`dropped_by_reason` counts first
failures, `failed_by_check` every failure). Checks run in the order of the rules as given, then of `CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.quality.langid import DEFAULT_MAX_CHARS, detect_language
from datatrainer.quality.repetition import DUP_NGRAMS, TOP_NGRAMS
from datatrainer.quality.signals import heuristic_signals, quality_signals, repetition_signals

Rule = Literal["gopher-quality", "gopher-repetition", "c4", "lang"]
RULES: tuple[Rule, ...] = ("gopher-quality", "gopher-repetition", "c4", "lang")


@dataclass(frozen=True)
class Check:
    """A signal compared with a threshold parameter (`min_<signal>` or `max_<signal>`), or a flag that fails."""

    rule: Rule
    signal: str
    bound: Literal["min", "max", "flag"]
    label: str = ""  # for flags: what the flag means

    @property
    def op(self) -> str:
        """How a failing value compares with the threshold."""
        return "<" if self.bound == "min" else ">"

    def threshold(self, params: QualityFilterParams) -> float | None:
        return None if self.bound == "flag" else getattr(params, f"{self.bound}_{self.signal}")

    def key(self, params: QualityFilterParams) -> str:
        """The check without a record's value, e.g. "gopher-quality: word_count < 50"."""
        if self.bound == "flag":
            return f"{self.rule}: {self.label}"
        return f"{self.rule}: {self.signal} {self.op} {self.threshold(params)}"


def _checks(rule: Rule, bound: Literal["min", "max"], *signals: str) -> tuple[Check, ...]:
    return tuple(Check(rule, signal, bound) for signal in signals)


CHECKS: tuple[Check, ...] = (
    *_checks("gopher-quality", "min", "word_count"), *_checks("gopher-quality", "max", "word_count"),
    *_checks("gopher-quality", "min", "mean_word_length"), *_checks("gopher-quality", "max", "mean_word_length"),
    *_checks("gopher-quality", "max", "symbol_word_ratio", "bullet_line_frac", "ellipsis_line_frac"),
    *_checks("gopher-quality", "min", "alpha_word_frac", "stop_word_count"),
    *_checks("gopher-repetition", "max", "dup_para_frac", "dup_para_char_frac", "dup_line_frac",
             "dup_line_char_frac", *(f"top_{n}gram_char_frac" for n in TOP_NGRAMS),
             *(f"dup_{n}gram_char_frac" for n in DUP_NGRAMS)),
    Check("c4", "has_lorem_ipsum", "flag", "lorem ipsum"),
    Check("c4", "has_curly_brace", "flag", "curly bracket"),
    *_checks("c4", "min", "c4_sentence_count"),
)


class QualityFilterParams(BaseModel):
    """Rules to apply and their thresholds (defaults: Gopher, Rae et al. 2021; C4, Raffel et al. 2020)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=lambda: list(RULES), min_length=1)
    lang: str = Field("en", pattern=r"^[a-z]{2,3}$", description="expected language (ISO 639-1)")
    min_lang_score: float = Field(0.65, ge=0, le=1, description="share of the text in the expected language")
    lang_max_chars: int = Field(DEFAULT_MAX_CHARS, ge=1, description="characters read for language id")
    min_word_count: int | None = 50
    max_word_count: int | None = 100_000
    min_mean_word_length: float | None = 3.0
    max_mean_word_length: float | None = 10.0
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_line_frac: float | None = 0.9
    max_ellipsis_line_frac: float | None = 0.3
    min_alpha_word_frac: float | None = 0.8
    min_stop_word_count: int | None = 2
    max_dup_line_frac: float | None = 0.30
    max_dup_line_char_frac: float | None = 0.20
    max_dup_para_frac: float | None = 0.30
    max_dup_para_char_frac: float | None = 0.20
    max_top_2gram_char_frac: float | None = 0.20
    max_top_3gram_char_frac: float | None = 0.18
    max_top_4gram_char_frac: float | None = 0.16
    max_dup_5gram_char_frac: float | None = 0.15
    max_dup_6gram_char_frac: float | None = 0.14
    max_dup_7gram_char_frac: float | None = 0.13
    max_dup_8gram_char_frac: float | None = 0.12
    max_dup_9gram_char_frac: float | None = 0.11
    max_dup_10gram_char_frac: float | None = 0.10
    min_c4_sentence_count: int | None = 3


Describe = Callable[[npt.NDArray[np.int64]], pa.Array]


@dataclass(frozen=True)
class _Failures:
    """Which checks each record fails (records x checks), each check's key, and how to word its failures."""

    keys: list[str]
    failed: npt.NDArray[np.bool_]
    describe: list[Describe]  # per check: the reasons, with the values, of the given records

    @staticmethod
    def concat(parts: list[_Failures], rows: int) -> _Failures:
        return _Failures([key for part in parts for key in part.keys],
                         np.column_stack([np.zeros((rows, 0), np.bool_), *(part.failed for part in parts)]),
                         [describe for part in parts for describe in part.describe])


def _format(values: npt.NDArray[Any]) -> pa.Array:
    return pc.cast(pc.round(pa.array(values, pa.float64()), 3), pa.string())


def _constant(reason: str) -> Describe:
    return lambda rows: pa.repeat(pa.scalar(reason), len(rows))


def _compared(prefix: str, values: npt.NDArray[Any], suffix: str) -> Describe:
    """Reasons like "gopher-quality: word_count 12 < 50": prefix, the record's value, suffix."""
    return lambda rows: pc.binary_join_element_wise(prefix, _format(values[rows]), suffix, "")


def _active(rule: Rule, params: QualityFilterParams) -> list[Check]:
    return [check for check in CHECKS
            if check.rule == rule and (check.bound == "flag" or check.threshold(params) is not None)]


def _signals(texts: pa.Array, rules: list[Rule]) -> pa.Table:
    """The signal columns the rules need, splitting the texts once."""
    repetition = "gopher-repetition" in rules
    quality = "gopher-quality" in rules or "c4" in rules
    if repetition and quality:
        return heuristic_signals(texts)
    if repetition:
        return repetition_signals(texts)
    return quality_signals(texts) if quality else pa.table({})


def _check_failures(rule: Rule, signals: pa.Table, params: QualityFilterParams) -> _Failures:
    failed: list[npt.NDArray[np.bool_]] = []
    describe: list[Describe] = []
    checks = _active(rule, params)
    for check in checks:
        values = signals[check.signal].to_numpy()
        if check.bound == "flag":
            failed.append(values.astype(np.bool_))
            describe.append(_constant(check.key(params)))
            continue
        threshold = check.threshold(params)
        failed.append(values < threshold if check.bound == "min" else values > threshold)
        describe.append(_compared(f"{check.rule}: {check.signal} ", values, f" {check.op} {threshold}"))
    return _Failures([check.key(params) for check in checks],
                     np.column_stack(failed) if failed else np.zeros((len(signals), 0), np.bool_), describe)


def _language_failures(texts: pa.Array, params: QualityFilterParams) -> _Failures:
    codes, confidence = detect_language(texts, params.lang_max_chars)
    other = pc.fill_null(pc.not_equal(codes, params.lang), True).to_numpy(zero_copy_only=False)
    code = pc.fill_null(codes, "unknown")

    def mismatch(rows: npt.NDArray[np.int64]) -> pa.Array:
        return pc.binary_join_element_wise("lang: ", code.take(pa.array(rows)), f" != {params.lang} (",
                                           _format(confidence[rows]), ")", "")

    def low_score(rows: npt.NDArray[np.int64]) -> pa.Array:
        return pc.binary_join_element_wise(f"lang: {params.lang} score ", _format(confidence[rows]),
                                           f" < {params.min_lang_score}", "")

    return _Failures([f"lang: language != {params.lang}", f"lang: score < {params.min_lang_score}"],
                     np.column_stack([other, confidence < params.min_lang_score]), [mismatch, low_score])


def evaluate(texts: pa.Array, params: QualityFilterParams) -> _Failures:
    """Every selected check on every text, in the order of `params.rules`, then of `CHECKS`."""
    rules = list(dict.fromkeys(params.rules))
    signals = _signals(texts, rules)
    return _Failures.concat([_language_failures(texts, params) if rule == "lang"
                             else _check_failures(rule, signals, params) for rule in rules], len(texts))


def _dropped(ids: pa.Array, failures: _Failures, rows: npt.NDArray[np.int64]) -> pa.Table:
    """The dropped rows' ids, first reason (with the value) and all failing checks."""
    failed = failures.failed[rows]
    first = np.argmax(failed, axis=1)
    reason_parts, positions = [], []
    for check in np.unique(first):
        where = np.flatnonzero(first == check)
        reason_parts.append(failures.describe[check](rows[where]))
        positions.append(where)
    order = np.argsort(np.concatenate(positions)) if positions else np.zeros(0, np.int64)
    reason = pa.concat_arrays(reason_parts).take(pa.array(order)) if reason_parts else pa.array([], pa.string())
    record, check = np.nonzero(failed)
    offsets = np.zeros(len(rows) + 1, np.int32)
    np.cumsum(np.bincount(record, minlength=len(rows)), out=offsets[1:])
    reasons = pa.ListArray.from_arrays(pa.array(offsets), pa.array(failures.keys, pa.string()).take(pa.array(check)))
    return pa.table({"id": ids.take(pa.array(rows)), "reason": reason, "reasons": reasons})


def filter_batch(batch: pa.RecordBatch, params: QualityFilterParams) -> tuple[pa.Table, pa.Table]:
    """(kept rows, dropped rows): the dropped rows' `id`, first failing check with its value (`reason`) and
    every failing check (`reasons`)."""
    failures = evaluate(batch.column("text"), params)
    bad = failures.failed.any(axis=1)
    kept = pa.Table.from_batches([batch.filter(pa.array(~bad))], schema=batch.schema)
    return kept, _dropped(batch.column("id"), failures, np.flatnonzero(bad))


def failure_counts(dropped: pa.Table) -> dict[str, Any]:
    """Dropped records per first failing check, and failures per check (a record can fail several)."""
    if dropped.num_rows == 0:
        return {"dropped": 0}
    first = pc.value_counts(pc.list_element(dropped["reasons"], 0)).to_pylist()
    every = pc.value_counts(pc.list_flatten(dropped["reasons"])).to_pylist()
    return {"dropped": dropped.num_rows,
            "dropped_by_reason": {item["values"]: item["counts"] for item in first},
            "failed_by_check": {item["values"]: item["counts"] for item in every}}
