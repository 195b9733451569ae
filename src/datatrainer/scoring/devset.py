"""A labelled good/junk set for measuring how well a quality scorer ranks real text above junk.

GOOD texts are real paragraphs: Wikipedia paragraphs and runs of consecutive news sentences (the Lee corpus),
both from the gensim wheel. JUNK texts are what crawls are full of, one function per family; each is built
around a "host" paragraph of the same part (as boilerplate sits on a real page), so its topic words, and
the source document it is recorded under, belong to that part. Junk lengths are drawn from the good
lengths, so length alone cannot separate the classes (`evaluate` reports its AUC as a sanity baseline).

Source documents, not texts, are split between the parts: `dev` is for evaluation only; `pool` stands for
the unlabelled data a distilled classifier may learn from, with LLM scores as targets (never its labels).
Everything is a pure function of the seed.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from datatrainer.corpora import wikipedia_articles
from datatrainer.paragraphs import news_sentences

Part = Literal["dev", "pool"]
PARTS: tuple[Part, ...] = ("dev", "pool")
DEV_SHARE = 0.35  # of each corpus's source documents; the rest is the pool's
GOOD = "good"
MIN_CHARS, MAX_CHARS = 200, 900
NEWS_CHUNK_CHARS = 300  # a news paragraph is the shortest run of consecutive sentences this long
# (source document, paragraph)
Paragraph = tuple[str, str]
Family = Callable[[random.Random, str, int], str]


@dataclass(frozen=True)
class LabelledSet:
    """Texts with their label (1 good, 0 junk), junk family (`good` for good texts) and source document."""

    part: str
    ids: list[str]
    texts: list[str]
    labels: np.ndarray[Any, np.dtype[np.int8]]
    families: list[str]
    sources: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def to_table(self) -> pa.Table:
        return pa.table({"id": self.ids, "text": self.texts, "label": pa.array(self.labels, pa.int8()),
                         "family": self.families, "source": self.sources})


def labelled_set(part: Part, good: int = 200, junk: int = 200, seed: int = 0) -> LabelledSet:
    """`good` real paragraphs and `junk` junk texts (families in turn) from the part's source documents."""
    paragraphs = _part_paragraphs(seed, part)
    if good + junk > len(paragraphs):
        raise ValueError(f"the {part} part has {len(paragraphs)} paragraphs, fewer than {good + junk} requested")
    rng = random.Random(f"{seed}-{part}")
    chosen = rng.sample(paragraphs, good + junk)  # junk hosts are paragraphs not used as good texts
    items = [(f"{part}-good-{i:04d}", text, 1, GOOD, source) for i, (source, text) in enumerate(chosen[:good])]
    lengths = [len(text) for _, text in paragraphs]
    names = list(FAMILIES)
    for i, (source, host) in enumerate(chosen[good:]):
        name = names[i % len(names)]
        text = FAMILIES[name](rng, host, rng.choice(lengths))
        items.append((f"{part}-junk-{i:04d}", text, 0, name, source))
    rng.shuffle(items)
    ids, texts, labels, families, sources = (list(column) for column in zip(*items, strict=True))
    return LabelledSet(part, ids, texts, np.array(labels, dtype=np.int8), families, sources)


def split_documents(seed: int = 0) -> dict[Part, frozenset[str]]:
    """Each corpus's source documents shuffled by the seed: the first `DEV_SHARE` to dev, the rest to pool."""
    parts: dict[Part, set[str]] = {"dev": set(), "pool": set()}
    for corpus in ("wiki", "news"):
        documents = sorted({source for source, _ in _good_paragraphs() if _corpus(source) == corpus})
        random.Random(f"{seed}-{corpus}").shuffle(documents)
        cut = round(len(documents) * DEV_SHARE)
        parts["dev"].update(documents[:cut])
        parts["pool"].update(documents[cut:])
    return {part: frozenset(documents) for part, documents in parts.items()}


def _corpus(source: str) -> str:
    return "wiki" if source.startswith("enwiki") else "news"


@cache
def _part_paragraphs(seed: int, part: Part) -> list[Paragraph]:
    documents = split_documents(seed)[part]
    return [(source, text) for source, text in _good_paragraphs() if source in documents]


