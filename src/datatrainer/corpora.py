"""Real text that ships inside installed wheels, for the demo, tests and benchmarks (no downloads).

The `gensim` wheel carries 107 English Wikipedia articles (CC BY-SA) and 300 Australian news articles
(the Lee corpus) among its test data.
"""

from __future__ import annotations

import bz2
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from datatrainer.errors import DatatrainerError

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
BG_WIKI_FILE = "bgwiki-latest-pages-articles-shortened.xml.bz2"
NEWS_FILE = "lee_background.cor"


def gensim_test_data() -> Path:
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise DatatrainerError("the bundled corpora need gensim: pip install 'datatrainer[demo]'")
    return Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"


def wikipedia_articles(min_chars: int = 200, dump: str = WIKI_FILE, lang: str = "en") -> Iterator[dict[str, Any]]:
    """Wikipedia articles as plain text (markup stripped by gensim), redirects and stubs left out.

    The default dump holds 106 English articles; `dump=BG_WIKI_FILE, lang="bg"` gives 3 Bulgarian ones.
    """
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    with bz2.open(gensim_test_data() / dump) as handle:
        for title, markup, page_id in extract_pages(handle):
            text = "\n".join(line.strip() for line in filter_wiki(markup).splitlines() if line.strip())
            if markup.lstrip().upper().startswith("#REDIRECT") or len(text) < min_chars:
                continue
            yield {"id": f"{lang}wiki-{page_id}", "title": title, "text": text, "lang": lang}


def news_articles() -> Iterator[dict[str, Any]]:
    """The Lee background corpus: one news article per line."""
    with open(gensim_test_data() / NEWS_FILE, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield {"id": f"lee-{number:03d}", "text": line.strip(), "lang": "en"}


def labelled_reviews() -> Iterator[tuple[str, str]]:
    """(sentence, "pos" | "neg"): the 200 movie-review sentences of Pang & Lee's polarity data in gensim's test
    data (fastText format, Windows-1252), a small real classification task."""
    text = (gensim_test_data() / "pang_lee_polarity.cor").read_text(encoding="cp1252")
    for line in text.splitlines():
        label, _, sentence = line.partition(" ")
        if sentence.strip():
            yield sentence.strip(), label.removeprefix("__label__")


def write_jsonl(records: Iterator[dict[str, Any]], path: Path) -> int:
    count = 0
    with open(path, "wb") as handle:
        for record in records:
            handle.write(orjson.dumps(record) + b"\n")
            count += 1
    return count
