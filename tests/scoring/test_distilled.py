"""The distilled scorer end to end on a real version: MiniLM embeddings, stored teachers, the two students, the
store.

The teachers here are real, cheap, independent quality signals (the share of words that are English stop
words, as Gopher's quality filter counts them; the share of characters that are symbols, stored as
lower-is-better like perplexity), stored in `ws.scores` exactly as the LLM jobs store their scores; the
students must learn them from embeddings and rank held-out dev texts far better than chance. The
self-training student is checked against sklearn fitted by hand on the same pseudo-labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression, Ridge

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.fixtures.devset import labelled_set
from datatrainer.quality.signals import heuristic_signals
from datatrainer.scoring.configs import HIGHER_IS_BETTER, StoredConfig
from datatrainer.scoring.distilled import DistillParams, TeacherSignal, distill, training_sample
from datatrainer.scoring.evaluate import auc
from datatrainer.scoring.jobs import ensure_embeddings
from datatrainer.scoring.perplexity import PERPLEXITY
from datatrainer.scoring.quality_student import c4_word_share
from datatrainer.store.schema import CONTENT_HASH
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.scoring.helpers import ingest_texts

STOP_WORDS = {"the", "be", "to", "of", "and", "that", "have", "with", "a", "in", "is", "was", "for", "on"}
TEACHER = "stopwords"


def stop_word_share(text: str) -> float:
    words = text.lower().split()
    return sum(word in STOP_WORDS for word in words) / max(1, len(words))


def test_student_learns_the_teacher_scores_every_record_and_feeds_the_sampler(
        workspace: Workspace, tmp_path: Path) -> None:
    pool, dev = labelled_set("pool", 40, 40), labelled_set("dev", 30, 30)
    version = ingest_texts(workspace, tmp_path, "mix", pool.texts + dev.texts)
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    teacher = np.array([stop_word_share(text) for text in pool.texts])
    workspace.scores.add(TEACHER, "a1", hashes.slice(0, len(pool)), teacher, {"kind": "stop word share"})
    embedding = ensure_embeddings(workspace, version, "minilm", "onnx")

    params = DistillParams(teacher=TEACHER, student="ridge", target="raw")
    hash_ = distill(workspace, version, params, embedding)
    stored = workspace.scores.scores_for(version, params.scorer, hash_)["score"].to_numpy()
    assert not np.isnan(stored).any()

    # The same regression fitted independently on the stored embeddings gives the stored scores.
    _, vectors = workspace.embeddings.embeddings_for(version, embedding.config_hash)
    reference = Ridge(alpha=1.0).fit(vectors[:len(pool)], teacher).predict(vectors)
    np.testing.assert_allclose(stored, reference, rtol=1e-6, atol=1e-9)
    # Held-out dev texts (the teacher never saw them) are ranked far better than chance.
    assert auc(dev.labels, stored[len(pool):]) > 0.75

    shards = sorted((workspace.root / "scores").rglob("*.parquet"))
    assert distill(workspace, version, params, embedding) == hash_  # cached: nothing refitted or rewritten
    assert sorted((workspace.root / "scores").rglob("*.parquet")) == shards
    assert distill(workspace, version, DistillParams(teacher=TEACHER, student="ridge", target="raw", alpha=5.0),
                   embedding) != hash_

    sample = workspace.apply("sample", [version], {"by": params.scorer, "budget": "25%", "config": hash_}, name="best")
    kept = set(sample.to_table(["text"])["text"].to_pylist())
    assert len(kept) == len(stored) // 4
    assert kept == {text for text, _ in sorted(zip(pool.texts + dev.texts, stored, strict=True),
                                                key=lambda pair: -pair[1])[:len(kept)]}


def test_training_sample_and_one_line_errors(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    texts = labelled_set("pool", 15, 15).texts
    version = ingest_texts(sqlite_workspace, tmp_path, "small", texts)
    sample = training_sample(version, 12, seed=3)
    assert len(sample) == 12 and len(set(sample.to_pylist())) == 12
    assert sample.equals(training_sample(version, 12, seed=3))
    assert not sample.equals(training_sample(version, 12, seed=4))
    drawn = sqlite_workspace.apply("sample", [version], {"by": "random", "budget": 12, "seed": 3}, name="drawn")
    assert set(drawn.to_table([CONTENT_HASH])[CONTENT_HASH].to_pylist()) == set(sample.to_pylist())

    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    lengths = np.array([float(len(text)) for text in texts])
    sqlite_workspace.scores.add("length", "b1", hashes, lengths, {"kind": "characters"})
    embedding = ensure_embeddings(sqlite_workspace, version, "minilm", "onnx")
    with pytest.raises(DatatrainerError, match="not probabilities: use target raw"):
        distill(sqlite_workspace, version, DistillParams(teacher="length", student="ridge"), embedding)

    scored = pc.is_in(hashes, value_set=training_sample(version, 12, seed=0))
    partial = hashes.filter(pc.invert(scored))[:5]
    sqlite_workspace.scores.add("partial", "c1", partial, np.ones(len(partial)), {"kind": "some"})
    with pytest.raises(DatatrainerError, match="12 training records of small@1 have no 'partial' score"):
        distill(sqlite_workspace, version, DistillParams(teacher="partial", train_size=12, target="raw"), embedding)
    with pytest.raises(DatatrainerError, match="only 5 records"):
        distill(sqlite_workspace, version, DistillParams(teacher="partial", target="raw"), embedding)


def symbol_share(text: str) -> float:
    return sum(not (c.isalnum() or c.isspace()) for c in text) / max(1, len(text))


def char_entropy(text: str) -> float:
    """Entropy (nats) of the text's character distribution: a stand-in for a stored mean token NLL."""
    counts = np.unique(list(text), return_counts=True)[1] if text else np.ones(1)
    shares = counts / counts.sum()
    return float(-(shares * np.log(shares)).sum())


