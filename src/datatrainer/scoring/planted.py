"""A corpus with known dense spots, to check that density scores find them (and how well, as an AUC).

Real texts stay isolated; planted among them are near-duplicate groups (a real text copied with light
edits: dropped words, a swapped pair, a changed case, a source tag, as scrapers and mirrors produce) and tight
topical clusters (templated pages: product listings, weather reports, job ads, each a fixed frame with
varying slots). A good density score ranks every planted record above the isolated ones: AUC near 1.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

ISOLATED, NEAR_DUPLICATE, CLUSTER = 0, 1, 2

_TAGS = ("", " (Reuters)", " Read more.", " - Updated", " [archived copy]", " Share this article.")
_TEMPLATES: tuple[tuple[str, dict[str, tuple[str, ...]]], ...] = (
    ("Buy {item} online at the best price. Free shipping on all {item} orders over ${n}. {extra}",
     {"item": ("running shoes", "wireless headphones", "garden hoses", "office chairs", "water bottles",
               "yoga mats", "desk lamps", "phone cases"),
      "extra": ("Order today!", "Limited stock.", "Returns within 30 days.", "Best seller this week.")}),
    ("Weather for {city}: {sky} with a high of {n} degrees. Winds from the {dir} at {m} km/h.",
     {"city": ("Sydney", "Perth", "Hobart", "Darwin", "Cairns", "Adelaide", "Brisbane", "Canberra"),
      "sky": ("sunny", "cloudy", "light showers", "thunderstorms", "fog in the morning"),
      "dir": ("north", "south", "east", "west")}),
    ("We are hiring a {role} in {city}. Requirements: {n} years of experience. Apply now with your CV.",
     {"role": ("software engineer", "nurse", "truck driver", "accountant", "sales assistant", "chef"),
      "city": ("London", "Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast")}),
    ("{team_a} beat {team_b} {n} to {m} on Saturday night in front of a crowd of {k} thousand.",
     {"team_a": ("Collingwood", "Carlton", "Essendon", "Richmond", "Geelong"),
      "team_b": ("Hawthorn", "Sydney", "Fremantle", "Adelaide", "Brisbane")}),
    ("This {rooms}-bedroom {home} in {suburb} features a renovated kitchen, {n} bathrooms and a large garden.",
     {"rooms": ("two", "three", "four", "five"), "home": ("house", "townhouse", "apartment", "villa"),
      "suburb": ("Newtown", "Fitzroy", "Paddington", "Glebe", "Carlton", "Subiaco")}),
    ("We use cookies to improve your experience on {site}. By continuing to browse you agree to our {policy}.",
     {"site": ("our website", "this site", "our store", "the portal", "our blog"),
      "policy": ("cookie policy", "privacy policy", "terms of use", "privacy notice")}),
    ("Shares in {company} rose {n} percent to ${m} after the company reported {result} quarterly profits.",
     {"company": ("BHP", "Qantas", "Telstra", "Woolworths", "Westpac", "Rio Tinto"),
      "result": ("higher", "record", "better than expected", "stronger")}),
    ("Easy {dish} recipe: ready in {n} minutes, serves {m}. You will need {ingredient}, salt and pepper.",
     {"dish": ("pasta", "curry", "soup", "stir fry", "omelette", "risotto"),
      "ingredient": ("garlic", "onions", "fresh basil", "chicken stock", "chilli flakes")}),
)


@dataclass(frozen=True)
class PlantedCorpus:
    """Texts with, for each, its kind (ISOLATED, NEAR_DUPLICATE, CLUSTER) and group (-1 when isolated)."""

    texts: list[str]
    kind: np.ndarray[Any, np.dtype[np.int8]]
    group: np.ndarray[Any, np.dtype[np.int32]]


def planted_corpus(real_texts: list[str], isolated: int, duplicate_groups: int, duplicate_size: int,
                   clusters: int, cluster_size: int, seed: int = 0) -> PlantedCorpus:
    """Isolated real texts plus planted groups, shuffled; base texts of duplicate groups are not reused."""
    rng = random.Random(seed)
    if isolated + duplicate_groups > len(real_texts):
        raise ValueError(f"need {isolated + duplicate_groups} real texts, got {len(real_texts)}")
    pool = rng.sample(real_texts, isolated + duplicate_groups)
    items: list[tuple[str, int, int]] = [(text, ISOLATED, -1) for text in pool[:isolated]]
    for number, base in enumerate(pool[isolated:]):
        items += [(_near_copy(base, rng), NEAR_DUPLICATE, number) for _ in range(duplicate_size)]
    for number in range(clusters):
        frame, slots = _TEMPLATES[number % len(_TEMPLATES)]
        items += [(_fill(frame, slots, rng), CLUSTER, duplicate_groups + number) for _ in range(cluster_size)]
    rng.shuffle(items)
    return PlantedCorpus([text for text, _, _ in items], np.array([kind for _, kind, _ in items], np.int8),
                         np.array([group for _, _, group in items], np.int32))


def planted_real_corpus(seed: int = 0) -> PlantedCorpus:
    """The corpus the README and tests measure: one real text from each of ~900 source documents (so no
    two isolated records share a document), 60 near-duplicate groups of 5 and 12 template clusters of 10."""
    from datatrainer.paragraphs import one_per_document

    pool = one_per_document()
    return planted_corpus(pool, len(pool) - 60, duplicate_groups=60, duplicate_size=5, clusters=12,
                          cluster_size=10, seed=seed)


def _near_copy(text: str, rng: random.Random) -> str:
    words = [word for word in text.split() if rng.random() > 0.05] or text.split()
    if len(words) > 3:
        at = rng.randrange(len(words) - 1)
        words[at], words[at + 1] = words[at + 1], words[at]
    copy = " ".join(words)
    if rng.random() < 0.3:
        copy = copy.lower()
    return copy + rng.choice(_TAGS)


def _fill(frame: str, slots: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    values = {name: rng.choice(options) for name, options in slots.items()}
    numbers = {name: str(rng.randint(2, 99)) for name in ("n", "m", "k")}
    return frame.format(**values, **numbers)


def auc(positive: np.ndarray[Any, Any], negative: np.ndarray[Any, Any]) -> float:
    """P(score of a random positive > score of a random negative), ties counting half (Mann-Whitney U)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([positive, negative]))
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