@cache
def _good_paragraphs() -> tuple[Paragraph, ...]:
    """Wikipedia paragraphs and news sentence runs of MIN_CHARS..MAX_CHARS that end a sentence."""
    wiki = [(article["id"], _MARKUP.sub("", line).strip()) for article in wikipedia_articles()
            for line in article["text"].split("\n")]
    news: list[Paragraph] = []
    run: list[str] = []
    document = ""
    for source, sentence in news_sentences():
        if source != document:  # a document's last sentences, short of a paragraph, are left out
            run, document = [], source
        run.append(sentence)
        if sum(map(len, run)) >= NEWS_CHUNK_CHARS:
            news.append((document, " ".join(run)))
            run = []
    return tuple((source, _LIST_MARK.sub("", text)) for source, text in wiki + news
                 if MIN_CHARS <= len(text) <= MAX_CHARS and text[-1] in ".!?\"'")


_MARKUP = re.compile(r"'{2,}")  # wiki italics/bold quotes that gensim's filter leaves in place
_LIST_MARK = re.compile(r"^[#*:;]+\s*")  # wiki list and indent markers at the start of a line
_WORD = re.compile(r"[A-Za-z][a-z]{4,}")


def _topics(host: str, rng: random.Random, count: int = 4) -> list[str]:
    """Content words of the host paragraph, as a page's menus, tags and keywords would use them."""
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(host)))
    return rng.sample(words, min(count, len(words))) or ["news"]


def _fill(piece: Callable[[], str], separator: str, target: int) -> str:
    """Pieces joined until the text reaches `target` characters."""
    pieces = [piece()]
    while len(separator.join(pieces)) < target:
        pieces.append(piece())
    return separator.join(pieces)


def _site(rng: random.Random, host: str) -> str:
    return _topics(host, rng, 1)[0].title() + rng.choice([".com", " Online", " Times", " Hub", ".net", " Direct"])


def navigation_menu(rng: random.Random, host: str, target: int) -> str:
    items = [*_NAV, *(topic.title() for topic in _topics(host, rng, 6))]
    return _fill(lambda: rng.choice(items), rng.choice([" | ", " » ", "\n", " · ", " / ", "  "]), target)


def cookie_banner(rng: random.Random, host: str, target: int) -> str:
    site = _site(rng, host)
    return _fill(lambda: rng.choice(_COOKIE).format(site=site), " ", target)


def spam(rng: random.Random, host: str, target: int) -> str:
    product = _topics(host, rng, 1)[0]

    def line() -> str:
        return rng.choice(_SPAM).format(product=product, upper=product.upper(), amount=rng.randrange(50, 9999),
                                        phone=f"1-800-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
                                        url=f"www.{product}{rng.randrange(10, 99)}.biz")

    return _fill(line, rng.choice([" ", "!! ", "\n"]), target)


def keyword_stuffing(rng: random.Random, host: str, target: int) -> str:
    keywords = _topics(host, rng, 3)

    def phrase() -> str:
        return rng.choice(_SEO_PHRASES).format(kw=rng.choice(keywords), kw2=rng.choice(keywords),
                                               year=rng.randrange(2015, 2026))

    return _fill(phrase, rng.choice([", ", " ", " - "]), target)


def gibberish(rng: random.Random, host: str, target: int) -> str:
    def syllables() -> str:
        return "".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiouy") for _ in range(rng.randrange(1, 5)))

    def mash() -> str:
        return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(rng.randrange(2, 11)))

    word = rng.choice([syllables, mash])
    return _fill(lambda: word() + rng.choice(["", "", "", ".", ",", "!", "?"]), " ", target)


def repeated_lines(rng: random.Random, host: str, target: int) -> str:
    first_sentence = re.split(r"(?<=[.!?])\s", host, maxsplit=1)[0]
    site, topic = _site(rng, host), _topics(host, rng, 1)[0]
    line = rng.choice([first_sentence, *(template.format(site=site, topic=topic) for template in _REPEATED)])
    return _fill(lambda: line, "\n", target)


