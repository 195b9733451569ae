"""The benchmark table: every scorer evaluated leave-one-family-out on the same labelled examples.

`cheap_scores` needs no language model: length and final-punctuation checks (each should sit near 0.5 on the
built set, which is how the shortcut control is verified), the C4 and Gopher heuristics as scores, the
n-gram classifier, the student on heuristic signals, and the vote of the n-gram classifier and the C4 word
share that the package ships as its quality student (`scoring.quality_student`). `llm_scores` adds what a
language model gives: perplexity, Ask-LLM under each prompt (P(yes), normalised), answer-token calibration
(a logistic regression on log P(yes) and log P(no), fitted on the other families), the distilled student
(without and with heuristic features), and the student on all signals. `report` turns them into summaries,
a per-family winner and a comparison with the best heuristic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from datatrainer.evaluation.quality_scoring.builder import ends_in_punctuation
from datatrainer.evaluation.quality_scoring.labelled import Example
from datatrainer.evaluation.quality_scoring.protocol import (
    Bootstrap,
    Folds,
    PairScores,
    Summary,
    difference,
    fixed,
    leave_out,
    summarise,
)
from datatrainer.evaluation.quality_scoring.scorers import (
    NgramClassifier,
    c4_word_share,
    gopher_rules_passed,
    signal_matrix,
    student_fit_predict,
)
from datatrainer.evaluation.quality_scoring.settings import Settings
from datatrainer.scoring.quality_student import fit_student

Array = np.ndarray[Any, Any]
HEURISTICS = ("C4 word share", "C4 kept-line share", "Gopher rules passed")
VOTE = "vote: n-gram classifier + C4 word share"


@dataclass(frozen=True)
class Row:
    """One scorer's table row: its summary, LLM passes per document and measured seconds per document."""

    summary: Summary
    passes: float
    seconds: float | None
    note: str
    terminal: float | None = None  # mean pair AUC among windows ending in terminal punctuation
    open_end: float | None = None  # ... and among the others


def cheap_scores(examples: Sequence[Example], folds: Folds, settings: Settings) -> list[PairScores]:
    texts = [e.text for e in examples]
    signals, columns = signal_matrix(texts)
    ngram = NgramClassifier(tuple(settings.ngram.ngram_range), settings.ngram.n_features,  # type: ignore[arg-type]
                            settings.ngram.C)
    c = settings.student.C
    ngrams = ngram.vectorizer.transform(texts)
    return [
        fixed("length in words (shortcut check)", folds, np.array([len(t.split()) for t in texts], float)),
        fixed("ends in punctuation (shortcut check)", folds, np.array([ends_in_punctuation(t) for t in texts], float)),
        fixed("length in characters (shortcut check)", folds, np.array([len(t) for t in texts], float)),
        fixed("C4 word share", folds, signals[:, columns.index("c4_word_share")],
              "share of words in 5+-word sentences ending in . ! ?"),
        fixed("C4 kept-line share", folds, signals[:, columns.index("c4_kept_line_frac")]),
        fixed("Gopher rules passed", folds, gopher_rules_passed(signals, columns)),
        leave_out("n-gram classifier (DCLM-style)", folds,
                  lambda train, test: ngram.fit_predict(texts, folds.labels, train, test),
                  "hashed word 1-2-grams, logistic regression"),
        leave_out("student: heuristic signals", folds,
                  lambda train, test: student_fit_predict(signals, folds.labels, train, test, c),
                  f"logistic regression on {len(columns)} Gopher/C4/repetition signals"),
        leave_out("student: heuristic signals + n-grams", folds,
                  lambda train, test: student_fit_predict(signals, folds.labels, train, test, c, ngrams),
                  "the signals and the hashed 1-2-grams in one logistic regression"),
        leave_out(VOTE, folds, lambda train, test: fit_student([texts[i] for i in train], folds.labels[train], c)
                  .score([texts[i] for i in test]),
                  "mean of the n-gram classifier's and a C4-word-share logistic regression's P(good) "
                  "(scoring.quality_student)"),
    ]


def llm_features(llm: Mapping[str, Array], prompts: Sequence[str]) -> dict[str, Array]:
    """Per-text LLM signals from cached values: `ask-llm:P:log_yes`/`log_no` and perplexity sums (when given)."""
    out = {"mean NLL": llm["perplexity:nll_sum"] / np.maximum(llm["perplexity:tokens"], 1)} \
        if "perplexity:nll_sum" in llm else {}
    for prompt in prompts:
        out[f"{prompt} log P(yes)"] = llm[f"ask-llm:{prompt}:log_yes"]
        out[f"{prompt} log P(no)"] = llm[f"ask-llm:{prompt}:log_no"]
    return out


