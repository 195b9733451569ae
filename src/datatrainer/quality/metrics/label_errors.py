"""Label errors: labelled records whose label disagrees with what the rest of the data implies.

Definition (confident learning, Northcutt et al. 2021, via `cleanlab`). Runs only when the label field
exists and has labels. The checked records are those with a non-null label (in the label set, when one is
configured) whose class has at least `cv_folds` members, at most `label_sample_size` of them drawn by a
seeded uniform sample. Their texts are embedded (default "LSA": TF-IDF with sublinear term frequency, then
TruncatedSVD to `embedding_dimensions`, L2-normalised; or a sentence-transformers model), a multinomial
logistic regression gives out-of-fold class probabilities by stratified `cv_folds`-fold cross-validation,
and `cleanlab.filter.find_label_issues` (prune by noise rate) flags the likely errors.
label issue rate = flagged / checked. Per record: `label_quality` (cleanlab's self-confidence: the
out-of-fold probability of the given label; low is suspicious) and `suggested_label` (the most probable
class). This is reported apart from the rule-based error rate: it is a statistical estimate, not a rule.
The TF-IDF/SVD step is fitted on all checked texts (unsupervised, so no label leaks across folds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.errors import DatatrainerError
from datatrainer.quality.metrics.config import QualityConfig
from datatrainer.quality.metrics.stats import Problem, flag

SENTENCE_TRANSFORMERS = "sentence-transformers:"


class LabelErrorSummary(BaseModel):
    status: Literal["ok", "skipped"]
    reason: str | None = None
    label_field: str
    labelled: int = 0
    checked: int = 0
    issues: int = 0
    rate: float | None = None
    sampled: bool = False
    embedder: str
    cv_folds: int
    cv_accuracy: float | None = None
    classes: dict[str, int] = {}
    issues_by_label: dict[str, int] = {}


@dataclass
class LabelCheck:
    """Results for the checked records, aligned with the texts and labels passed in."""

    issue: np.ndarray
    quality: np.ndarray
    suggested: np.ndarray
    cv_accuracy: float


def select_records(labels: np.ndarray, usable: np.ndarray, config: QualityConfig) -> tuple[np.ndarray, bool]:
    """Row indices to check (usable labels of classes big enough to cross-validate, a seeded sample when
    there are too many, sorted) and whether they are a sample."""
    candidates = np.flatnonzero(usable)
    classes, counts = np.unique(labels[candidates], return_counts=True)
    big = classes[counts >= config.cv_folds]
    candidates = candidates[np.isin(labels[candidates], big)]
    if config.label_sample_size is not None and len(candidates) > config.label_sample_size:
        rng = np.random.default_rng(config.seed)
        return np.sort(rng.choice(candidates, config.label_sample_size, replace=False)), True
    return candidates, False


def embed(texts: Sequence[str], config: QualityConfig) -> np.ndarray:
    """Dense, L2-normalised vectors for the classifier (see the module docstring for the two embedders)."""
    if config.embedder.startswith(SENTENCE_TRANSFORMERS):
        try:
            from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise DatatrainerError(f"embedder {config.embedder!r} needs the sentence-transformers package "
                                   "(pip install sentence-transformers), or use embedder 'lsa'") from None
        model = SentenceTransformer(config.embedder.removeprefix(SENTENCE_TRANSFORMERS))
        return np.asarray(model.encode(list(texts), batch_size=64, normalize_embeddings=True), dtype=np.float32)
    if config.embedder != "lsa":
        raise DatatrainerError(f"unknown embedder {config.embedder!r}: use 'lsa' or "
                               f"'{SENTENCE_TRANSFORMERS}MODEL'")
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    tfidf = TfidfVectorizer(sublinear_tf=True, max_features=1 << 17, dtype=np.float32).fit_transform(texts)
    dimensions = min(config.embedding_dimensions, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    if dimensions < 2:
        return np.asarray(normalize(tfidf).toarray(), dtype=np.float32)
    reduced = TruncatedSVD(dimensions, random_state=config.seed).fit_transform(tfidf)
    return np.asarray(normalize(reduced), dtype=np.float32)


def check_labels(texts: Sequence[str], labels: np.ndarray, config: QualityConfig) -> LabelCheck:
    """Out-of-fold probabilities from a linear classifier on embeddings, then cleanlab's filter."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    classes, y = np.unique(labels, return_inverse=True)
    features = embed(texts, config)
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.seed)
    probs = cross_val_predict(LogisticRegression(max_iter=1000), features, y, cv=folds,
                              method="predict_proba")
    # n_jobs=1: cleanlab's default forks a multiprocessing pool per call, from a process that holds Arrow,
    # DuckDB and torch threads (and, under Ray, a SIGTERM handler that a pool worker killed right after the
    # fork runs in a copy of the caller); pruning a label sample per class is cheap in one process.
    issue = np.asarray(find_label_issues(labels=y, pred_probs=probs, n_jobs=1), dtype=bool)
    quality = np.asarray(get_label_quality_scores(labels=y, pred_probs=probs), dtype=np.float64)
    predicted = probs.argmax(axis=1)
    return LabelCheck(issue=issue, quality=quality, suggested=classes[predicted],
                      cv_accuracy=float((predicted == y).mean()))