def product_listing(rng: random.Random, host: str, target: int) -> str:
    topics = _topics(host, rng, 4)

    def item() -> str:
        stars = rng.randrange(1, 6)
        return (f"{rng.choice(_BRANDS)} {rng.choice(topics).title()} {rng.choice(_PRODUCTS)} - "
                f"${rng.randrange(3, 400)}.{rng.randrange(0, 100):02d} | {'★' * stars}{'☆' * (5 - stars)} "
                f"({rng.randrange(0, 3000)} reviews) | {rng.choice(_STOCK)} | Add to cart")

    return _fill(item, "\n", target)


def tag_soup(rng: random.Random, host: str, target: int) -> str:
    topics = _topics(host, rng, 5)

    def fragment() -> str:
        topic = rng.choice(topics)
        return rng.choice(_TAGS).format(topic=topic, title=topic.title(), n=rng.randrange(1, 999))

    return _fill(fragment, rng.choice(["", "\n", " "]), target)


def word_salad(rng: random.Random, host: str, target: int) -> str:
    """The host paragraph's words in random order: the same words, no syntax (the test checks the multiset)."""
    words = host.split()
    rng.shuffle(words)
    return " ".join(words)


def truncated_fragments(rng: random.Random, host: str, target: int) -> str:
    """Windows of a few words cut out of the host paragraph, as snippet pages and broken extractions show."""
    words = host.split()

    def window() -> str:
        start = rng.randrange(0, max(1, len(words) - 3))
        return " ".join(words[start:start + rng.randrange(3, 9)])

    return _fill(window, rng.choice([" ... ", "… ", "\n", " | "]), target)


def boilerplate_footer(rng: random.Random, host: str, target: int) -> str:
    site = _site(rng, host)
    return _fill(lambda: rng.choice(_FOOTER).format(site=site, year=rng.randrange(2005, 2026)),
                 rng.choice([" | ", "\n", " "]), target)


def seo_link_list(rng: random.Random, host: str, target: int) -> str:
    topics = _topics(host, rng, 5)
    head = rng.choice(["Related searches:", "Popular links:", "Tags:", "See also:", "Trending:"])
    return head + "\n" + _fill(lambda: f"{rng.choice(topics)} {rng.choice(_LINK_SUFFIXES)}",
                               rng.choice(["\n", " | ", ", "]), target - len(head))


def log_dump(rng: random.Random, host: str, target: int) -> str:
    def line() -> str:
        stamp = (f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:"
                 f"{rng.randrange(60):02d}:{rng.randrange(60):02d},{rng.randrange(1000):03d}")
        message = rng.choice(_LOG_MESSAGES).format(n=rng.randrange(1, 65536), ms=rng.randrange(1, 5000),
                                                   name=rng.choice(_LOG_NAMES))
        return f"{stamp} {rng.choice(_LEVELS)} [{rng.choice(_THREADS)}] {rng.choice(_LOG_NAMES)}: {message}"

    return _fill(line, "\n", target)


FAMILIES: dict[str, Family] = {function.__name__: function for function in (
    navigation_menu, cookie_banner, spam, keyword_stuffing, gibberish, repeated_lines, product_listing, tag_soup,
    word_salad, truncated_fragments, boilerplate_footer, seo_link_list, log_dump)}

_NAV = ["Home", "About us", "Contact", "Products", "Services", "Blog", "News", "Login", "Register", "Sign in",
        "Cart (0)", "Search", "FAQ", "Careers", "Shop", "Help", "My account", "Wishlist", "Sitemap", "Events",
        "Gallery", "Downloads", "Support", "Pricing", "Partners", "Press", "Forum", "Menu", "Back to top"]
