"""Scorers and their caches: embeddings, density (RACE sketch), and the score store they write to."""

from datatrainer.scoring.embedding_store import EmbeddingStore
from datatrainer.scoring.propensity import inverse_propensity_sample
from datatrainer.scoring.store import ScoreStore

__all__ = ["EmbeddingStore", "ScoreStore", "inverse_propensity_sample"]
