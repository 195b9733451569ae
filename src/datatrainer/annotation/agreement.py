"""Chance-corrected agreement coefficients for nominal labels: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

Raw percent agreement flatters label schemas with one dominant class, so review decisions rest on coefficients
that subtract the agreement expected by chance. All three are computed from integer counts, so a perfect or a
chance-level result is exact rather than off by rounding. A coefficient whose expected disagreement is zero
(every rating uses one category) is undefined and returned as None instead of NaN, which JSON and the UI show
honestly as "n/a".

Multi-label classification is scored per label: each label becomes a yes/no rating (`binarise`), because a
set-valued rating has no natural chance model, and per-label numbers tell the schema owner which label is unclear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' paired labels; None when undefined (both use one single category).

    ``(n * agreements - sum_k a_k * b_k) / (n**2 - sum_k a_k * b_k)`` with ``a_k``, ``b_k`` the marginal counts.
    """
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs paired ratings, got {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        return None
    agreements = sum(1 for x, y in zip(a, b, strict=True) if x == y)
    count_a, count_b = Counter(a), Counter(b)
    chance = sum(count * count_b[label] for label, count in count_a.items())
    denominator = n * n - chance
    if denominator == 0:
        return None
    return (n * agreements - chance) / denominator


def fleiss_kappa(items: Sequence[Sequence[Hashable]]) -> float | None:
    """Fleiss' kappa of items each rated by the same number (>= 2) of raters; None when undefined.

    Raters need not be the same people on every item, only the same count.
    """
    if not items:
        return None
    raters = len(items[0])
    if raters < 2 or any(len(item) != raters for item in items):
        raise ValueError("fleiss_kappa needs the same number (at least 2) of ratings on every item")
    totals: Counter[Hashable] = Counter()
    squares = 0
    for item in items:
        counts = Counter(item)
        totals.update(counts)
        squares += sum(count * count for count in counts.values())
    n_ratings = len(items) * raters
    # P_bar = (squares - N n) / (N n (n - 1)); P_e = sum_j C_j^2 / (N n)^2; scale both by (N n)^2 (n - 1).
    observed = (squares - n_ratings) * n_ratings
    chance = sum(total * total for total in totals.values()) * (raters - 1)
    denominator = n_ratings * n_ratings * (raters - 1) - chance
    if denominator == 0:
        return None
    return (observed - chance) / denominator


def krippendorff_alpha(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Krippendorff's alpha (nominal) over units holding the ratings present for each; None when undefined.

    Missing ratings are simply absent from a unit, so units may have different sizes; units with fewer than two
    ratings are not pairable and do not count. ``alpha = 1 - (n - 1) * D_o / D_e`` over the coincidence matrix.
    """
    disagreement = 0.0  # sum over units of ordered mismatching pairs / (m_u - 1)
    values: Counter[Hashable] = Counter()
    for unit in units:
        size = len(unit)
        if size < 2:
            continue
        counts = Counter(unit)
        values.update(counts)
        disagreement += (size * size - sum(count * count for count in counts.values())) / (size - 1)
    n = sum(values.values())
    expected = n * n - sum(count * count for count in values.values())
    if n == 0 or expected == 0:
        return None
    return 1.0 - (n - 1) * disagreement / expected


def binarise(ratings: Mapping[str, Mapping[str, Collection[str]]], label: str) -> dict[str, dict[str, bool]]:
    """Item -> annotator -> whether the annotator chose ``label``: one label of a multi-label schema as yes/no."""
    return {item: {annotator: label in chosen for annotator, chosen in by_annotator.items()}
            for item, by_annotator in ratings.items()}
