"""Embedding + logistic-regression suggestions on real labelled sentences (gensim's pang_lee_polarity)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from datatrainer.annotation.preannotate.classifier import EmbeddingClassifierSuggester
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.corpora import labelled_reviews
from datatrainer.errors import DatatrainerError
from datatrainer.models.embedders import Embedder, load_embedder


@cache
def polarity() -> tuple[tuple[str, str], ...]:
    return tuple(labelled_reviews())


@cache
def embedder() -> Embedder:
    return load_embedder("minilm", "onnx")


def split() -> tuple[list[tuple[str, list[str]]], list[AnnotatedDoc], list[str]]:
    order = np.random.default_rng(0).permutation(len(polarity()))
    rows = [polarity()[i] for i in order]
    train = [(text, [label]) for text, label in rows[:100]]
    test = [AnnotatedDoc(f"t{i}", text) for i, (text, _) in enumerate(rows[100:])]
    return train, test, [label for _, label in rows[100:]]


def test_predicts_held_out_sentiment_with_a_distribution() -> None:
    train, test, gold = split()
    suggester = EmbeddingClassifierSuggester(["pos", "neg"], train, embedder=embedder())
    suggestions = suggester.suggest(test)
    assert all(sum(s.probabilities.values()) == pytest.approx(1.0) for s in suggestions)
    predicted = [s.labels[0] for s in suggestions]
    assert accuracy_score(gold, predicted) > 0.6  # chance is 0.5 (the split is about balanced); measured 0.66
    auc = roc_auc_score([g == "pos" for g in gold], [s.probabilities["pos"] for s in suggestions])
    assert auc > 0.65  # measured 0.74
    # the uncertain half of the suggestions is wrong more often than the confident half (active learning's premise)
    order = np.argsort([s.uncertainty() for s in suggestions])
    right = np.array(predicted) == np.array(gold)
    assert right[order[:50]].mean() > right[order[50:]].mean()
    assert suggester.source == "classifier:all-MiniLM-L6-v2-logreg"
    assert suggester.config()["n_train"] == 100


def test_unseen_labels_get_zero_and_multi_label_uses_base_rates() -> None:
    train, test, _ = split()
    three = EmbeddingClassifierSuggester(["pos", "neg", "neutral"], train, embedder=embedder()).suggest(test[:5])
    assert all(s.probabilities["neutral"] == 0.0 for s in three)
    multi_train = [(text, labels + (["short"] if len(text) < 60 else [])) for text, labels in train]
    multi_train[0] = (multi_train[0][0], [])  # a document with no label at all is fine in multi-label
    multi = EmbeddingClassifierSuggester(["pos", "neg", "short", "never"], multi_train, multi_label=True,
                                         embedder=embedder()).suggest(test[:5])
    for suggestion in multi:
        assert suggestion.probabilities["never"] == pytest.approx(1 / 102)
        assert set(suggestion.labels) == {k for k, p in suggestion.probabilities.items() if p >= 0.5}


@pytest.mark.parametrize(("labels", "train", "multi", "error"), [
    (["pos", "neg"], [("a", ["pos"]), ("b", ["pos"])], False, "at least two labels"),
    (["pos", "neg"], [("a", ["pos"])], True, "at least two labels"),
    (["pos", "neg"], [("a", ["pos"]), ("b", ["meh"])], False, "example 1 has label 'meh'"),
    (["pos", "neg"], [("a", ["pos", "neg"]), ("b", ["neg"])], False, "example 0 has 2 labels"),
])
def test_training_errors(labels: list[str], train: list[tuple[str, list[str]]], multi: bool, error: str) -> None:
    with pytest.raises(DatatrainerError, match=error):
        EmbeddingClassifierSuggester(labels, train, multi_label=multi, embedder=embedder())
