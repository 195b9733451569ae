"""The annotation workflow end to end on SQLite and PostgreSQL: queue, submit, review, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import NoResultFound

from datatrainer.annotation.errors import AnnotationValidationError, ConflictError
from datatrainer.errors import NotFoundError
from datatrainer.security.errors import PermissionDenied
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN, ingest, ner_project, span, take, text_version, users


def test_ner_workflow_overlap_review_and_export(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=3)
    svc, ann1, ann2, ann3, rev = workspace.annotation, people["ann1"], people["ann2"], people["ann3"], people["rev"]

    first = svc.next_task(ann1, project)
    assert first is not None and first.record_id == "r0" and first.state == "in_progress"
    assert svc.next_task(ann1, project) == first  # an open assignment comes back before a new one
    assert take(workspace, ann2, project).id == first.id  # k = 2: the second annotator gets the same record
    third = svc.next_task(ann3, project)
    assert third is not None and third.record_id == "r1"  # r0 already has k live assignments

    svc.submit(ann1, first.id, {"spans": [span(17, 32, "PER"), span(0, 13, "PER"), span(36, 41, "LOC")]})
    assert svc.get_task(rev, first.id).task.state == "in_progress"
    svc.submit(ann2, first.id, {"spans": [span(0, 13, "PER"), span(36, 41, "ORG")]})
    assert [t.id for t in svc.review_queue(rev, project)] == [first.id]

    detail = svc.start_review(rev, first.id)
    assert detail.task.state == "in_review" and {a.username for a in detail.annotations} == {"ann1", "ann2"}
    with pytest.raises(ConflictError, match="in_review"):
        svc.submit(ann1, first.id, {"spans": []})
    review = svc.review(rev, first.id, "accept")
    # Consensus: only spans a majority (both) marked identically.
    assert review.final_result == {"spans": [span(0, 13, "PER")]}

    svc.submit(ann3, third.id, {"spans": [span(0, 5, "ORG")]})
    second_for_r1 = svc.next_task(ann1, project)
    assert second_for_r1 is not None and second_for_r1.id == third.id
    svc.submit(ann1, third.id, {"spans": [span(0, 5, "ORG"), span(24, 30, "LOC")]})
    svc.review(rev, third.id, "adjudicate", {"spans": [span(0, 5, "ORG"), span(24, 30, "LOC")]}, comment="Berlin")

    progress = svc.progress(rev, project)
    assert progress.by_state["accepted"] == 2 and progress.by_state["open"] == 1 and progress.total == 3
    assert progress.per_annotator["ann1"].submitted == 2 and progress.per_annotator["ann3"].submitted == 1

    version = svc.export_version(ADMIN, project, "ner-gold")
    again = workspace.version("ner-gold@1")
    assert again.info.parents == (f"{version.info.parents[0]}",) and again.info.parents[0].startswith("docs@")
    rows = {row["id"]: row for row in again.to_table().to_pylist()}
    assert set(rows) == {"r0", "r1"}
    assert rows["r0"]["spans"] == [span(0, 13, "PER")] and rows["r0"]["annotation_source"] == "review"
    assert rows["r1"]["spans"] == [span(0, 5, "ORG"), span(24, 30, "LOC")]
    assert rows["r0"]["text"].startswith("Angela Merkel")
    votes = {a["annotator"]: json.loads(a["result"]) for a in rows["r0"]["annotations"]}
    assert votes["ann2"] == {"spans": [span(0, 13, "PER"), span(36, 41, "ORG")]}
    assert workspace.audit.verify().ok


def test_export_publishes_the_version_and_its_audit_entry_together(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=2, overlap=1)
    svc = workspace.annotation
    task = take(workspace, people["ann1"], project)
    svc.submit(people["ann1"], task.id, {"spans": [span(0, 6, "PER")]})
    version = svc.export_version(ADMIN, project, "gold")
    last = workspace.audit.entries(limit=1000)[-1]
    assert (last.action, last.after) == ("project.export", {"version": "gold@1", "rows": version.num_rows})
    assert version.num_rows == 1

    # Break the audit chain's head row so the audit entry cannot be written: the export must leave nothing.
    with workspace.catalog.engine.begin() as connection:
        head = connection.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
        connection.execute(text("DELETE FROM audit_head"))
    folders = set((workspace.root / "versions").iterdir())
    with pytest.raises(NoResultFound):
        svc.export_version(ADMIN, project, "gold")
    assert [v.ref for v in workspace.datasets.versions("gold")] == ["gold@1"]
    assert set((workspace.root / "versions").iterdir()) == folders
    with workspace.catalog.engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :seq, :hash)"),
                           {"seq": head.seq, "hash": head.hash})
    assert workspace.audit.entries(limit=1000)[-1] == last and workspace.audit.verify().ok


def test_reject_reopens_for_the_same_annotators(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=2, overlap=1)
    svc, ann1, ann2, rev = workspace.annotation, people["ann1"], people["ann2"], people["rev"]
    task = svc.next_task(ann1, project)
    assert task is not None
    svc.submit(ann1, task.id, {"spans": [span(0, 6, "PER")]})
    svc.review(rev, task.id, "reject", comment="Angela Merkel is one person")
    assert svc.get_task(rev, task.id).task.state == "rejected"
    assert svc.review_queue(rev, project) == []
    other = svc.next_task(ann2, project)
    assert other is not None and other.id != task.id  # the rejected task stays with its annotator
    assert take(workspace, ann1, project).id == task.id
    mine = svc.get_task(ann1, task.id)
    assert mine.annotations[0].result == {"spans": [span(0, 6, "PER")]} and mine.reviews[0].decision == "reject"
    svc.submit(ann1, task.id, {"spans": [span(0, 13, "PER")]})
    assert svc.get_task(rev, task.id).task.state == "annotated"
    assert svc.review(rev, task.id, "accept").final_result == {"spans": [span(0, 13, "PER")]}


def test_skip_passes_task_on_and_never_returns(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=2, overlap=1)
    svc, ann1, ann2 = workspace.annotation, people["ann1"], people["ann2"]
    task = svc.next_task(ann1, project)
    assert task is not None
    svc.skip(ann1, task.id)
    assert take(workspace, ann2, project).id == task.id
    following = svc.next_task(ann1, project)
    assert following is not None and following.id != task.id
    svc.submit(ann1, following.id, {"spans": []})
    assert svc.next_task(ann1, project) is None  # task skipped by ann1 is never offered to ann1 again
    with pytest.raises(PermissionDenied, match="not assigned"):
        svc.submit(ann1, task.id, {"spans": []})
    progress = svc.progress(ADMIN, project)
    assert progress.per_annotator["ann1"].skipped == 1 and progress.per_annotator["ann2"].assigned == 1


def test_uncertainty_ordering_serves_highest_priority_first(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=5, overlap=1, ordering="uncertainty")
    svc = workspace.annotation
    assert svc.set_priorities(ADMIN, project, {"r3": 0.9, "r1": 0.5, "r4": 0.7}) == 3
    served = []
    for name in ("ann1", "ann2", "ann3"):
        task = svc.next_task(people[name], project)
        assert task is not None
        served.append(task.record_id)
    assert served == ["r3", "r4", "r1"]
    with pytest.raises(NotFoundError, match="'nope'"):
        svc.set_priorities(ADMIN, project, {"nope": 1.0})


def test_roles_and_visibility(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=3, overlap=1)
    svc, ann1, ann2, rev = workspace.annotation, people["ann1"], people["ann2"], people["rev"]
    (outsider,) = users(workspace, "outsider")
    task = svc.next_task(ann1, project)
    assert task is not None
    with pytest.raises(PermissionDenied, match="not assigned"):
        svc.get_task(ann2, task.id)
    with pytest.raises(PermissionDenied, match="not a member"):
        svc.next_task(outsider, project)
    with pytest.raises(PermissionDenied, match="reviewer"):
        svc.review_queue(ann1, project)
    with pytest.raises(PermissionDenied, match="admin"):
        svc.add_member(rev, project, "outsider", "annotator")
    with pytest.raises(PermissionDenied, match="administrators"):
        svc.create_user(ann1, "sneaky", "password1234")
    with pytest.raises(PermissionDenied):
        svc.export_version(rev, project, "leak")
    assert [t.id for t in svc.tasks_for(ann1, project)] == [task.id]
    assert svc.tasks_for(ann2, project) == []
    assert len(svc.tasks_for(rev, project)) == 3
    assert svc.list_projects(outsider) == [] and [p.name for p in svc.list_projects(ann1)] == [project]
    svc.submit(ann1, task.id, {"spans": []})
    assert svc.role_of(rev, project) == "reviewer" and svc.role_of(outsider, project) is None
    # A project admin (not a global admin) may manage members; a disabled user loses access at once.
    svc.add_member(ADMIN, project, "rev", "admin")
    svc.add_member(rev, project, "outsider", "annotator")
    assert {m.username for m in svc.members(rev, project)} >= {"outsider", "rev"}
    svc.set_disabled(ADMIN, "ann1")
    with pytest.raises(PermissionDenied, match="disabled"):
        svc.tasks_for(ann1, project)
    assert svc.authenticate("ann1", "correct horse battery") is None


def test_validation_errors_name_the_field(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=1, overlap=1)
    svc, ann1 = workspace.annotation, people["ann1"]
    task = svc.next_task(ann1, project)
    assert task is not None
    n = len(task.payload["text"])
    cases = {
        "result.spans[0]: [40, 999)": {"spans": [span(40, 999, "PER")]},
        "result.spans[0].label: 'MISC'": {"spans": [span(0, 5, "MISC")]},
        "overlap, and this project does not allow": {"spans": [span(0, 13, "PER"), span(7, 20, "PER")]},
        "result.spans[0]: start and end must be integers": {"spans": [{"start": "0", "end": 3, "label": "PER"}]},
        "result.spans: must be a list": {"spans": "PER"},
        "result.label: unexpected field": {"label": "PER"},
        "result.spans[0]: [3, 3) is empty": {"spans": [span(3, 3, "PER")]},
        "result: must be an object": ["PER"],
    }
    for message, result in cases.items():
        with pytest.raises(AnnotationValidationError) as error:
            svc.submit(ann1, task.id, result)
        assert str(error.value).startswith(f"task {task.id}: ") and message in str(error.value), str(error.value)
    svc.submit(ann1, task.id, {"spans": [span(0, n, "PER")]})
    with pytest.raises(AnnotationValidationError, match="suggestion_id"):
        svc.submit(ann1, task.id, {"spans": []}, suggestion_id=12345)


def test_classification_preference_and_correction_projects(workspace: Workspace, tmp_path: Path) -> None:
    svc = workspace.annotation
    a, b, c = users(workspace, "a", "b", "c")
    version = text_version(workspace, tmp_path, 2)
    svc.create_project(ADMIN, "topic", version.ref, "classification", ["politics", "business", "science"],
                       overlap=3)
    svc.create_project(ADMIN, "tags", version.ref, "classification", ["person", "place"], multi_label=True, overlap=3)
    pairs = ingest(workspace, tmp_path, [{"id": "p1", "text": "", "question": "2+2?", "good": "4", "bad": "5",
                                          "instruction": "Say hi", "response": "Helo"}], name="pairs")
    svc.create_project(ADMIN, "pref", pairs.ref, "preference",
                       fields={"prompt": "question", "response_a": "good", "response_b": "bad"}, overlap=3)
    svc.create_project(ADMIN, "fix", pairs.ref, "correction", overlap=2)
    for project in ("topic", "tags", "pref", "fix"):
        for user in (a, b, c):
            svc.add_member(ADMIN, project, user.username, "annotator")

    def annotate(project: str, answers: dict[str, object]) -> None:
        for user in (a, b, c):
            if user.username in answers:
                task = svc.next_task(user, project)
                assert task is not None
                svc.submit(user, task.id, answers[user.username])

    with pytest.raises(AnnotationValidationError, match="exactly one label"):
        task = svc.next_task(a, "topic")
        assert task is not None
        svc.submit(a, task.id, {"labels": ["politics", "science"]})
    annotate("topic", {"a": {"labels": ["politics"]}, "b": {"labels": ["science"]}, "c": {"labels": ["science"]}})
    annotate("tags", {"a": {"labels": ["place", "person"]}, "b": {"labels": ["person"]}, "c": {"labels": []}})
    task = svc.next_task(a, "pref")
    assert task is not None and task.payload == {"prompt": "2+2?", "response_a": "4", "response_b": "5"}
    svc.submit(a, task.id, {"choice": "a", "reason": "correct"})
    annotate("pref", {"b": {"choice": "a", "reason": "right"}, "c": {"choice": "b", "reason": ""}})
    with pytest.raises(AnnotationValidationError, match=r"result\.choice"):
        svc.submit(a, task.id, {"choice": "c"})
    annotate("fix", {"a": {"text": "Hello"}, "b": {"text": "Hello"}})

    topic = {r["id"]: r for r in svc.export_version(ADMIN, "topic", "topic-out").to_table().to_pylist()}
    assert topic["r0"]["labels"] == ["science"] and len(topic["r0"]["annotations"]) == 3
    tags = svc.export_version(ADMIN, "tags", "tags-out").to_table().to_pylist()
    assert tags[0]["labels"] == ["person"]  # chosen by 2 of 3; "place" by 1 of 3
    pref = svc.export_version(ADMIN, "pref", "pref-out").to_table().to_pylist()
    assert pref[0]["choice"] == "a" and pref[0]["reason"] == "correct" and pref[0]["question"] == "2+2?"
    fixed = svc.export_version(ADMIN, "fix", "fix-out").to_table().to_pylist()
    assert fixed[0]["correction"] == "Hello" and fixed[0]["annotation_state"] == "annotated"


def test_project_creation_errors(workspace: Workspace, tmp_path: Path) -> None:
    svc = workspace.annotation
    version = text_version(workspace, tmp_path, 2)
    with pytest.raises(AnnotationValidationError, match="no column 'prompt'"):
        svc.create_project(ADMIN, "p", version.ref, "preference")
    with pytest.raises(AnnotationValidationError, match="need labels"):
        svc.create_project(ADMIN, "p", version.ref, "ner")
    with pytest.raises(Exception, match="overlap"):
        svc.create_project(ADMIN, "p", version.ref, "ner", ["A"], overlap=0)
    with pytest.raises(NotFoundError, match="no dataset named 'missing'"):
        svc.create_project(ADMIN, "p", "missing@1", "ner", ["A"])
    written: list[float] = []

    def advance(amount: float) -> None:
        written.append(amount)

    svc.create_project(ADMIN, "p", version.ref, "ner", ["A"], advance=advance)
    assert sum(written) == 2
    with pytest.raises(ConflictError, match="already exists"):
        svc.create_project(ADMIN, "p", version.ref, "ner", ["A"])
    assert svc.progress(ADMIN, "p").total == 2


def test_suggestions_and_acceptance_report(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=1, overlap=2)
    svc, ann1, ann2 = workspace.annotation, people["ann1"], people["ann2"]
    task = svc.next_task(ann1, project)
    assert task is not None
    suggested = {"spans": [span(0, 13, "PER"), span(17, 32, "PER"), span(36, 41, "LOC")]}
    suggestion = svc.add_suggestions(ADMIN, task.id, "spacy:test", suggested, {"confidence": 0.8})
    with pytest.raises(PermissionDenied):
        svc.add_suggestions(ann1, task.id, "spacy:test", suggested)
    assert svc.add_suggestions_by_record(ADMIN, project, "rules", [("r0", {"spans": [span(36, 41, "LOC")]}, None)]) == 1
    assert [s.source for s in svc.get_task(ann1, task.id).suggestions] == ["spacy:test", "rules"]
    # ann1 keeps Merkel, trims Macron to his surname, deletes Paris; ann2 keeps everything.
    svc.submit(ann1, task.id, {"spans": [span(0, 13, "PER"), span(26, 32, "PER")]}, suggestion_id=suggestion.id)
    svc.next_task(ann2, project)
    svc.submit(ann2, task.id, suggested, suggestion_id=suggestion.id)
    report = {(r.source, r.label): r for r in svc.suggestion_acceptance(ADMIN, project)}
    per = report[("spacy:test", "PER")]
    assert (per.suggested, per.accepted, per.changed, per.deleted) == (4, 3, 1, 0)
    loc = report[("spacy:test", "LOC")]
    assert (loc.suggested, loc.accepted, loc.changed, loc.deleted) == (2, 1, 0, 1)
    assert report[("rules", "LOC")].acceptance_rate == 0.5


def test_users_passwords_and_tokens(workspace: Workspace) -> None:
    svc = workspace.annotation
    (alice,) = users(workspace, "alice")
    assert svc.authenticate("alice", "correct horse battery") == alice
    assert svc.authenticate("alice", "wrong password!") is None
    assert svc.authenticate("nobody", "correct horse battery") is None
    with pytest.raises(ConflictError):
        users(workspace, "alice")
    with pytest.raises(Exception, match="at least 8"):
        svc.create_user(ADMIN, "bob", "short")
    issued = svc.create_api_token(alice, "laptop")
    assert issued.token.startswith("dt_") and svc.user_for_token(issued.token) == alice
    assert svc.user_for_token(issued.token + "x") is None
    listed = svc.list_tokens(alice)
    assert [t.name for t in listed] == ["laptop"] and listed[0].last_used is not None
    svc.revoke_token(alice, issued.id)
    assert svc.user_for_token(issued.token) is None
    svc.set_password(alice, "alice", "a new long password")
    assert svc.authenticate("alice", "a new long password") == alice
    with workspace.catalog.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT password_hash FROM users").scalar()
    assert isinstance(stored, str) and stored.startswith("$argon2id$") and "correct" not in stored


def test_removing_a_member_releases_their_open_tasks(workspace: Workspace, tmp_path: Path) -> None:
    project, people = ner_project(workspace, tmp_path, count=2, overlap=1)
    svc, ann1, ann2 = workspace.annotation, people["ann1"], people["ann2"]
    first = take(workspace, ann1, project)
    svc.submit(ann1, first.id, {"spans": []})
    second = take(workspace, ann1, project)
    svc.remove_member(ADMIN, project, "ann1")
    with pytest.raises(PermissionDenied, match="not a member"):
        svc.next_task(ann1, project)
    assert take(workspace, ann2, project).id == second.id  # released; the submitted one stays counted
    assert svc.get_task(ADMIN, first.id).task.state == "annotated"
    assert workspace.audit.entries(limit=1000)[-2].after == {"released_assignments": 1}
