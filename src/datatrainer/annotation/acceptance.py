"""Suggestion acceptance: how annotators treated each pre-annotated span or label.

For every (suggestion, counted annotation of the same task) pair, each suggested item is:
- ner: `accepted` if the annotation has the identical span (bounds and label); `changed` if an annotated
  span overlaps it (other bounds or label); `deleted` otherwise;
- classification: `accepted` if the label was kept; in single-label projects `changed` if another label was
  chosen instead; in multi-label projects `deleted` if dropped.
Preference and correction suggestions count as one item labelled `choice` / `text`: accepted when equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from datatrainer.annotation.spans import Span
from datatrainer.annotation.types import LabelAcceptance, LabelSchema

Outcome = tuple[str, str]  # (label, "accepted" | "changed" | "deleted")


def outcomes(task_type: str, schema: LabelSchema, suggested: dict[str, Any], annotated: dict[str, Any]
             ) -> list[Outcome]:
    if task_type == "ner":
        kept = [Span(s["start"], s["end"], s["label"]) for s in annotated["spans"]]
        found: list[Outcome] = []
        for item in suggested["spans"]:
            span = Span(item["start"], item["end"], item["label"])
            if span in kept:
                found.append((span.label, "accepted"))
            elif any(span.overlaps(other) for other in kept):
                found.append((span.label, "changed"))
            else:
                found.append((span.label, "deleted"))
        return found
    if task_type == "classification":
        replaced = "changed" if not schema.multi_label else "deleted"
        return [(label, "accepted" if label in annotated["labels"] else replaced) for label in suggested["labels"]]
    key = "choice" if task_type == "preference" else "text"
    return [(key, "accepted" if suggested[key] == annotated[key] else "changed")]


def tally(task_type: str, schema: LabelSchema, pairs: Iterable[tuple[str, dict[str, Any], dict[str, Any]]]
          ) -> list[LabelAcceptance]:
    """Counts per (source, label) over `(source, suggestion result, annotation result)` pairs."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"accepted": 0, "changed": 0, "deleted": 0})
    for source, suggested, annotated in pairs:
        for label, outcome in outcomes(task_type, schema, suggested, annotated):
            counts[(source, label)][outcome] += 1
    return [LabelAcceptance(source=source, label=label, suggested=sum(c.values()), **c)
            for (source, label), c in sorted(counts.items())]
