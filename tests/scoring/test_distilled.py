"""The distilled scorer end to end on a real version: MiniLM embeddings, a stored teacher, ridge, the store.

The teacher here is a real, cheap, independent quality signal (the share of words that are English stop
words, as Gopher's quality filter counts them), stored in `ws.scores` exactly as the Ask-LLM job stores its
scores; the student must learn it from embeddings and rank held-out dev texts far better than chance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from sklearn.linear_model import Ridge

from datatrainer.errors import DatatrainerError
from datatrainer.scoring.devset import labelled_set
from datatrainer.scoring.distilled import DistillParams, distill, training_sample
from datatrainer.scoring.evaluate import auc
from datatrainer.scoring.jobs import ensure_embeddings
from datatrainer.store.schema import CONTENT_HASH
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

    params = DistillParams(teacher=TEACHER, target="raw")
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
    assert distill(workspace, version, DistillParams(teacher=TEACHER, target="raw", alpha=5.0), embedding) != hash_

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
        distill(sqlite_workspace, version, DistillParams(teacher="length"), embedding)

    scored = pc.is_in(hashes, value_set=training_sample(version, 12, seed=0))
    partial = hashes.filter(pc.invert(scored))[:5]
    sqlite_workspace.scores.add("partial", "c1", partial, np.ones(len(partial)), {"kind": "some"})
    with pytest.raises(DatatrainerError, match="12 training records of small@1 have no 'partial' score"):
        distill(sqlite_workspace, version, DistillParams(teacher="partial", train_size=12, target="raw"), embedding)
    with pytest.raises(DatatrainerError, match="only 5 records"):
        distill(sqlite_workspace, version, DistillParams(teacher="partial", target="raw"), embedding)
