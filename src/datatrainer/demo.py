"""The end-to-end demo: every landed stage on real text from installed wheels, no server, no downloads.

A "crawl" is assembled from real news and Wikipedia text plus the problems a real crawl has, planted so the
stages have something to find: near-duplicate copies (light edits), exact copies, boilerplate and spam
pages, Bulgarian pages in an English set, and contact details (emails, phone numbers) in a few news pages.
Collection dates spread over three years, so freshness has something to measure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from datatrainer.corpora import BG_WIKI_FILE, news_articles, wikipedia_articles

_JUNK = [
    "Home | About us | Products | Services | Blog | Contact | Login | Register | Cart (0) | Search",
    "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore",
    "\n".join(["BUY CHEAP WATCHES ONLINE best price free shipping"] * 12),
    "We use cookies to improve your experience. By continuing to browse you accept our cookie policy. "
    "Accept all cookies | Manage preferences | Privacy policy | Terms of use",
    "\n".join(f"- item {i}: only $9.99 ... click here ..." for i in range(15)),
    "cheap flights cheap hotels cheap cars cheap flights cheap hotels cheap cars " * 8,
]


def _edit(text: str, rng: random.Random, share: float = 0.03) -> str:
    """A near-duplicate: a few words dropped, case and spacing changed, as re-published copies look."""
    words = text.split()
    kept = [w for w in words if rng.random() > share]
    return "  ".join(kept).replace(". ", ".\n", 3)


def crawl_records(seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)  # nosec B311  # reproducible sampling or jitter, not a secret
    start = datetime(2023, 1, 1, tzinfo=UTC)

    def stamp(record: dict[str, Any], source: str) -> dict[str, Any]:
        collected = start + timedelta(days=rng.randrange(0, 3 * 365))
        return {**record, "source_site": source, "collected_at": collected.isoformat()}

    news = list(news_articles())
    with_contacts = set(rng.sample(range(len(news)), 8))
    for index, record in enumerate(news):
        if index in with_contacts:  # the UK's drama range and example.org: realistic, but nobody's
            record = {**record, "text": f"{record['text']} Readers can reach the desk at news{index}@example.org "
                                        f"or on +44 20 7946 0{index % 1000:03d}."}
        yield stamp(record, "news")
    for index, record in enumerate(rng.sample(news, 40)):
        yield stamp({"id": f"copy-{index:03d}", "text": _edit(record["text"], rng), "lang": "en"}, "mirror")
    for index, record in enumerate(rng.sample(news, 10)):
        yield stamp({"id": f"exact-{index:03d}", "text": record["text"], "lang": "en"}, "mirror")
    for index, text in enumerate(_JUNK * 3):
        yield stamp({"id": f"junk-{index:03d}", "text": text, "lang": "en"}, "spam")
    for record in wikipedia_articles(min_chars=0, dump=BG_WIKI_FILE, lang="bg"):
        yield stamp(record, "bgwiki")
