"""spaCy DocBin (``.spacy``): the training-data format of ``spacy train``.

Spans become ``doc.ents`` (widened to token boundaries with ``alignment_mode="expand"``); spans that overlap a
longer one cannot be entities and go to ``doc.spans["sc"]`` (the span categorizer's key) instead. Document labels
become ``doc.cats`` (1.0 for chosen labels, 0.0 for the others seen in the export, as textcat expects). The
record id and meta travel in ``doc.user_data``. Reading takes entities and "sc" spans, and categories scored
0.5 or more, so DocBins made by other tools read too. Lossy where counted: spans widen to token boundaries,
and a span covering no token is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datatrainer.annotation.formats.base import WriteReport, read_bytes, staged
from datatrainer.annotation.formats.tokens import blank_english
from datatrainer.annotation.spans import AnnotatedDoc, Span, check_doc
from datatrainer.errors import InputError

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan

SPAN_KEY = "sc"


def write_docbin(docs: list[AnnotatedDoc], path: Path, overwrite: bool = False) -> WriteReport:
    from spacy.tokens import DocBin
    from spacy.util import filter_spans

    nlp = blank_english()
    categories = sorted({label for doc in docs for label in doc.labels})
    docbin = DocBin(store_user_data=True)
    spans = snapped = no_token = 0
    for doc in docs:
        check_doc(doc, str(path))
        spacy_doc = nlp.make_doc(doc.text)
        aligned: dict[tuple[int, int, str], SpacySpan] = {}  # spans that widen to the same tokens are one
        for span in doc.spans:
            char_span = spacy_doc.char_span(span.start, span.end, label=span.label, alignment_mode="expand")
            if char_span is None:
                no_token += 1
                continue
            snapped += (char_span.start_char, char_span.end_char) != (span.start, span.end)
            aligned[char_span.start, char_span.end, span.label] = char_span
        entities = filter_spans(list(aligned.values()))  # longest first, then earliest: what NER can hold
        spacy_doc.ents = entities
        rest = [span for span in aligned.values() if span not in entities]
        if rest:
            spacy_doc.spans[SPAN_KEY] = rest
        spans += len(aligned)
        spacy_doc.cats = {label: float(label in doc.labels) for label in categories}
        spacy_doc.user_data["id"] = doc.id
        spacy_doc.user_data["meta"] = doc.meta
        docbin.add(spacy_doc)
    with staged(path, overwrite) as temporary:
        temporary.write_bytes(docbin.to_bytes())
    return WriteReport(path, len(docs), spans, snapped=snapped, dropped_no_token=no_token)


def read_docbin(path: Path) -> list[AnnotatedDoc]:
    from spacy.tokens import DocBin

    data = read_bytes(path)
    try:
        spacy_docs = list(DocBin().from_bytes(data).get_docs(blank_english().vocab))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(str(path), f"not a spaCy DocBin ({type(exc).__name__}: {exc})") from None
    return [_doc(spacy_doc, index, path) for index, spacy_doc in enumerate(spacy_docs, start=1)]


def _doc(spacy_doc: Doc, ordinal: int, path: Path) -> AnnotatedDoc:
    found = list(spacy_doc.ents) + list(spacy_doc.spans.get(SPAN_KEY, []))
    spans = tuple(sorted({Span(s.start_char, s.end_char, s.label_) for s in found}))
    labels = tuple(label for label, score in spacy_doc.cats.items() if score >= 0.5)
    meta = spacy_doc.user_data.get("meta", {})
    doc = AnnotatedDoc(str(spacy_doc.user_data.get("id", ordinal)), spacy_doc.text, spans, labels,
                       meta if isinstance(meta, dict) else {})
    check_doc(doc, str(path))
    return doc
