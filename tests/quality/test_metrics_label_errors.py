"""Label errors found by confident learning against label flips planted in real text.

Wikipedia articles vs news articles (both bundled with gensim) labelled by their origin, with 10% of the
labels flipped. Measured with the default settings over seeds 0-5: precision 0.93-1.00, recall 0.80-0.975
(seed 0, used here: 0.97 and 0.90); the bars below leave room for that spread.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

import numpy as np
import pytest

from datatrainer.corpora import news_articles, wikipedia_articles
from datatrainer.errors import DatatrainerError
from datatrainer.quality.metrics import QualityConfig, measure
from datatrainer.quality.metrics.label_errors import embed
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

LABEL_ONLY = QualityConfig(metrics=("label_errors",))


@functools.cache
def corpus() -> tuple[tuple[str, str, str], ...]:
    """(id, text, origin) of every bundled article; parsing the Wikipedia dump takes seconds, so once."""
    return tuple((a["id"], a["text"], "wiki") for a in wikipedia_articles()) + \
        tuple((a["id"], a["text"], "news") for a in news_articles())


def planted(seed: int, rate: float = 0.1) -> tuple[list[dict[str, Any]], set[str]]:
    records = [{"id": i, "text": text, "label": origin} for i, text, origin in corpus()]
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(records), int(rate * len(records)), replace=False)
    for index in flipped:
        records[index]["label"] = "news" if records[index]["label"] == "wiki" else "wiki"
    return records, {records[i]["id"] for i in flipped}


def test_finds_planted_label_flips(sqlite_workspace: Workspace) -> None:
    records, flipped = planted(seed=0)
    result = measure(make_version(sqlite_workspace, records), LABEL_ONLY)
    ids = result.records["id"].to_pylist()
    found = {ids[i] for i, issue in enumerate(result.records["label_issue"].to_pylist()) if issue}
    precision, recall = len(found & flipped) / len(found), len(found & flipped) / len(flipped)
    assert precision >= 0.85 and recall >= 0.75, (precision, recall)

    summary = result.summary.label_errors
    assert summary is not None and summary.status == "ok"
    assert (summary.checked, summary.issues, summary.sampled) == (len(records), len(found), False)
    assert summary.rate == pytest.approx(len(found) / len(records))
    # The suggested label of a flagged flip is its original label, and flagged records score low.
    suggested = dict(zip(ids, result.records["suggested_label"].to_pylist(), strict=True))
    given = {r["id"]: r["label"] for r in records}
    assert all(suggested[i] != given[i] for i in found & flipped)
    quality = np.array(result.records["label_quality"].to_pylist())
    issue = np.array([i in found for i in ids])
    assert quality[issue].mean() < quality[~issue].mean()
    assert ["label_issue" in reasons for reasons in result.records["reasons"].to_pylist()] == issue.tolist()


def test_sample_invalid_labels_and_small_classes(sqlite_workspace: Workspace) -> None:
    records, _ = planted(seed=1)
    records[0]["label"] = "junk"  # not in the label set: not checked
    records[1]["label"] = None
    records[2]["label"] = "tiny"  # a class with fewer members than folds: not checked
    config = QualityConfig(metrics=("errors", "label_errors"), labels=("news", "tiny", "wiki"),
                           label_sample_size=150)
    result = measure(make_version(sqlite_workspace, records), config)
    summary = result.summary.label_errors
    assert summary is not None
    assert (summary.checked, summary.sampled, summary.labelled) == (150, True, len(records) - 2)
    checked = result.records["label_checked"].to_pylist()
    assert sum(checked) == 150 and not any(checked[:3])
    assert result.records["label_issue"].null_count == len(records) - 150


def test_skipped_without_labels(sqlite_workspace: Workspace) -> None:
    version = make_version(sqlite_workspace, [{"id": str(i), "text": f"text {i}."} for i in range(20)])
    summary = measure(version, LABEL_ONLY).summary.label_errors
    assert summary is not None and summary.status == "skipped" and "no labels" in (summary.reason or "")

    one_class = make_version(sqlite_workspace, [{"id": str(i), "text": f"text {i}.", "label": "x"}
                                                for i in range(20)], name="one")
    summary = measure(one_class, LABEL_ONLY).summary.label_errors
    assert summary is not None and summary.status == "skipped" and "two classes" in (summary.reason or "")


def test_sentence_transformers_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    config = QualityConfig(embedder="sentence-transformers:some/model")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(DatatrainerError, match="needs the sentence-transformers package"):
        embed(["a", "b"], config)

    class FakeModel:
        def __init__(self, name: str) -> None:
            assert name == "some/model"

        def encode(self, texts: list[str], batch_size: int, normalize_embeddings: bool) -> np.ndarray:
            return np.ones((len(texts), 3))

    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=FakeModel))
    assert embed(["a", "b"], config).shape == (2, 3)
    with pytest.raises(DatatrainerError, match="unknown embedder"):
        embed(["a"], QualityConfig(embedder="word2vec"))
