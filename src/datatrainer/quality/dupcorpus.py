"""A generated corpus with planted duplicates: the ground truth that dedup is measured against.

Real corpora have no labels saying which documents are near-copies, so recall and precision of a
deduplicator can only be measured on data where the copies were planted on purpose. Originals are random
Zipf-distributed words in sentences; planted near-copies get word substitutions, insertions and deletions at
a random rate (so their true Jaccard spreads across the usual thresholds) and different surface forms
(case, punctuation, whitespace) that normalisation should see through; exact copies repeat a text verbatim.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["th", "ch", "sh", "qu"]


@dataclass(frozen=True)
class PlantedCorpus:
    """`table` has `id` and `text`; `origin[i]` is the row that row i was copied from, or -1 for an original."""

    table: pa.Table
    origin: np.ndarray

    @property
    def texts(self) -> pa.ChunkedArray:
        return self.table["text"]


def _vocabulary(rng: np.random.Generator, size: int) -> np.ndarray:
    """`size` distinct made-up words of one to four syllables."""
    found: dict[str, None] = {}
    while len(found) < size:
        lengths = rng.integers(1, 5, size)
        parts = rng.integers(0, len(_SYLLABLES), (size, 4))
        for length, row in zip(lengths, parts, strict=True):
            found["".join(_SYLLABLES[p] for p in row[:length])] = None
    return np.array(list(found)[:size], dtype=object)


_NOISY_SEPARATORS = np.array(["  ", "\n", " - ", "; ", "!\t", " (", ") "], dtype=object)


def _render(words: list[str], rng: np.random.Generator, noisy: bool) -> str:
    """Words as sentences; a noisy rendering changes case, punctuation and spacing but not the words."""
    roll = rng.random(len(words))
    ends = roll < 0.07
    separators = np.where(ends, ". ", np.where(roll < 0.12, ", ", " ")).astype(object)
    capital = np.concatenate(([True], ends[:-1]))
    upper = np.zeros(len(words), dtype=bool)
    if noisy:
        swap = rng.random(len(words)) < 0.08
        separators[swap] = rng.choice(_NOISY_SEPARATORS, int(swap.sum()))
        capital |= rng.random(len(words)) < 0.05
        upper = capital & (rng.random(len(words)) < 0.2)
    cased = [w.upper() if u else w.capitalize() if c else w for w, c, u in zip(words, capital, upper, strict=True)]
    return "".join(w + s for w, s in zip(cased, separators, strict=True)).rstrip() + "."


def _edit(words: list[str], rate: float, pool: Iterator[str], rng: np.random.Generator) -> list[str]:
    """Apply round(rate * len) random word substitutions, insertions and deletions (new words from `pool`)."""
    words = list(words)
    for kind, where in zip(rng.integers(0, 3, round(rate * len(words))), rng.random(len(words)), strict=False):
        at = int(where * len(words))
        if kind == 0:
            words[at] = next(pool)
        elif kind == 1:
            words.insert(at, next(pool))
        elif len(words) > 1:
            del words[at]
    return words


def planted_corpus(
    docs: int = 20_000,
    *,
    words: int = 150,
    near_fraction: float = 0.1,
    exact_fraction: float = 0.02,
    max_edit_rate: float = 0.15,
    vocabulary: int = 8_000,
    seed: int = 0,
) -> PlantedCorpus:
    """`docs` documents of about `words` words, of which the given fractions are planted copies.

    Each near-copy edits its source at a rate drawn uniformly from [0, max_edit_rate]; at 0.15 its word
    3-gram Jaccard with the source falls to about 0.4, so pairs land on both sides of any usual threshold.
    Rows are shuffled, so a copy may come before its source.
    """
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng, vocabulary)
    weights = 1.0 / np.arange(1, vocabulary + 1)
    weights /= weights.sum()
    n_near = int(docs * near_fraction)
    n_exact = int(docs * exact_fraction)
    n_orig = docs - n_near - n_exact
    lengths = np.clip(rng.normal(words, 0.2 * words, n_orig), 5, 4 * words).astype(np.int64)
    chosen = vocab[rng.choice(vocabulary, size=int(lengths.sum()), p=weights)]
    word_lists = [chunk.tolist() for chunk in np.split(chosen, np.cumsum(lengths)[:-1])]
    texts = [_render(w, rng, noisy=False) for w in word_lists]
    origin = [-1] * n_orig
    # Replacement words come from one pre-drawn Zipf sample: drawing them one by one is slow.
    pool = iter(vocab[rng.choice(vocabulary, size=n_near * 4 * words + 1, p=weights)].tolist())
    for source in rng.integers(0, n_orig, n_near):
        edited = _edit(word_lists[source], rng.uniform(0, max_edit_rate), pool, rng)
        texts.append(_render(edited, rng, noisy=True))
        origin.append(int(source))
    for source in rng.integers(0, len(texts), n_exact):
        texts.append(texts[source])
        origin.append(int(source))
    order = rng.permutation(docs)
    position = np.empty(docs, dtype=np.int64)
    position[order] = np.arange(docs)
    origin_array = np.array(origin, dtype=np.int64)[order]
    origin_array = np.where(origin_array >= 0, position[np.maximum(origin_array, 0)], -1)
    ids = pa.array([f"doc-{i:06d}" for i in range(docs)], pa.string())
    text_array = pa.array([texts[i] for i in order], pa.string())
    return PlantedCorpus(pa.table({"id": ids, "text": text_array}), origin_array)
