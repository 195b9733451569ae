"""Real text for the heuristic-filter and language-id tests: Wikipedia articles that ship inside gensim."""

from __future__ import annotations

import bz2
from functools import cache

from datatrainer.corpora import gensim_test_data, news_articles, wikipedia_articles

BG_WIKI = "bgwiki-latest-pages-articles-shortened.xml.bz2"


@cache
def english_articles() -> tuple[str, ...]:
    return tuple(record["text"] for record in wikipedia_articles())


@cache
def news() -> tuple[str, ...]:
    return tuple(record["text"] for record in news_articles())


@cache
def bulgarian_articles() -> tuple[str, ...]:
    """The three Bulgarian Wikipedia articles of gensim's test data, markup stripped as for the English ones."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    with bz2.open(gensim_test_data() / BG_WIKI) as handle:
        return tuple("\n".join(line.strip() for line in filter_wiki(markup).splitlines() if line.strip())
                     for _, markup, _ in extract_pages(handle))


def paragraphs(articles: tuple[str, ...], min_chars: int = 100) -> list[str]:
    """The article lines of at least `min_chars` characters: shorter, harder samples than whole articles."""
    return [line for article in articles for line in article.split("\n") if len(line) >= min_chars]
