"""Detection on planted values in real sentences, hard negatives that look like them, and names."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datatrainer.pii.config import PiiConfig
from datatrainer.pii.detect import detect_batch, detect_column

STRUCTURED = PiiConfig(types=["email", "phone", "credit_card", "iban", "ip", "national_id"])
SENTENCE = "The council said on Tuesday that residents could write to {} with further questions."

PLANTED = {
    "email": ["maria.gonzalez@example.com", "j.smith+news@mail.co.uk", "support@data-trainer.io"],
    "phone": ["(212) 555-0187", "+44 20 7946 0958", "020 7946 0958", "+1 415-555-0132", "+49 30 901820"],
    "credit_card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "iban": ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR14 2004 1010 0505 0001 3M02 606"],
    "ip": ["192.168.1.20", "8.8.4.4", "2001:db8::8a2e:370:7334", "fe80::1"],
    "national_id": ["536-22-1234", "AB 12 34 56 C", "JG103759A"],
}

HARD_NEGATIVES = [
    "Order ORD-2023-004512 shipped on 2023-11-05 and arrives 05/11/2023 at 10:45:00.",
    "ISBN 978-0-306-40615-7 and ISBN-10 0-306-40615-2 were reprinted.",
    "Upgrade to version 10.4.1.3 or v2.7.0.1; see release 3.10.12.",
    "The commit e3b0c44298fc1c149afbf4c8996fb924 fixed build 20231105.",
    "Tracking 9400 1000 0000 0000 0000 00 and 1Z999AA10123456784; card-like 4111 1111 1111 1112.",
    "SKU 4011-200-17, part A-2231-B, npm lodash@4.17.21, MAC 00:1A:2B:3C:4D:5E.",
    "The SSN-like 000-12-3456 and 666-45-1234 and 912-34-5678 were never issued.",
    "Pay 1,234,567.89 EUR by 31.12.2024; population 67 081 000.",
]


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_each_planted_value_is_found_with_its_exact_span(kind: str) -> None:
    texts = [SENTENCE.format(value) for value in PLANTED[kind]]
    found = detect_column(pa.array(texts), STRUCTURED)
    for row, value in enumerate(PLANTED[kind]):
        start = texts[row].index(value)
        assert found.get(row) == [(start, start + len(value), kind)], (value, found.get(row))


def test_hard_negatives_find_nothing() -> None:
    found = detect_column(pa.array(HARD_NEGATIVES), STRUCTURED)
    assert {HARD_NEGATIVES[row]: spans for row, spans in found.items()} == {}


def test_offsets_are_right_in_a_batch_of_non_ascii_texts_with_nulls() -> None:
    texts = ["Zürich café ☕ — écrivez à anna@example.ch", None, "", "日本語 call +44 20 7946 0958 now",
             "no pii here"]
    found = detect_column(pa.array(texts), STRUCTURED)
    assert sorted(found) == [0, 3]
    for row, spans in found.items():
        (start, end, _), = spans
        assert texts[row][start:end] in ("anna@example.ch", "+44 20 7946 0958")  # type: ignore[index]


def test_custom_national_id_pattern_and_only_the_configured_types() -> None:
    config = PiiConfig(types=["national_id"], national_ids=[], id_patterns={"nhs": r"\d{3} \d{3} \d{4}"})
    batch = pa.record_batch({"id": ["a", "b"], "text": ["NHS number 943 476 5919, mail a@b.org", "none"],
                             "note": ["also 401 023 2137", None]})
    found = detect_batch(batch, config).to_pylist()
    assert [(f["row"], f["field"], f["type"]) for f in found] == [(0, "text", "national_id"),
                                                                  (0, "note", "national_id")]


def test_names_by_ner_and_no_name_inside_an_email() -> None:
    texts = ["Angela Merkel met Emmanuel Macron in Berlin on Monday.",
             "write to angela.merkel@example.com today",
             "all lower case text without any names"]
    found = detect_column(pa.array(texts), PiiConfig())
    kinds = [(texts[0][s:e], k) for s, e, k in found[0]]
    assert ("Angela Merkel", "person") in kinds and ("Berlin", "location") in kinds
    assert [k for _, _, k in found[1]] == ["email"]
    assert 2 not in found


# Real tweets (WNUT-2016, dev split) where spaCy's small model reads markup as names.
TWEETS = ["RT @ravenalexis Wanna meet me , @jessejane , @rileysteele , and @kayden_kross ? Come to the Body Heat "
          "signing at Hustler Hollywood Sep 23rd 8-10pm",
          "Chinese symbols Sotheby | ' s Hong Kong twentieth century Chinese art sales fall in October "
          "http://bit.ly/aFLHax",
          "Wow , I'd forgotten when Jenny was actually really nice lol #theLword",
          "Best #free #livemusic in #Denver tonight with the return of Breaking &amp; Entering ."]
MARKUP_READ_AS_NAMES = {("@rileysteele", "GPE"), ("http://bit.ly/aFLHax", "GPE"), ("theLword", "PERSON")}


def test_handles_urls_and_hashtags_are_not_names_but_the_places_beside_them_are() -> None:
    import spacy

    from datatrainer.pii.ner import MODEL

    raw = {(ent.text, ent.label_) for doc in spacy.load(MODEL).pipe(TWEETS) for ent in doc.ents}
    assert raw >= MARKUP_READ_AS_NAMES  # the model's mistakes this filter is for
    found = detect_column(pa.array(TWEETS), PiiConfig(types=["person", "location"]))
    names = {(TWEETS[row][s:e], kind) for row, spans in found.items() for s, e, kind in spans}
    assert not {text for text, _ in MARKUP_READ_AS_NAMES} & {text for text, _ in names}
    assert {("Hong Kong", "location"), ("Jenny", "person"), ("Denver", "location")} <= names


@pytest.mark.parametrize(("text", "name", "kind", "markup"), [
    ("RT @JAMESINREHAB : it 's in England .", "RT @JAMESINREHAB", "person", True),
    ("RT @ana : Ana Lima is here", "RT @ana : Ana Lima", "person", False),
    ("#ZodiacFacts As a #Gemini", "ZodiacFacts", "person", True),
    ("live music in #Denver tonight", "Denver", "location", False),
    ("a &amp;#39 ;d ate&amp;#39 ; with Whitney", "ate&amp;#39", "location", True),
    ("see www.example.org/paris now", "www.example.org/paris", "location", True),
    ("the ARTS centre in Perth", "ARTS", "location", False),
])
def test_markup_only(text: str, name: str, kind: str, markup: bool) -> None:
    from datatrainer.pii.ner import markup_only

    start = text.index(name)
    assert markup_only(text, start, start + len(name), kind) is markup


def test_names_leave_the_models_vocabulary_as_it_was() -> None:
    from datatrainer.pii import ner

    with ner._borrowed() as nlp:
        before = len(nlp.vocab.strings)
    assert ner.name_spans(TWEETS, frozenset({"person", "location"}))[1]
    with ner._borrowed() as nlp:
        assert len(nlp.vocab.strings) == before and "@rileysteele" not in nlp.vocab.strings
        list(nlp.pipe(TWEETS))  # outside a memory zone the same texts grow it (what a million records would)
        assert "@rileysteele" in nlp.vocab.strings
