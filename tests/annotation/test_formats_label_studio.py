"""Label Studio JSON: importing a real-shaped export (several annotators, predictions, skips) and exporting."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from datatrainer.annotation import formats
from datatrainer.annotation.agreement_report import group_by_item, span_agreement
from datatrainer.annotation.formats.label_studio import labeling_config
from datatrainer.annotation.spans import AnnotatedDoc, Span

TEXT = "Angela Merkel met Macron in Paris."
# The shape of a Label Studio 1.x "JSON" export: user ids as completed_by, region ids, extra bookkeeping keys.
EXPORT = [
    {"id": 7, "data": {"text": TEXT}, "project": 3, "created_at": "2024-05-01T10:00:00Z",
     "annotations": [
         {"id": 11, "completed_by": 1, "was_cancelled": False, "lead_time": 12.5, "result": [
             {"id": "a1", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
              "value": {"start": 0, "end": 13, "text": "Angela Merkel", "labels": ["PER"]}},
             {"id": "a2", "from_name": "label", "to_name": "text", "type": "labels",
              "value": {"start": 28, "end": 33, "text": "Paris", "labels": ["LOC"]}},
             {"id": "a3", "from_name": "note", "to_name": "text", "type": "textarea",
              "value": {"text": ["check Macron"]}}]},
         {"id": 12, "completed_by": {"id": 2, "email": "bob@example.org"}, "was_cancelled": False, "result": [
             {"id": "b1", "from_name": "label", "to_name": "text", "type": "labels",
              "value": {"start": 7, "end": 13, "labels": ["PER"]}},
             {"id": "b2", "from_name": "label", "to_name": "text", "type": "labels",
              "value": {"start": 18, "end": 24, "text": "Macron", "labels": ["PER", "POL"]}},
             {"id": "b3", "from_name": "label", "to_name": "text", "type": "labels",
              "value": {"start": 28, "end": 33, "text": "Paris", "labels": ["LOC"]}}]},
         {"id": 13, "completed_by": 3, "was_cancelled": True, "result": []}],
     "predictions": [{"model_version": "spacy-sm", "score": 0.8, "result": [
         {"id": "p1", "from_name": "label", "to_name": "text", "type": "labels",
          "value": {"start": 0, "end": 13, "labels": ["PER"]}}]}]},
    {"id": 8, "data": {"review": "Great phone"},  # another text key: the only string in data is the text
     "completions": [{"completed_by": 1, "result": [
         {"from_name": "sentiment", "to_name": "review", "type": "choices", "value": {"choices": ["positive"]}}]}]},
    {"id": 9, "data": {"text": "not annotated yet", "record_id": "rec-9", "meta": {"source": "web"}}},
]


def test_import_gives_one_doc_per_annotation_and_prediction(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(EXPORT))
    docs = formats.read(path, "label-studio")
    ann, bob, prediction, review, plain = docs
    assert ann == AnnotatedDoc("7", TEXT, (Span(0, 13, "PER"), Span(28, 33, "LOC")), (), {
        "annotator": "1", "label_studio_results": [EXPORT[0]["annotations"][0]["result"][2]]})  # type: ignore[index]
    assert bob.meta == {"annotator": "bob@example.org"}
    assert bob.spans == (Span(7, 13, "PER"), Span(18, 24, "PER"), Span(18, 24, "POL"), Span(28, 33, "LOC"))
    assert prediction.meta == {"annotator": "spacy-sm", "prediction": True}
    assert prediction.spans == (Span(0, 13, "PER"),)
    assert review == AnnotatedDoc("8", "Great phone", labels=("positive",), meta={"annotator": "1"})
    assert plain == AnnotatedDoc("rec-9", "not annotated yet", meta={"source": "web"})

    human = [doc for doc in docs if doc.id == "7" and not doc.meta.get("prediction")]
    report = span_agreement({item: {who: doc.spans for who, doc in by.items()}
                             for item, by in group_by_item(human).items()})
    (pair,) = report.pairs
    assert (pair.annotator, pair.other) == ("1", "bob@example.org")
    assert (pair.exact.micro.matched, pair.overlap.micro.matched) == (1, 2)


def test_export_reimports_to_the_same_docs_and_keeps_other_results(tmp_path: Path) -> None:
    source = tmp_path / "export.json"
    source.write_text(json.dumps(EXPORT))
    docs = formats.read(source, "label-studio")
    formats.write(docs, "label-studio", tmp_path / "again.json")
    assert formats.read(tmp_path / "again.json", "label-studio") == docs
    tasks = json.loads((tmp_path / "again.json").read_text())
    assert [len(task["annotations"]) for task in tasks] == [2, 1, 0]
    assert tasks[0]["predictions"][0]["model_version"] == "spacy-sm"
    first = tasks[0]["annotations"][0]["result"]
    assert first[0] == {"id": "s0", "from_name": "label", "to_name": "text", "type": "labels",
                        "value": {"start": 0, "end": 13, "text": "Angela Merkel", "labels": ["PER"]}}
    assert first[-1]["type"] == "textarea"


def test_labeling_config_names_the_tags_the_export_uses() -> None:
    view = ElementTree.fromstring(labeling_config(["PER", 'A"B'], ["pos", "neg"], multi_label=True))
    labels, text, choices = list(view)
    assert (labels.tag, labels.get("name"), labels.get("toName")) == ("Labels", "label", "text")
    assert [label.get("value") for label in labels] == ["PER", 'A"B']
    assert (text.get("name"), text.get("value")) == ("text", "$text")
    assert (choices.get("name"), choices.get("choice")) == ("choice", "multiple")
    assert [choice.get("value") for choice in choices] == ["pos", "neg"]
