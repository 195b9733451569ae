"""Real text for the heuristic-filter and language-id tests: Wikipedia articles that ship inside gensim."""

from __future__ import annotations

from functools import cache

from datatrainer.corpora import BG_WIKI_FILE, news_articles, wikipedia_articles


@cache
def english_articles() -> tuple[str, ...]:
    return tuple(record["text"] for record in wikipedia_articles())


@cache
def news() -> tuple[str, ...]:
    return tuple(record["text"] for record in news_articles())


@cache
def bulgarian_articles() -> tuple[str, ...]:
    """The three Bulgarian Wikipedia articles of gensim's test data, markup stripped as for the English ones."""
    return tuple(record["text"] for record in wikipedia_articles(min_chars=0, dump=BG_WIKI_FILE, lang="bg"))


def paragraphs(articles: tuple[str, ...], min_chars: int = 100) -> list[str]:
    """The article lines of at least `min_chars` characters: shorter, harder samples than whole articles."""
    return [line for article in articles for line in article.split("\n") if len(line) >= min_chars]