def llm_scores(examples: Sequence[Example], folds: Folds, settings: Settings, llm: Mapping[str, Array],
               distilled: Mapping[str, Array]) -> list[PairScores]:
    texts = [e.text for e in examples]
    signals, _ = signal_matrix(texts)
    features = llm_features(llm, settings.llm.prompts)
    c = settings.student.C
    rows = [fixed("perplexity (lower = better)", folds, -features["mean NLL"])] if "mean NLL" in features else []
    for prompt in settings.llm.prompts:
        rows += ask_llm_rows(f"Ask-LLM {prompt}", folds, features[f"{prompt} log P(yes)"],
                             features[f"{prompt} log P(no)"], c)
    rows += [fixed(name, folds, scores, "MiniLM embeddings, self-trained on the paper prompt's normalized score")
             for name, scores in distilled.items()]
    llm_matrix = np.column_stack(list(features.values()))
    rows.append(leave_out("student: LLM signals", folds, _fit(llm_matrix, folds.labels, c),
                          "; ".join(features)))
    rows.append(leave_out("student: heuristic + LLM signals", folds,
                          _fit(np.hstack([signals, llm_matrix]), folds.labels, c),
                          "heuristic and LLM signals, one logistic regression"))
    ngrams = NgramClassifier(tuple(settings.ngram.ngram_range), settings.ngram.n_features,  # type: ignore[arg-type]
                             settings.ngram.C).vectorizer.transform(texts)
    rows.append(leave_out("student: heuristic + LLM signals + n-grams", folds,
                          _fit(np.hstack([signals, llm_matrix]), folds.labels, c, ngrams),
                          "everything in one logistic regression"))
    if "paper" in settings.llm.prompts:
        rows.append(fixed("rank mean: C4 word share + paper normalized", folds,
                          rankdata(c4_word_share(texts)) + rankdata(features["paper log P(yes)"] -
                                                                     features["paper log P(no)"])))
    return rows


def ask_llm_rows(prefix: str, folds: Folds, log_yes: Array, log_no: Array, c: float) -> list[PairScores]:
    """One prompt's three rows: the paper's P(yes), the normalized score, and answer-token calibration."""
    return [fixed(f"{prefix}: P(yes)", folds, np.exp(log_yes)),
            fixed(f"{prefix}: normalized", folds, log_yes - log_no, "P(yes)/(P(yes)+P(no)), ranked by its log-odds"),
            leave_out(f"{prefix}: answer-token calibration", folds,
                      _fit(np.column_stack([log_yes, log_no]), folds.labels, c),
                      "logistic regression on log P(yes), log P(no)")]


def combination(name: str, examples: Sequence[Example], folds: Folds, settings: Settings, llm: Array
                ) -> PairScores:
    """The student on heuristic signals and hashed n-grams with LLM columns `llm` (texts x k) added."""
    texts = [e.text for e in examples]
    signals, _ = signal_matrix(texts)
    ngrams = NgramClassifier(tuple(settings.ngram.ngram_range), settings.ngram.n_features,  # type: ignore[arg-type]
                             settings.ngram.C).vectorizer.transform(texts)
    return leave_out(name, folds, _fit(np.hstack([signals, llm]), folds.labels, settings.student.C, ngrams),
                     "heuristic signals, hashed 1-2-grams and the LLM's log P(yes), log P(no), one logistic regression")


def _fit(features: Array, labels: Array, c: float, sparse: Any = None) -> Callable[[Array, Array], Array]:
    return lambda train, test: student_fit_predict(features, labels, train, test, c, sparse)


def report(examples: Sequence[Example], folds: Folds, scored: Sequence[PairScores], settings: Settings,
           costs: Mapping[str, tuple[float, float | None]]) -> list[Row]:
    """Rows in the given order; `costs[name]` = (LLM passes per document, seconds per document)."""
    boot = Bootstrap(folds, settings.bootstrap.draws, settings.bootstrap.seed)
    terminal = np.array([ends_in_punctuation(e.text) for e in examples])
    rows = []
    for scores in scored:
        passes, seconds = costs.get(scores.name, (0.0, None))
        strata = [boot.pair_aucs(scores, mask) for mask in (terminal, ~terminal)]
        means = [float(np.mean([v[0] for v in s.values()])) if s else None for s in strata]
        rows.append(Row(summarise(scores.name, boot.pair_aucs(scores)), passes, seconds, scores.note, *means))
    return rows


def winners(rows: Sequence[Row], exclude: Sequence[str] = ()) -> dict[str, str]:
    """Per family, the scorer with the highest mean held-out AUC (shortcut checks excluded)."""
    candidates = [r for r in rows if r.summary.name not in exclude and "shortcut" not in r.summary.name]
    families = candidates[0].summary.per_family if candidates else {}
    return {family: max(candidates, key=lambda r: r.summary.per_family[family]).summary.name
            for family in families}


def best_heuristic(rows: Sequence[Row]) -> Row:
    return max((r for r in rows if r.summary.name in HEURISTICS), key=lambda r: r.summary.auc)


def versus(row: Row, baseline: Row) -> tuple[float, float, float]:
    return difference(row.summary, baseline.summary)
