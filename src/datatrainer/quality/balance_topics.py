"""Topics for the balance report: k-means clusters of the version's stored embeddings, named by their words.

Only when stored embeddings cover every record (a partial matrix would bias the shares); a seeded sample of
at most `topic_sample` records is clustered, so the cost is bounded. Each cluster is named by the three
words most particular to it (document frequency in the cluster over frequency in the sample).
"""

from __future__ import annotations

import numpy as np

from datatrainer.quality.balance import TITLES, BalanceConfig, Dimension, dimension
from datatrainer.store.schema import TEXT
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace


def _sample_texts(version: DatasetVersion, rows: np.ndarray) -> list[str]:
    """The texts of the given (sorted) row positions, read batch by batch."""
    texts: list[str] = []
    offset = 0
    for batch in version.read_batches([TEXT]):
        inside = rows[(rows >= offset) & (rows < offset + batch.num_rows)] - offset
        texts += [t or "" for t in batch.column(0).take(inside).to_pylist()]
        offset += batch.num_rows
    return texts


def _names(texts: list[str], labels: np.ndarray, clusters: int) -> list[str]:
    from sklearn.feature_extraction.text import CountVectorizer

    try:
        vectorizer = CountVectorizer(stop_words="english", binary=True, min_df=2,
                                     token_pattern=r"(?u)\b[^\W\d_]{3,}\b")  # nosec B106  # a tokenizer regex, not a password
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # no word occurs twice
        return [f"cluster {c}" for c in range(clusters)]
    words = vectorizer.get_feature_names_out()
    overall = np.asarray(counts.sum(axis=0)).ravel() + 1.0
    names = []
    for c in range(clusters):
        inside = np.asarray(counts[labels == c].sum(axis=0)).ravel()
        particular = inside * (inside / overall)
        top = [str(words[i]) for i in np.argsort(-particular, kind="stable")[:3] if inside[i] > 0]
        names.append(f"{c}: " + ", ".join(top) if top else f"cluster {c}")
    return names


def topic_dimension(workspace: Workspace, version: DatasetVersion,
                    config: BalanceConfig) -> tuple[Dimension | None, str]:
    """The topic dimension, or None and why it is not measured."""
    complete = [c for c in workspace.embeddings.computed(version) if c.complete and c.records]
    if config.embedding_model is not None:
        chosen = workspace.embeddings.resolve(version, config.embedding_model)
    elif complete:
        chosen = complete[0].config
    else:
        return None, f"no stored embeddings cover every record (run `datatrainer embed {version.ref}`)"
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        return None, "scikit-learn is not installed (datatrainer[quality])"
    _, matrix = workspace.embeddings.embeddings_for(version, chosen.config_hash)
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(matrix), min(len(matrix), config.topic_sample), replace=False))
    vectors = matrix[rows].astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    clusters = min(config.topics, len(rows))
    labels = KMeans(n_clusters=clusters, n_init=3, random_state=0).fit_predict(vectors)
    texts = _sample_texts(version, rows)
    names = _names(texts, labels, clusters)
    words = np.array([len(t.split()) for t in texts])
    records = {names[c]: int(np.count_nonzero(labels == c)) for c in range(clusters)}
    tokens = {names[c]: int(words[labels == c].sum()) for c in range(clusters)}
    note = f"k-means of {chosen.name} embeddings; {len(rows):,} of {len(matrix):,} records (seeded sample)"
    return dimension("topic", TITLES["topic"], "categorical", records, tokens, config.top, note=note), ""
