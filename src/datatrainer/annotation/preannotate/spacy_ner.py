"""Named-entity suggestions from a spaCy pipeline, mapped onto the project's labels.

spaCy's labels (OntoNotes: PERSON, ORG, GPE, ...) rarely equal a project's (CoNLL: PER, ORG, LOC, MISC).
A spaCy label goes to, in order: the user's mapping, the same name when the project has it, the usual
OntoNotes -> CoNLL mapping when the project has that target; spans left without a project label are dropped.

Confidence: spaCy's greedy transition-based NER exposes no probabilities, but each of its steps scores every
transition (B-/I-/L-/U- per label, O). With ``confidence="transitions"`` (default) we run the same greedy
decoding step by step, take the softmax of each step's scores over the transitions valid at that step (an
entity open with label X allows I-X and L-X; otherwise B-*, U-* and O), and give each entity the product of
the probabilities of the transitions that built it (B .. L, or U). The decisions are spaCy's own (the best
valid transition at every step, checked with spaCy's validity test), so the entities are exactly those of
`nlp(text)`; the numbers are the model's own step probabilities, not a calibrated probability of being right.
The per-token Python loop measured about as fast as spaCy's compiled one here (tok2vec, tagger and parser
dominate). ``confidence="none"`` runs spaCy's compiled loop and stores None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from datatrainer.annotation.preannotate.base import ScoredSpan, Suggestion, check_labels
from datatrainer.annotation.preannotate.pipelines import BATCH_SIZE, DEFAULT_MODEL, load_pipeline, model_version
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import DatatrainerError

Confidence = Literal["transitions", "none"]

# OntoNotes -> CoNLL-2003, used only when the project has the target label and no label of spaCy's name.
CONLL_ALIASES: dict[str, str] = {
    "PERSON": "PER", "GPE": "LOC", "FAC": "LOC", "NORP": "MISC", "EVENT": "MISC", "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC", "LANGUAGE": "MISC", "LAW": "MISC",
}


class SpacyNerSuggester:
    """Entities from `nlp.pipe` over whole batches, each with its transition confidence."""

    def __init__(self, labels: Sequence[str], model: str = DEFAULT_MODEL, mapping: Mapping[str, str] | None = None,
                 confidence: Confidence = "transitions") -> None:
        self.labels = check_labels(labels, f"spacy:{model}")
        self.model = model
        self._nlp = load_pipeline(model)
        if "ner" not in self._nlp.pipe_names:
            raise DatatrainerError(f"spaCy pipeline {model!r} has no 'ner' component (it has: "
                                   f"{', '.join(self._nlp.pipe_names) or 'none'})")
        self._ner = self._nlp.get_pipe("ner")
        self.mapping = resolve_mapping(tuple(self._ner.labels), self.labels, mapping or {})
        if confidence not in ("transitions", "none"):
            raise DatatrainerError(f"unknown spaCy confidence {confidence!r}: use transitions or none")
        self.confidence = confidence
        moves = self._ner.moves
        self._actions = [moves.get_class_name(i) for i in range(moves.n_moves)]

    @property
    def source(self) -> str:
        return f"spacy:{self.model}"

    def config(self) -> dict[str, Any]:
        return {"model": self.model, "version": model_version(self._nlp), "mapping": dict(self.mapping),
                "confidence": self.confidence}

    def suggest(self, docs: Sequence[AnnotatedDoc]) -> list[Suggestion]:
        others = [name for name in self._nlp.pipe_names if name != "ner"]
        with self._nlp.select_pipes(enable=others):
            parsed = list(self._nlp.pipe([doc.text for doc in docs], batch_size=BATCH_SIZE))
        if self.confidence == "transitions":
            scores = [item for start in range(0, len(parsed), BATCH_SIZE)
                      for item in self._decode(parsed[start:start + BATCH_SIZE])]
        else:
            parsed = list(self._ner.pipe(parsed, batch_size=BATCH_SIZE))
            scores = [{} for _ in parsed]
        config = self.config()
        suggestions = []
        for doc, spacy_doc, confidences in zip(docs, parsed, scores, strict=True):
            spans = tuple(ScoredSpan(Span(ent.start_char, ent.end_char, self.mapping[ent.label_]),
                                     confidences.get((ent.start, ent.end, ent.label_)))
                          for ent in spacy_doc.ents if ent.label_ in self.mapping)
            suggestions.append(Suggestion(doc.id, self.source, config, spans=spans))
        return suggestions

    def _decode(self, parsed: list[Any]) -> list[dict[tuple[int, int, str], float]]:
        """Greedy NER step by step (sets the docs' entities) and each entity's transition probability."""
        out: list[dict[tuple[int, int, str], float]] = [{} for _ in parsed]
        if not any(len(doc) for doc in parsed):
            return out
        moves, actions = self._ner.moves, self._actions
        states = moves.init_batch(parsed)
        step = self._ner.model.predict(parsed)
        building: dict[int, tuple[int, str, float]] = {}  # doc index -> (start token, label, probability so far)
        live = [(i, state) for i, state in enumerate(states) if not state.is_final()]
        while live:
            rows = np.asarray(step.predict([state for _, state in live]), dtype=np.float64)
            for (i, state), row in zip(live, rows, strict=True):
                token = state.B(0)
                action = next(a for a in np.argsort(-row, kind="stable") if moves.is_valid(state, actions[a]))
                name = actions[action]
                allowed = self._allowed(building.get(i))
                allowed[action] = True
                logits = np.where(allowed, row, -np.inf)
                probability = float(np.exp(row[action] - logits.max()) / np.exp(logits - logits.max()).sum())
                kind, _, label = name.partition("-")
                if kind in ("B", "I"):
                    start, _, so_far = building.get(i, (token, label, 1.0))
                    building[i] = (start, label, so_far * probability)
                elif kind in ("L", "U"):
                    start, _, so_far = building.pop(i, (token, label, 1.0))
                    out[i][(start, token + 1, label)] = so_far * probability
                moves.apply_transition(state, name)
            live = [(i, state) for i, state in live if not state.is_final()]
        self._ner.set_annotations(parsed, states)
        return out

    def _allowed(self, building: tuple[int, str, float] | None) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """The transitions valid after the previous one: inside an entity of label X only I-X and L-X."""
        if building is None:
            return np.array([name == "O" or name[:2] in ("B-", "U-") for name in self._actions])
        label = building[1]
        return np.array([name in (f"I-{label}", f"L-{label}") for name in self._actions])


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