_COOKIE = [
    "We use cookies to improve your experience on {site}.",
    "By continuing to browse this site you agree to our use of cookies.",
    "Some cookies are essential, others help us improve {site} and show you relevant ads.",
    "You can change your preferences at any time in the cookie settings.",
    "Accept all cookies", "Reject all", "Manage preferences", "Cookie policy", "Privacy policy",
    "{site} and our partners store and access information on your device.",
    "We and our 842 partners process personal data such as IP addresses and browsing data.",
    "Your privacy matters to us.", "This website uses cookies.", "OK, got it", "Learn more",
    "Strictly necessary cookies | Performance cookies | Targeting cookies | Functional cookies",
]
_SPAM = [
    "BUY {upper} NOW!!!", "Cheap {product} at the lowest price guaranteed", "Click here to claim your FREE {product}",
    "Congratulations! You have won ${amount}!", "Call {phone} now, limited offer", "Visit {url} today",
    "100% free, no credit card needed", "Earn ${amount} a week from home", "Best {product} deals online!!!",
    "Act now before it is too late", "Lose 10 kg in 7 days with {product}", "Hot singles in your area",
    "Miracle {product} doctors hate", "Order today and get 90% OFF", "Free shipping worldwide on {product}",
]
_SEO_PHRASES = ["{kw}", "best {kw}", "cheap {kw}", "{kw} online", "buy {kw}", "{kw} {year}", "{kw} near me",
                "top {kw} deals", "{kw} {kw2}", "{kw} for sale", "free {kw}", "{kw} reviews", "{kw} price",
                "discount {kw}", "{kw} {kw2} {kw}"]
_REPEATED = ["Click here to subscribe to the {site} newsletter", "Loading {topic}...", "Advertisement: {site}",
             "This {topic} content is not available in your region", "Share on Facebook Share on Twitter {site}",
             "Please enable JavaScript to view {site}", "Read more about {topic}"]
_BRANDS = ["Acme", "ProLine", "Zentra", "Nordic", "EcoMax", "UltraX", "Vantage", "Brightway", "Kora"]
_PRODUCTS = ["Edition", "Set", "Kit", "Pack", "Deluxe", "Mini", "Pro", "Bundle", "Collection", "Case"]
_STOCK = ["In stock", "Only 3 left", "Out of stock", "Ships in 2-3 days", "Free delivery", "Pre-order"]
_TAGS = ['<div class="nav-item"><a href="/{topic}">{title}</a></div>', "&nbsp;&nbsp;<br/>", "</span></li><li>",
         '<script type="text/javascript">var _gaq = _gaq || []; _gaq.push(["_trackPageview"]);</script>',
         '<img src="/img/{topic}_{n}.jpg" alt="{title}" width="300"/>', "{{{{Infobox {topic}|id={n}}}}}",
         '<meta name="keywords" content="{topic}, {topic} {n}"/>', ".{topic}-header {{ margin: 0 auto; }}",
         "<!-- {topic} widget start -->", '<td class="cell-{n}">{title}</td>', "[[Category:{title}]]",
         '<input type="hidden" name="csrf" value="{n}a9f"/>', "&lt;p&gt;{title}&lt;/p&gt;", "</div></div></div>"]
_FOOTER = ["© {year} {site}. All rights reserved.", "Privacy Policy", "Terms of Service", "Terms of Use",
           "Sitemap", "Accessibility", "Follow us on Facebook, Twitter and Instagram", "Contact us",
           "Subscribe to our newsletter", "Powered by WordPress", "Back to top", "Advertise with us",
           "{site} is a registered trademark.", "Do not sell my personal information", "Cookie settings"]
_LINK_SUFFIXES = ["near me", "reviews", "for sale", "price", "pdf download", "wiki", "images", "meaning",
                  "definition", "free download", "2024", "vs", "map", "tickets", "jobs", "quotes"]
_LEVELS = ["INFO", "DEBUG", "WARN", "ERROR", "TRACE"]
_THREADS = ["main", "worker-1", "worker-3", "pool-2-thread-7", "http-nio-8080-exec-4", "scheduler"]
_LOG_NAMES = ["c.e.app.Service", "o.h.engine.jdbc", "db.pool", "auth.TokenFilter", "cache.Redis", "api.Router"]
_LOG_MESSAGES = ["request {n} completed in {ms} ms", "connection pool exhausted, waiting {ms} ms",
                 "retrying job {n} (attempt 3/5)", "cache miss for key user:{n}", "GET /api/v1/items/{n} 200",
                 "java.lang.NullPointerException at {name}.handle(Handler.java:{n})", "heartbeat ok ({ms} ms)",
                 "session {n} expired", "flushing {n} records to disk"]
