"""Annotation files in and out of projects through the formats package (Label Studio, CoNLL, JSONL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datatrainer.annotation import formats
from datatrainer.annotation.errors import AnnotationValidationError, ConflictError
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import NotFoundError
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN, ner_project, span, take

SPANS_1 = [span(0, 13, "PER"), span(17, 32, "PER")]
SPANS_2 = [span(0, 13, "PER")]


def _annotated(workspace: Workspace, tmp_path: Path) -> str:
    project, people = ner_project(workspace, tmp_path, count=2, overlap=2)
    task = take(workspace, people["ann1"], project)
    workspace.annotation.submit(people["ann1"], task.id, {"spans": SPANS_1})
    take(workspace, people["ann2"], project)
    workspace.annotation.submit(people["ann2"], task.id, {"spans": SPANS_2})
    return project


def test_label_studio_round_trip_into_a_second_project(workspace: Workspace, tmp_path: Path) -> None:
    project = _annotated(workspace, tmp_path)
    svc = workspace.annotation
    path = tmp_path / "ls.json"
    formats.write(svc.annotated_docs(ADMIN, project, per_annotator=True), "label-studio", path)
    tasks = json.loads(path.read_text())
    assert len(tasks) == 1 and {a["completed_by"] for a in tasks[0]["annotations"]} == {"ann1", "ann2"}

    svc.create_project(ADMIN, "copy", "docs@1", "ner", ["PER", "ORG", "LOC"], overlap=2)
    for name in ("ann1", "ann2"):
        svc.add_member(ADMIN, "copy", name, "annotator")
    report = svc.import_docs(ADMIN, "copy", formats.read(path, "label-studio"), as_annotations=True)
    assert (report.annotations, report.suggestions) == (2, 0)
    copied = {(d.meta["annotator"], d.spans) for d in svc.annotated_docs(ADMIN, "copy", per_annotator=True)}
    original = {(d.meta["annotator"], d.spans) for d in svc.annotated_docs(ADMIN, project, per_annotator=True)}
    assert copied == original
    assert svc.progress(ADMIN, "copy").by_state["annotated"] == 1
    svc.add_member(ADMIN, "copy", "ann3", "annotator")
    doc = formats.read(path, "label-studio")[0]
    with pytest.raises(ConflictError, match="already has 2"):
        svc.import_docs(ADMIN, "copy", [AnnotatedDoc(doc.id, doc.text, doc.spans, meta={"annotator": "ann3"})],
                        as_annotations=True)
    assert workspace.audit.verify().ok


def test_import_as_suggestions_and_bad_documents(workspace: Workspace, tmp_path: Path) -> None:
    project, _ = ner_project(workspace, tmp_path, count=2, overlap=1)
    svc = workspace.annotation
    text = svc.tasks_for(ADMIN, project)[0].payload["text"]
    docs = [AnnotatedDoc("r0", text, (Span(0, 13, "PER"),), meta={"annotator": "spacy", "prediction": True}),
            AnnotatedDoc("r1", svc.tasks_for(ADMIN, project)[1].payload["text"])]
    report = svc.import_docs(ADMIN, project, docs, source="ls")
    assert (report.suggestions, report.annotations, report.unannotated) == (1, 0, 1)
    detail = svc.get_task(ADMIN, svc.tasks_for(ADMIN, project)[0].id)
    assert [(s.source, s.result) for s in detail.suggestions] == [("ls:spacy", {"spans": [span(0, 13, "PER")]})]
    with pytest.raises(AnnotationValidationError, match="record 'r0': the file's text differs"):
        svc.import_docs(ADMIN, project, [AnnotatedDoc("r0", "other text", (Span(0, 5, "PER"),))])
    with pytest.raises(NotFoundError, match="record 'zz'"):
        svc.import_docs(ADMIN, project, [AnnotatedDoc("zz", text, (Span(0, 5, "PER"),))])
    with pytest.raises(AnnotationValidationError, match=r"record 'r0': result\.spans\[0\]\.label: 'MISC'"):
        svc.import_docs(ADMIN, project, [AnnotatedDoc("r0", text, (Span(0, 5, "MISC"),))])
    with pytest.raises(NotFoundError, match="'nobody' is not a member"):
        svc.import_docs(ADMIN, project, [AnnotatedDoc("r0", text, (Span(0, 5, "PER"),), meta={"annotator": "nobody"})],
                        as_annotations=True)
    assert len(svc.get_task(ADMIN, detail.task.id).suggestions) == 1  # failed imports left nothing behind


def test_final_results_to_conll_and_jsonl(workspace: Workspace, tmp_path: Path) -> None:
    project = _annotated(workspace, tmp_path)
    docs = workspace.annotation.annotated_docs(ADMIN, project)
    assert [(d.id, d.spans) for d in docs] == [("r0", (Span(0, 13, "PER"),))]  # the consensus of both
    formats.write(docs, "conll", tmp_path / "out.conll")
    assert [(d.id, d.spans) for d in formats.read(tmp_path / "out.conll", "conll")] == [("r0", (Span(0, 13, "PER"),))]
    formats.write(docs, "jsonl", tmp_path / "out.jsonl")
    assert formats.read(tmp_path / "out.jsonl", "jsonl")[0].meta["annotation_source"] == "consensus"


def test_preference_projects_have_no_file_format(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "", "prompt": "p", "response_a": "a", "response_b": "b"}) + "\n")
    workspace.ingest(path, "pairs")
    workspace.annotation.create_project(ADMIN, "pref", "pairs@1", "preference")
    with pytest.raises(AnnotationValidationError, match="export it as a dataset version"):
        workspace.annotation.annotated_docs(ADMIN, "pref")