def reference_self_training(x_train: np.ndarray, teachers: list[np.ndarray], x_all: np.ndarray, quantile: float,
                            rounds: int) -> np.ndarray:
    """The recipe written out step by step: lowest percentile rank over the teachers, pseudo-labels from the
    top and bottom quantile, logistic regression, then rounds on the mean of teacher and student ranks."""
    n = len(x_train)
    teacher = rankdata(np.min([rankdata(t) / n for t in teachers], axis=0)) / n
    ranking = teacher
    for _ in range(rounds + 1):
        ranks = rankdata(ranking) / n
        good, junk = np.flatnonzero(ranks > 1 - quantile), np.flatnonzero(ranks <= quantile)
        rows = np.concatenate([good, junk])
        labels = np.concatenate([np.ones(len(good)), np.zeros(len(junk))])
        model = LogisticRegression(C=1.0, max_iter=5000).fit(x_train[rows], labels)
        ranking = (rankdata(model.decision_function(x_train)) / n + teacher) / 2
    scores: np.ndarray = model.decision_function(x_all)
    return scores


def test_self_training_student_with_two_teachers_and_the_nll_band(workspace: Workspace, tmp_path: Path) -> None:
    pool, dev = labelled_set("pool", 40, 40), labelled_set("dev", 30, 30)
    texts = pool.texts + dev.texts
    version = ingest_texts(workspace, tmp_path, "mix", texts)
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    stop = np.array([stop_word_share(text) for text in pool.texts])
    symbols = np.array([symbol_share(text) for text in pool.texts])
    workspace.scores.add(TEACHER, "a1", hashes.slice(0, len(pool)), stop, {"kind": "stop word share"})
    workspace.scores.add("symbols", "c2", hashes.slice(0, len(pool)), symbols, {HIGHER_IS_BETTER: False})
    nll = np.array([char_entropy(text) for text in texts])
    workspace.scores.add(PERPLEXITY, "e1", hashes, np.exp(nll), {HIGHER_IS_BETTER: False})
    embedding = ensure_embeddings(workspace, version, "minilm", "onnx")
    _, vectors = workspace.embeddings.embeddings_for(version, embedding.config_hash)
    vectors = np.asarray(vectors, dtype=np.float64)
    teachers = [stop, -symbols]

    # Taught by TRUE labels with quantile 0.5 and no rounds, the pseudo-labels are the labels themselves: the
    # student is then plain logistic regression on the labels, fitted here independently.
    workspace.scores.add("labels", "d1", hashes.slice(0, len(pool)), pool.labels.astype(float), {})
    plain = scores(workspace, version, DistillParams(teacher="labels", quantile=0.5, rounds=0), embedding)
    by_hand = LogisticRegression(max_iter=5000).fit(vectors[:len(pool)], pool.labels).decision_function(vectors)
    np.testing.assert_allclose(plain, by_hand, rtol=1e-4, atol=1e-6)
    single = DistillParams(teacher=TEACHER, rounds=0)
    np.testing.assert_allclose(scores(workspace, version, single, embedding),
                               reference_self_training(vectors[:len(pool)], [stop], vectors, 0.2, 0), rtol=1e-4,
                               atol=1e-6)

    # Two teachers (one lower-is-better) and a self-training round equal the recipe written out.
    both = DistillParams(teacher=TEACHER, extra_teachers=(TeacherSignal(scorer="symbols"),), rounds=1)
    reference = reference_self_training(vectors[:len(pool)], teachers, vectors, 0.2, 1)
    np.testing.assert_allclose(scores(workspace, version, both, embedding), reference, rtol=1e-4, atol=1e-6)

    # The NLL band: z = (NLL - sample median) / sample spread, features 0.1 z and 0.1 z^2 after the embedding.
    band = both.model_copy(update={"perplexity_config": "e1"})
    z = (nll - np.median(nll[:len(pool)])) / nll[:len(pool)].std()
    widened = np.hstack([vectors, 0.1 * z[:, None], 0.1 * z[:, None] ** 2])
    with_band = scores(workspace, version, band, embedding)
    np.testing.assert_allclose(with_band, reference_self_training(widened[:len(pool)], teachers, widened, 0.2, 1),
                               rtol=1e-4, atol=1e-6)
    assert auc(dev.labels, with_band[len(pool):]) > 0.75  # held-out texts, never seen by the teachers
    hashes_seen = {distill(workspace, version, params, embedding) for params in (single, both, band)}
    assert len(hashes_seen) == 3  # each recipe is its own stored config


