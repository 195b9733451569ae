"""How well a quality score ranks good text above junk: ROC-AUC on a labelled set, overall and per junk family.

ROC-AUC is the probability that a random good text scores above a random junk text (ties count half), so it
judges a ranking without a threshold, which is all a top-k sampler uses. Per family, the AUC of good texts
against that family's junk alone shows which kind of junk a method misses. Cost is reported beside it: LLM
forward passes and seconds per scored document, since a method's gain is only worth its price.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from datatrainer.evaluation.fixtures.devset import GOOD, LabelledSet

Scores = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Evaluation:
    """One method's AUC on a labelled set and what it costs per scored document."""

    method: str
    auc: float
    per_family: dict[str, float]
    passes_per_doc: float
    seconds_per_doc: float | None = None
    note: str = field(default="")


def auc(labels: Sequence[int] | np.ndarray[Any, Any], scores: Sequence[float] | Scores) -> float:
    """ROC-AUC of scores for labels (1 = good); a score that is NaN or infinite is an error, not a rank."""
    values = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(f"{int((~np.isfinite(values)).sum())} scores are not finite")
    return float(roc_auc_score(np.asarray(labels), values))


def evaluate(method: str, data: LabelledSet, scores: Sequence[float] | Scores, passes_per_doc: float,
             seconds_per_doc: float | None = None, note: str = "") -> Evaluation:
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (len(data),):
        raise ValueError(f"{method}: {len(data)} texts but scores of shape {values.shape}")
    families = np.asarray(data.families)
    good = families == GOOD
    per_family = {family: auc(data.labels[good | (families == family)], values[good | (families == family)])
                  for family in sorted(set(data.families) - {GOOD})}
    return Evaluation(method, auc(data.labels, values), per_family, passes_per_doc, seconds_per_doc, note)


def auc_draws(labels: Sequence[int] | np.ndarray[Any, Any], scores: Sequence[Scores], draws: int = 1000,
              seed: int = 0) -> np.ndarray[Any, np.dtype[np.float64]]:
    """ROC-AUCs of several scorings of the same texts on `draws` bootstrap resamples, (len(scores), draws).

    Good and junk texts are resampled separately (so every draw has both), and every scoring sees the same
    resample, so differences between rows are paired: `np.quantile(draws[0] - draws[1], [0.025, 0.975])` is
    a 95% interval for how much the first beats the second on texts like these."""
    labels_ = np.asarray(labels)
    good, junk = np.flatnonzero(labels_ == 1), np.flatnonzero(labels_ == 0)
    rng = np.random.default_rng(seed)
    out = np.empty((len(scores), draws))
    for draw in range(draws):
        rows = np.concatenate([rng.choice(good, len(good)), rng.choice(junk, len(junk))])
        for i, values in enumerate(scores):
            out[i, draw] = auc(labels_[rows], np.asarray(values, dtype=np.float64)[rows])
    return out


def timed(score: Callable[[list[str]], Scores], texts: list[str]) -> tuple[Scores, float]:
    """Scores of the texts and the wall-clock seconds per text it took."""
    start = time.perf_counter()
    values = score(texts)
    return np.asarray(values, dtype=np.float64), (time.perf_counter() - start) / max(1, len(texts))


def paired_table(rows: Sequence[tuple[Evaluation, Evaluation | None]], parts: tuple[str, str] = ("dev", "pool")
                 ) -> str:
    """The README table with a method's AUC on two parts side by side (rules chosen on the first, the second
    reported as held out); passes, seconds and note are the first part's."""
    header = ["method", f"{parts[0]} ROC-AUC", f"{parts[1]} ROC-AUC", "LLM passes/doc", "s/doc", "note"]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|---|"]
    for first, second in rows:
        seconds = "" if first.seconds_per_doc is None else f"{first.seconds_per_doc:.3f}"
        other = "" if second is None else f"**{second.auc:.3f}**"
        lines.append(f"| {first.method} | **{first.auc:.3f}** | {other} | {first.passes_per_doc:g} | {seconds} | "
                     f"{first.note} |")
    return "\n".join(lines)


def markdown_table(evaluations: Sequence[Evaluation], families: bool = True) -> str:
    """The README table: a row per method; the per-family columns show each family's AUC."""
    names = sorted({family for evaluation in evaluations for family in evaluation.per_family}) if families else []
    header = ["method", "ROC-AUC", "LLM passes/doc", "s/doc", *names, "note"]
    rows = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|"]
    for e in evaluations:
        seconds = "" if e.seconds_per_doc is None else f"{e.seconds_per_doc:.3f}"
        cells = [e.method, f"**{e.auc:.3f}**", f"{e.passes_per_doc:g}", seconds,
                 *(f"{e.per_family[name]:.2f}" if name in e.per_family else "" for name in names), e.note]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
