"""Named-entity suggestions from a spaCy pipeline, mapped onto the project's labels.

spaCy's labels (OntoNotes: PERSON, ORG, GPE, ...) rarely equal a project's (CoNLL: PER, ORG, LOC, MISC).
A spaCy label goes to, in order: the user's mapping, the same name when the project has it, the usual
OntoNotes -> CoNLL mapping when the project has that target; spans left without a project label are dropped.

Confidence: spaCy's greedy transition-based NER gives no probabilities. With ``confidence="beam"`` (default)
the same model also decodes with a beam and each greedily found entity gets the share of the beam's
probability mass whose parses contain it (spaCy's `scored_ents`): 1 when every parse on the beam agrees,
near 0 when the beam prefers other boundaries or another type. It is a stability measure of an overconfident
model, not a calibrated probability, and costs about 1.5x the plain run. ``confidence="none"`` skips the beam
and stores None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from datatrainer.annotation.preannotate.base import ScoredSpan, Suggestion, check_labels
from datatrainer.annotation.preannotate.pipelines import BATCH_SIZE, DEFAULT_MODEL, load_pipeline, model_version
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import DatatrainerError

Confidence = Literal["beam", "none"]

# OntoNotes -> CoNLL-2003, used only when the project has the target label and no label of spaCy's name.
CONLL_ALIASES: dict[str, str] = {
    "PERSON": "PER", "GPE": "LOC", "FAC": "LOC", "NORP": "MISC", "EVENT": "MISC", "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC", "LANGUAGE": "MISC", "LAW": "MISC",
}
BEAM_WIDTH = 8


class SpacyNerSuggester:
    """Entities from `nlp.pipe` over whole batches, each with its beam confidence."""

    def __init__(self, labels: Sequence[str], model: str = DEFAULT_MODEL, mapping: Mapping[str, str] | None = None,
                 confidence: Confidence = "beam", beam_width: int = BEAM_WIDTH) -> None:
        self.labels = check_labels(labels, f"spacy:{model}")
        self.model = model
        self._nlp = load_pipeline(model)
        if "ner" not in self._nlp.pipe_names:
            raise DatatrainerError(f"spaCy pipeline {model!r} has no 'ner' component (it has: "
                                   f"{', '.join(self._nlp.pipe_names) or 'none'})")
        self._ner = self._nlp.get_pipe("ner")
        self.mapping = resolve_mapping(tuple(self._ner.labels), self.labels, mapping or {})
        self.confidence = confidence
        self.beam_width = beam_width

    @property
    def source(self) -> str:
        return f"spacy:{self.model}"

    def config(self) -> dict[str, Any]:
        return {"model": self.model, "version": model_version(self._nlp), "mapping": dict(self.mapping),
                "confidence": self.confidence, "beam_width": self.beam_width if self.confidence == "beam" else None}

    def suggest(self, docs: Sequence[AnnotatedDoc]) -> list[Suggestion]:
        others = [name for name in self._nlp.pipe_names if name != "ner"]
        with self._nlp.select_pipes(enable=others):
            parsed = list(self._nlp.pipe([doc.text for doc in docs], batch_size=BATCH_SIZE))
        beam_scores: list[dict[tuple[int, int, str], float]] = (
            self._beam_scores(parsed) if self.confidence == "beam" else [{} for _ in parsed])
        parsed = list(self._ner.pipe(parsed, batch_size=BATCH_SIZE))
        config = self.config()
        suggestions = []
        for doc, spacy_doc, scores in zip(docs, parsed, beam_scores, strict=True):
            spans = tuple(
                ScoredSpan(Span(ent.start_char, ent.end_char, self.mapping[ent.label_]),
                           scores.get((ent.start, ent.end, ent.label_), 0.0) if self.confidence == "beam" else None)
                for ent in spacy_doc.ents if ent.label_ in self.mapping)
            suggestions.append(Suggestion(doc.id, self.source, config, spans=spans))
        return suggestions

    def _beam_scores(self, parsed: list[Any]) -> list[dict[tuple[int, int, str], float]]:
        beams = self._ner.beam_parse(parsed, beam_width=self.beam_width)
        return [{key: float(value) for key, value in scores.items()} for scores in self._ner.scored_ents(beams)]


def resolve_mapping(source_labels: Sequence[str], labels: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """spaCy label -> project label for every spaCy label that has one (see the module docstring)."""
    unknown_targets = sorted(set(mapping.values()) - set(labels))
    if unknown_targets:
        raise DatatrainerError(f"label mapping targets {', '.join(unknown_targets)} are not project labels "
                               f"({', '.join(labels)})")
    unknown_sources = sorted(set(mapping) - set(source_labels))
    if unknown_sources:
        raise DatatrainerError(f"label mapping sources {', '.join(unknown_sources)} are not labels of the model "
                               f"({', '.join(source_labels)})")
    resolved: dict[str, str] = {}
    for label in source_labels:
        if label in mapping:
            resolved[label] = mapping[label]
        elif label in labels:
            resolved[label] = label
        elif CONLL_ALIASES.get(label) in labels:
            resolved[label] = CONLL_ALIASES[label]
    return resolved


def parse_mapping(text: str, form: str = "SPACY_LABEL=PROJECT_LABEL") -> dict[str, str]:
    """`PERSON=PER,GPE=LOC` as a dict; one-line error naming the expected `form` for a malformed pair."""
    mapping: dict[str, str] = {}
    for pair in filter(None, (item.strip() for item in text.split(","))):
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise DatatrainerError(f"expected {form}, got {pair!r}")
        mapping[source.strip()] = target.strip()
    return mapping
