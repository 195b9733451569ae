"""Real English text at paragraph and sentence size from the wheels that are installed (no downloads).

`corpora` yields whole documents; checks of embedding-based scores (density, clustering) need tens of
thousands of short texts of varied topic and style, which is what these splits give: Wikipedia paragraphs,
news sentences (Lee corpora), 30-word windows of the stemmed Wikipedia-derived `head500` documents, movie
review sentences (Pang & Lee polarity) and the paragraph-to-paragraph test texts. About 20,000 in all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path

from datatrainer.corpora import gensim_test_data, news_articles, wikipedia_articles

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
MIN_CHARS = 40
WINDOW_WORDS = 30


def wikipedia_paragraphs() -> Iterator[str]:
    for article in wikipedia_articles():
        yield from (line for line in article["text"].split("\n") if len(line) >= 60)


def news_sentences() -> Iterator[str]:
    lee = _lines(gensim_test_data() / "lee.cor")
    for text in chain((article["text"] for article in news_articles()), lee):
        yield from (s for s in _SENTENCE_END.split(text) if len(s) >= MIN_CHARS)


def head500_windows() -> Iterator[str]:
    for document in _lines(gensim_test_data() / "head500.noblanks.cor"):
        words = document.split()
        for start in range(0, len(words) - WINDOW_WORDS // 2, WINDOW_WORDS):
            yield " ".join(words[start:start + WINDOW_WORDS])


def review_sentences() -> Iterator[str]:
    for line in _lines(gensim_test_data() / "pang_lee_polarity.cor", encoding="cp1252"):
        yield line.split(" ", 1)[1] if line.startswith("__label__") else line


def paragraph_to_paragraph_sentences() -> Iterator[str]:
    for name in ("para2para_text1.txt", "para2para_text2.txt"):
        for text in _lines(gensim_test_data() / name):
            yield from (s for s in _SENTENCE_END.split(text) if len(s) >= MIN_CHARS)


def real_texts(limit: int | None = None) -> list[str]:
    """Distinct real texts, sources interleaved round-robin so any prefix mixes topics and styles."""
    sources = [wikipedia_paragraphs(), news_sentences(), head500_windows(), review_sentences(),
               paragraph_to_paragraph_sentences()]
    seen: dict[str, None] = {}
    for text in _round_robin(sources):
        seen.setdefault(text.strip(), None)
        if limit is not None and len(seen) >= limit:
            break
    return list(islice(seen, limit))


def _round_robin(iterators: list[Iterator[str]]) -> Iterator[str]:
    active = list(iterators)
    while active:
        for iterator in list(active):
            item = next(iterator, None)
            if item is None:
                active.remove(iterator)
            else:
                yield item


def _lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    with open(path, encoding=encoding, errors="replace") as handle:
        yield from (line.strip() for line in handle if line.strip())
