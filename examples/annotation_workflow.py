"""An annotation round without a browser: two annotators label review sentences, a reviewer settles the
disagreements, agreement is measured, the result becomes a new dataset version, and the audit log verifies.

The web UI and the REST API (`datatrainer serve`) call this same service, with the same roles and checks.

    .venv/bin/python examples/annotation_workflow.py [WORKSPACE]
"""

from __future__ import annotations

from _common import bundled_sentences, workspace_folder

import datatrainer as dt
from datatrainer.annotation.agreement_report import classification_agreement, group_by_item
from datatrainer.annotation.types import local_admin

TASKS = 20

root = workspace_folder()
with dt.Workspace.init(root) as ws:
    reviews = ws.ingest(bundled_sentences(root / "inputs"), "reviews")
    sample = ws.apply("sample", [reviews], {"by": "random", "budget": TASKS, "seed": 0}, name="to-label")
    gold = {row["id"]: row["label"] for row in sample.to_table(columns=["id", "label"]).to_pylist()}

    svc, admin = ws.annotation, local_admin()          # the CLI acts as the local administrator
    project = svc.create_project(admin, "sentiment", sample.ref, "classification", ["pos", "neg"], overlap=2)
    alice = svc.create_user(admin, "alice", "alice-password-123")
    bob = svc.create_user(admin, "bob", "bob-password-456")
    for user in (alice, bob):
        svc.add_member(admin, project.name, user.username, "annotator")

    # alice labels as the source did; bob disagrees on every fourth sentence
    for user, flip_every in ((alice, 0), (bob, 4)):
        for index in range(TASKS):
            task = svc.next_task(user, project.name)
            assert task is not None
            label = gold[task.record_id]
            if flip_every and index % flip_every == 0:
                label = "neg" if label == "pos" else "pos"
            svc.submit(user, task.id, {"labels": [label]})

    docs = svc.annotated_docs(admin, project.name, per_annotator=True)
    by_item = group_by_item(docs)
    report = classification_agreement({item: {who: doc.labels for who, doc in by.items()}
                                       for item, by in by_item.items()}, labels=["pos", "neg"])
    print(f"{report.items} items, Cohen's kappa alice/bob {report.pairs[0].kappa:.3f}, "
          f"Krippendorff's alpha {report.krippendorff_alpha:.3f}")

    # the reviewer accepts agreed tasks (their consensus) and adjudicates the others with the source label
    for task in svc.review_queue(admin, project.name, limit=TASKS):
        detail = svc.start_review(admin, task.id)
        answers = {tuple(a.result["labels"]) for a in detail.annotations}
        if len(answers) == 1:
            svc.review(admin, task.id, "accept")
        else:
            svc.review(admin, task.id, "adjudicate", final_result={"labels": [gold[task.record_id]]})
    progress = svc.progress(admin, project.name)
    print(f"tasks by state: {progress.by_state}")

    labelled = svc.export_version(admin, project.name, "sentiment-gold")
    print(f"{labelled.ref}: {labelled.num_rows} records, parent {labelled.info.parents[0]}")
    check = ws.audit.verify()
    print(f"audit log: {check.entries} entries, chain {'verified' if check.ok else 'BROKEN'}")
