"""Leave-one-family-out evaluation with confidence intervals bootstrapped over source documents.

The test unit is a PAIR of held-out families: one good family g and one junk family j. A scorer that learns
(from labels, or a choice among variants) is fitted on every other family and then scores g and j, so it has
never seen either kind of text; the pair's ROC-AUC says how well it puts g above j. A scorer that learns
nothing scores every text the same way in every fold. The headline number is the mean AUC over all
(g, j) pairs, each family weighing the same whatever its size; per junk family, the mean over good families
says which kind of junk a scorer misses (and per good family, which genre it wrongly rejects).

Confidence intervals resample SOURCE documents (the files or articles windows were cut from) within each
family, with replacement, 1,000 times, and recompute every pair AUC from the same fold scores: windows of one
file are not independent evidence. The same draws serve every scorer, so a difference between two scorers
has its own paired interval.

The AUC of weighted rows is computed from a comparison matrix per pair (1 if the good text scores higher,
0.5 on a tie): for bootstrap weights w, AUC = w_g' C w_j / (sum w_g * sum w_j), for all draws at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.quality_scoring.labelled import Example

Array = np.ndarray[Any, Any]
# fit on rows `train` (labels known), return scores for rows `test`
FitPredict = Callable[[Array, Array], Array]


@dataclass(frozen=True)
class Folds:
    """The examples' families and sources as arrays, and every (good family, junk family) pair."""

    labels: Array
    families: Array
    sources: Array
    good: tuple[str, ...]
    junk: tuple[str, ...]
    scored: Array  # rows that are evaluated; the others (a development build's) only ever train

    @classmethod
    def of(cls, examples: Sequence[Example], groups: int = 5, training_only: Sequence[Example] = ()) -> Folds:
        """A class with a single family (a user's file without families) is split into `groups` groups of
        source documents, so that held-out rows still come from documents the scorer was not fitted on.
        `training_only` examples come after `examples` in every array: fitted scorers learn from those of
        the other families too, and no score is taken on them."""
        scored = np.arange(len(examples) + len(training_only)) < len(examples)
        examples = [*examples, *training_only]
        labels = np.array([e.label for e in examples])
        families = np.array([e.family for e in examples], dtype=object)
        for label in (0, 1):
            names = set(families[labels == label])
            if shared := sorted(names & set(families[labels != label])):
                raise DatatrainerError(f"family {shared[0]!r} holds both good and low-quality examples; a family "
                                       "is one kind of text with one label")
            if len(names) == 1:
                rows = np.flatnonzero(labels == label)
                ids = {source: i for i, source in enumerate(dict.fromkeys(e.source for e in examples))}
                for row in rows:
                    families[row] = f"{families[row]}#{ids[examples[int(row)].source] % groups + 1}"
        good = tuple(dict.fromkeys(families[(labels == 1) & scored]))
        junk = tuple(dict.fromkeys(families[(labels == 0) & scored]))
        if not good or not junk:
            raise DatatrainerError("evaluation needs both good (1) and low-quality (0) examples")
        sources = np.array([f"{f}\0{e.source}" for f, e in zip(families, examples, strict=True)])
        return cls(labels, families.astype(str), sources, good, junk, scored)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(g, j) for g in self.good for j in self.junk]

    def rows(self, *families: str) -> Array:
        """The scored rows of these families."""
        return np.flatnonzero(np.isin(self.families, families) & self.scored)

    def train_rows(self, g: str, j: str) -> Array:
        """Rows of every other family, training-only rows included."""
        return np.flatnonzero(~np.isin(self.families, [g, j]))


@dataclass
class PairScores:
    """One scorer's held-out scores, per pair: the rows of g and j and their scores."""

    name: str
    per_pair: dict[tuple[str, str], Array] = field(default_factory=dict)
    seconds: float | None = None
    note: str = ""


