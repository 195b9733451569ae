"""Synthetic inputs for sampler tests: clustered unit embeddings shaped like sentence embeddings (random
directions, within-cluster cosine around 0.8, so no accidental near-duplicates at eps = 0.05), random
scores, and word texts from two vocabularies."""

from __future__ import annotations

import numpy as np

from datatrainer.sampling import SamplerInputs

WORDS = ["river", "stone", "garden", "window", "market", "engine", "letter", "cloud", "silver", "harbor"]
TARGET_WORDS = ["goal", "match", "striker", "league", "keeper", "season"]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered_embeddings(n: int, dims: int = 32, clusters: int = 8, spread: float = 0.5,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows around `clusters` random directions, and each row's cluster."""
    rng = np.random.default_rng(seed)
    centers = unit(rng.standard_normal((clusters, dims)))
    labels = rng.integers(clusters, size=n)
    return unit(centers[labels] + spread * rng.standard_normal((n, dims)) / np.sqrt(dims)), labels


def word_texts(n: int, vocabulary: list[str], seed: int, words: int = 12) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(row) for row in rng.choice(vocabulary, size=(n, words))]


def inputs(n: int, seed: int = 0) -> SamplerInputs:
    """Everything any sampler needs, for n rows without duplicates or tied scores."""
    rng = np.random.default_rng(seed)
    return SamplerInputs.of([f"r{i:05d}" for i in range(n)], embeddings=clustered_embeddings(n, seed=seed)[0],
                            scores=rng.random(n), texts=word_texts(n, WORDS + TARGET_WORDS, seed),
                            target_texts=word_texts(20, TARGET_WORDS, seed + 1))
