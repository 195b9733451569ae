"""Real English text at paragraph and sentence size from the wheels that are installed (no downloads).

`corpora` yields whole documents; checks of embedding-based scores (density, clustering) need tens of
thousands of short texts of varied topic and style, which is what these splits give: Wikipedia paragraphs,
news sentences (Lee corpora), 30-word windows of the stemmed Wikipedia-derived `head500` documents, movie
review sentences (Pang & Lee polarity) and the paragraph-to-paragraph test texts: about 21,000 in all, from
about 900 source documents. Texts of one document are topically close to each other; `one_per_document`
gives texts that are not (isolated records, for planted-corpus checks).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

from datatrainer.corpora import gensim_test_data, news_articles, wikipedia_articles

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
MIN_CHARS = 40
WINDOW_WORDS = 30
# (source document, text)
Piece = tuple[str, str]


def wikipedia_paragraphs() -> Iterator[Piece]:
    for article in wikipedia_articles():
        yield from ((article["id"], line) for line in article["text"].split("\n") if len(line) >= 60)


def news_sentences() -> Iterator[Piece]:
    lee = ((f"lee.cor-{number}", text) for number, text in enumerate(_lines(gensim_test_data() / "lee.cor")))
    for document, text in chain(((article["id"], article["text"]) for article in news_articles()), lee):
        yield from ((document, s) for s in _SENTENCE_END.split(text) if len(s) >= MIN_CHARS)


def head500_windows() -> Iterator[Piece]:
    for number, document in enumerate(_lines(gensim_test_data() / "head500.noblanks.cor")):
        words = document.split()
        for start in range(0, len(words) - WINDOW_WORDS // 2, WINDOW_WORDS):
            yield f"head500-{number}", " ".join(words[start:start + WINDOW_WORDS])


def review_sentences() -> Iterator[Piece]:
    for number, line in enumerate(_lines(gensim_test_data() / "pang_lee_polarity.cor", encoding="cp1252")):
        yield f"review-{number}", line.split(" ", 1)[1] if line.startswith("__label__") else line


def paragraph_to_paragraph_sentences() -> Iterator[Piece]:
    for name in ("para2para_text1.txt", "para2para_text2.txt"):
        for text in _lines(gensim_test_data() / name):
            yield from ((name, s) for s in _SENTENCE_END.split(text) if len(s) >= MIN_CHARS)


def real_pieces() -> list[Piece]:
    """Distinct (document, text) pairs, sources interleaved round-robin so any prefix mixes topics."""
    sources = [wikipedia_paragraphs(), news_sentences(), head500_windows(), review_sentences(),
               paragraph_to_paragraph_sentences()]
    seen: dict[str, str] = {}
    for document, text in _round_robin(sources):
        seen.setdefault(text.strip(), document)
    return [(document, text) for text, document in seen.items()]


def real_texts(limit: int | None = None) -> list[str]:
    return [text for _, text in real_pieces()[:limit]]


def one_per_document() -> list[str]:
    """The first text of every source document: real texts with no sibling from the same document."""
    first: dict[str, str] = {}
    for document, text in real_pieces():
        first.setdefault(document, text)
    return list(first.values())


def _round_robin(iterators: list[Iterator[Piece]]) -> Iterator[Piece]:
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