def scores(ws: Workspace, version: DatasetVersion, params: DistillParams, embedding: StoredConfig) -> np.ndarray:
    values: np.ndarray = ws.scores.scores_for(version, params.scorer, distill(ws, version, params, embedding))[
        "score"].to_numpy()
    return values


def test_self_training_one_line_errors(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    texts = labelled_set("pool", 15, 15).texts
    version = ingest_texts(sqlite_workspace, tmp_path, "small", texts)
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    embedding = ensure_embeddings(sqlite_workspace, version, "minilm", "onnx")
    sqlite_workspace.scores.add("flat", "f1", hashes, np.ones(len(texts)), {"kind": "constant"})
    with pytest.raises(DatatrainerError, match="too few distinct scores"):
        distill(sqlite_workspace, version, DistillParams(teacher="flat"), embedding)
    sqlite_workspace.scores.add("stop", "b2", hashes, np.array([stop_word_share(t) for t in texts]), {})
    sqlite_workspace.scores.add(PERPLEXITY, "e1", hashes[:20], np.full(20, 30.0), {HIGHER_IS_BETTER: False})
    with pytest.raises(DatatrainerError, match="10 records of small@1 have no perplexity score"):
        distill(sqlite_workspace, version, DistillParams(teacher="stop", perplexity_config="e1"), embedding)
    sqlite_workspace.scores.add("few", "a2", hashes[:5], np.arange(5.0), {})
    with pytest.raises(DatatrainerError, match="only 5 records of small@1 have a 'few' and 'stop' and 'perplexity'"):
        distill(sqlite_workspace, version, DistillParams(teacher="few", extra_teachers=(
            TeacherSignal(scorer="stop"), TeacherSignal(scorer=PERPLEXITY))), embedding)


def test_heuristic_signals_are_student_features(workspace: Workspace, tmp_path: Path) -> None:
    """With `heuristics`, the quality package's signals (and the C4 word share) join the embedding: each
    standardised by the training sample's median and spread, clipped to +-5, scaled by 0.1."""
    pool, dev = labelled_set("pool", 40, 40), labelled_set("dev", 30, 30)
    texts = pool.texts + dev.texts
    version = ingest_texts(workspace, tmp_path, "mix", [*texts, pool.texts[0]])  # a repeated text: one row read
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    stop = np.array([stop_word_share(text) for text in pool.texts])
    workspace.scores.add(TEACHER, "a1", hashes.slice(0, len(pool)), stop, {"kind": "stop word share"})
    embedding = ensure_embeddings(workspace, version, "minilm", "onnx")
    _, vectors = workspace.embeddings.embeddings_for(version, embedding.config_hash)
    vectors = np.asarray(vectors, dtype=np.float64)[:len(texts)]

    plain = DistillParams(teacher=TEACHER)
    params = plain.model_copy(update={"heuristics": True})
    table = heuristic_signals(pa.array(texts, pa.large_string()))
    signals = np.nan_to_num(np.column_stack([*(table[name].to_numpy(zero_copy_only=False).astype(float)
                                                 for name in table.column_names), c4_word_share(texts)]))
    sample = signals[:len(pool)]
    spread = np.where(sample.std(axis=0) > 0, sample.std(axis=0), 1.0)
    widened = np.hstack([vectors, 0.1 * np.clip((signals - np.median(sample, axis=0)) / spread, -5, 5)])
    with_signals = scores(workspace, version, params, embedding)
    assert with_signals[-1] == with_signals[0]  # the repeated text scores as its first copy
    np.testing.assert_allclose(with_signals[:len(texts)],
                               reference_self_training(widened[:len(pool)], [stop], widened, 0.2, 1), rtol=1e-4,
                               atol=1e-6)
    assert auc(dev.labels, with_signals[len(pool):len(texts)]) > 0.75  # held-out texts, never seen by the teacher

    hash_ = distill(workspace, version, params, embedding)
    config = workspace.scores.resolve(version, params.scorer, hash_).params
    assert config["heuristics"] == [*table.column_names, "c4_word_share"] and config["heuristic_weight"] == 0.1
    assert distill(workspace, version, plain, embedding) != hash_  # its own stored config