def run(labels: pa.Array | pa.ChunkedArray, usable: np.ndarray, fetch_texts: Callable[[np.ndarray], list[str]],
        config: QualityConfig) -> tuple[dict[str, pa.Array], LabelErrorSummary]:
    """Check the labels of one version: per-record columns (null where unchecked) and the summary.

    `labels` are the records' labels as strings, `usable` marks the records whose label may be checked,
    and `fetch_texts` returns the texts of the given sorted row indices (read from storage on demand, so
    only the sample is ever in memory).
    """
    n = len(labels)
    values = np.asarray(pc.fill_null(labels, "").to_numpy(zero_copy_only=False), dtype=object)
    rows, sampled = select_records(values, usable, config)
    issue, quality = np.zeros(n, dtype=bool), np.full(n, np.nan)
    suggested = np.full(n, None, dtype=object)
    checked = np.zeros(n, dtype=bool)
    check, reason = None, None
    if len(np.unique(values[rows])) < 2:
        reason = (f"needs labelled records of at least two classes with {config.cv_folds}+ members each "
                  f"(found {int(usable.sum())} labelled records)")
    else:
        check = check_labels(fetch_texts(rows), values[rows], config)
        checked[rows], issue[rows], quality[rows], suggested[rows] = True, check.issue, check.quality, \
            check.suggested
    checked_array = pa.array(checked)
    columns = {
        "label_checked": checked_array,
        "label_issue": pc.if_else(checked_array, pa.array(issue), pa.scalar(None, pa.bool_())),
        "label_quality": pa.array(quality, pa.float64(), from_pandas=True),
        "suggested_label": pa.array(suggested, pa.string()),
    }
    summary = summarize(check, values[rows], int(usable.sum()), sampled, config, reason)
    return columns, summary


def summarize(check: LabelCheck | None, labels: np.ndarray, labelled: int, sampled: bool,
              config: QualityConfig, reason: str | None = None) -> LabelErrorSummary:
    """`labels` are the checked records' labels; a None `check` means skipped, for `reason`."""
    base = LabelErrorSummary(status="skipped", reason=reason, label_field=config.label_field, labelled=labelled,
                             embedder=config.embedder, cv_folds=config.cv_folds)
    if check is None:
        return base
    classes, counts = np.unique(labels, return_counts=True)
    flagged, flagged_counts = np.unique(labels[check.issue], return_counts=True)
    return base.model_copy(update={
        "status": "ok", "reason": None, "checked": len(labels), "issues": int(check.issue.sum()),
        "rate": float(check.issue.mean()), "sampled": sampled, "cv_accuracy": check.cv_accuracy,
        "classes": {str(c): int(k) for c, k in zip(classes, counts, strict=True)},
        "issues_by_label": {str(c): int(k) for c, k in zip(flagged, flagged_counts, strict=True)},
    })


def problems() -> list[Problem]:
    return [Problem(
        name="label_issue", metric="label_errors", title="Likely label error (confident learning)",
        mask=flag("label_issue"), severity="label_quality", lowest_first=True,
        explain=lambda row: (f"labelled {row['label']!r}, the classifier suggests {row['suggested_label']!r} "
                             f"(quality {row['label_quality']:.3f})"),
    )]
