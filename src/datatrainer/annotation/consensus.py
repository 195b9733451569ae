"""The result a project keeps for a record when no reviewer set one: what a majority of annotators said.

Rules, per task type, over the submitted (validated, normalised) results of one task:
- ner: the spans that more than half of the annotators marked identically (same bounds and label);
- classification: single-label takes the most frequent label (ties go to the label listed first in the
  schema); multi-label takes every label chosen by more than half;
- preference: the more frequent choice, no choice (None) on a tie; the reason of the first annotator who
  made the winning choice;
- correction: the most frequent text, ties to the earliest submission.
Each annotator votes once per span or label, even if a result repeats one. A single annotator's result is
therefore its own consensus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from datatrainer.annotation.types import LabelSchema


def consensus(task_type: str, schema: LabelSchema, results: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The majority result of `results` (in submission order), or None when there are none."""
    if not results:
        return None
    half = len(results) / 2
    if task_type == "ner":
        votes = Counter(span for r in results for span in {(s["start"], s["end"], s["label"]) for s in r["spans"]})
        kept = sorted(span for span, count in votes.items() if count > half)
        return {"spans": [{"start": start, "end": end, "label": label} for start, end, label in kept]}
    if task_type == "classification":
        label_votes = Counter(label for r in results for label in set(r["labels"]))
        order = {label: index for index, label in enumerate(schema.labels)}
        if schema.multi_label:
            return {"labels": sorted((lb for lb, count in label_votes.items() if count > half), key=order.__getitem__)}
        best = min(label_votes, key=lambda label: (-label_votes[label], order[label]))
        return {"labels": [best]}
    if task_type == "preference":
        choices = Counter(r["choice"] for r in results)
        if choices["a"] == choices["b"]:
            return {"choice": None, "reason": ""}
        winner = "a" if choices["a"] > choices["b"] else "b"
        return {"choice": winner, "reason": next(r["reason"] for r in results if r["choice"] == winner)}
    texts = Counter(r["text"] for r in results)
    top = max(texts.values())
    return {"text": next(r["text"] for r in results if texts[r["text"]] == top)}
