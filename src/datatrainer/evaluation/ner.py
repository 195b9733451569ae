"""NER span F1 of a model's entities against an annotated version (what `datatrainer annotate export` writes
for an NER project: the text, and `spans` as list<struct<start, end, label>> of character offsets).

Matching is exact (same start, end and label: the CoNLL/seqeval convention), pooled over documents: micro
precision, recall and F1, and the same per label, from `span_match.span_scores`, the code annotator agreement
uses. Records without a final annotation (null `spans`) are skipped; an empty list is a document with no
entities, where every prediction is a false positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pyarrow as pa

from datatrainer.annotation.span_match import SpanScores, span_scores
from datatrainer.annotation.spans import AnnotatedDoc, Span, check_span
from datatrainer.store.schema import ID


@dataclass(frozen=True)
class NerResult:
    scores: SpanScores
    documents: int

    def metrics(self) -> dict[str, float | None]:
        micro = self.scores.micro
        out: dict[str, float | None] = {"precision": micro.precision, "recall": micro.recall, "f1": micro.f1,
                                        "documents": float(self.documents), "gold_spans": float(micro.gold)}
        for label, prf in self.scores.per_label.items():
            out[f"f1/{label}"] = prf.f1
        return out

    def per_label(self) -> dict[str, dict[str, float | int | None]]:
        return {label: asdict(prf) for label, prf in self.scores.per_label.items()}


def gold_documents(table: pa.Table, ref: str, text_field: str = "text",
                   spans_field: str = "spans") -> list[AnnotatedDoc]:
    """The annotated records with their gold spans (checked against their text)."""
    ids = table.column(ID).to_pylist() if ID in table.column_names else [str(i) for i in range(table.num_rows)]
    docs = []
    for record_id, text, spans in zip(ids, table.column(text_field).to_pylist(), table.column(spans_field).to_pylist(),
                                      strict=True):
        if spans is None:
            continue
        parsed = tuple(Span(int(s["start"]), int(s["end"]), str(s["label"])) for s in spans)
        for span in parsed:
            check_span(span, text or "", f"{ref} record {record_id}")
        docs.append(AnnotatedDoc(str(record_id), text or "", parsed))
    return docs


def evaluate_ner(gold: Sequence[AnnotatedDoc], predicted: Sequence[Sequence[Span]]) -> NerResult:
    return NerResult(span_scores([doc.spans for doc in gold], predicted, "exact"), len(gold))