def fixed(name: str, folds: Folds, scores: Array, note: str = "") -> PairScores:
    """A scorer that learns nothing: the same scores in every pair."""
    values = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(values).all():
        values = np.nan_to_num(values, nan=-np.inf)
    return PairScores(name, {(g, j): values[folds.rows(g, j)] for g, j in folds.pairs}, note=note)


def leave_out(name: str, folds: Folds, fit_predict: FitPredict, note: str = "") -> PairScores:
    """A scorer fitted without the pair's two families, scoring their rows."""
    result = PairScores(name, note=note)
    for g, j in folds.pairs:
        result.per_pair[(g, j)] = np.asarray(fit_predict(folds.train_rows(g, j), folds.rows(g, j)), np.float64)
    return result


def _comparison(scores: Array, labels: Array) -> Array:
    good, junk = scores[labels == 1], scores[labels == 0]
    matrix: Array = (good[:, None] > junk[None, :]) + 0.5 * (good[:, None] == junk[None, :])
    return matrix


class Bootstrap:
    """Source-document resampling weights for every row, `draws` at once (row 0 of each: the data as is)."""

    def __init__(self, folds: Folds, draws: int = 1000, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.folds = folds
        self.weights = np.zeros((draws + 1, len(folds.labels)))
        self.weights[0] = 1.0
        for family in (*folds.good, *folds.junk):
            rows = folds.rows(family)
            sources, inverse = np.unique(folds.sources[rows], return_inverse=True)
            picks = rng.integers(0, len(sources), size=(draws, len(sources)))
            counts = np.stack([np.bincount(p, minlength=len(sources)) for p in picks])
            self.weights[1:, rows] = counts[:, inverse]

    def pair_aucs(self, scores: PairScores, subset: Array | None = None) -> dict[tuple[str, str], Array]:
        """Per pair, its AUC in every draw (index 0: unresampled); `subset` (a boolean row mask) restricts
        the rows, and a pair with no good or no junk row left is omitted."""
        out = {}
        for (g, j), values in scores.per_pair.items():
            rows = self.folds.rows(g, j)
            keep = np.ones(len(rows), bool) if subset is None else subset[rows]
            labels = self.folds.labels[rows][keep]
            if labels.min(initial=1) == 1 or labels.max(initial=0) == 0:
                continue
            matrix = _comparison(values[keep], labels)
            weights = self.weights[:, rows][:, keep]
            wg, wj = weights[:, labels == 1], weights[:, labels == 0]
            with np.errstate(invalid="ignore"):
                out[(g, j)] = np.einsum("dg,gj,dj->d", wg, matrix, wj) / (wg.sum(1) * wj.sum(1))
        return out


@dataclass(frozen=True)
class Summary:
    """A scorer's mean held-out AUC with its 95% interval, and per family (mean over the other class)."""

    name: str
    auc: float
    low: float
    high: float
    per_family: dict[str, float]
    draws: Array

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "auc": round(self.auc, 4), "ci95": [round(self.low, 4), round(self.high, 4)],
                "per_family": {k: round(v, 4) for k, v in self.per_family.items()}}


def summarise(name: str, aucs: dict[tuple[str, str], Array]) -> Summary:
    stacked = np.stack(list(aucs.values()))  # pairs x draws
    mean = np.nanmean(stacked, axis=0)
    per_family: dict[str, list[Array]] = {}
    for (g, j), values in aucs.items():
        per_family.setdefault(g, []).append(values[0])
        per_family.setdefault(j, []).append(values[0])
    low, high = np.nanquantile(mean[1:], [0.025, 0.975])
    return Summary(name, float(mean[0]), float(low), float(high),
                   {family: float(np.mean(values)) for family, values in per_family.items()}, mean)


def difference(first: Summary, second: Summary) -> tuple[float, float, float]:
    """first - second: the point difference and its paired 95% interval."""
    delta = first.draws - second.draws
    low, high = np.nanquantile(delta[1:], [0.025, 0.975])
    return float(delta[0]), float(low), float(high)
