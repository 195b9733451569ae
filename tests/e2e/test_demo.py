"""The README's first command runs the main job end to end; this runs the same job in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
from fastapi.testclient import TestClient

from datatrainer.annotation.formats import read
from datatrainer.cli.demo import DEMO_PASSWORD
from datatrainer.scoring.measured import sampling_warning
from datatrainer.scoring.quality_student import default_student
from datatrainer.server.app import create_app
from datatrainer.server.dashboard.html import NAV, ROOT
from datatrainer.workspace import Workspace


def test_demo_runs_every_stage(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", "demo", "--out", str(root)],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "demo done" in result.stdout
    with Workspace.open(root) as ws:
        chain = [v.info.operation for v in ws.datasets.versions("crawl")]
        assert chain == ["ingest", "quality-filter", "dedup"]
        raw, filtered, deduped = ws.datasets.versions("crawl")
        assert raw.num_rows > filtered.num_rows > deduped.num_rows > 0
        dropped_ids = set(filtered.artifact("dropped")["id"].to_pylist())
        assert {f"junk-{i:03d}" for i in range(18)} <= dropped_ids  # every planted spam page
        assert any(i.startswith("bgwiki-") for i in dropped_ids)  # the Bulgarian pages, by language
        removed_as_copies = set(deduped.artifact("dropped")["id"].to_pylist())
        assert {f"exact-{i:03d}" for i in range(10)} <= removed_as_copies | dropped_ids  # short ones go earlier
        assert sum(i.startswith("copy-") for i in removed_as_copies) >= 30  # of 40 planted near-duplicates
        shareable = ws.version("crawl-shareable@1")  # every planted email and phone number pseudonymised
        texts = "\n".join(deduped.to_table(["text"])["text"].to_pylist())
        planted = re.findall(r"news\d+@example\.org|\+44 20 7946 0\d{3}", texts)
        redacted = "\n".join(shareable.to_table(["text"])["text"].to_pylist())
        assert planted and shareable.num_rows == deduped.num_rows and not any(v in redacted for v in planted)
        sample = ws.version("crawl-sample@1")
        assert sample.info.parents == (deduped.ref,) and sample.num_rows == deduped.num_rows // 2
        assert ws.scores.computed(deduped)  # density scores stored and reusable
        exported = datasets.load_from_disk(str(root / "exports" / "crawl-clean-hf"))
        assert exported.num_rows == deduped.num_rows
        best = ws.version("crawl-best@1")  # the density sample's best half by the best-measured quality score
        assert best.info.parents == (sample.ref,) and best.num_rows == sample.num_rows // 2
        assert best.info.params["scorer"] == "ask-llm"
        used = ws.scores.resolve(sample, "ask-llm", best.info.params["score_config"])
        assert used.params["score"] == "student" and sampling_warning(used) is None
        kept = set(best.to_table(["id"])["id"].to_pylist())
        records = sample.to_table(["id", "text"]).to_pylist()
        ranked = np.argsort(-default_student().score([record["text"] for record in records]), kind="stable")
        assert kept == {records[i]["id"] for i in ranked[:best.num_rows]}
        pyes = [config for config in ws.scores.computed(sample) if config.config.name == "ask-llm"
                and config.config.params["score"] == "pyes"]
        assert len(pyes) == 1 and pyes[0].complete  # SmolLM2 answered for every record of the sample
        gold = ws.version("demo-people-gold@1")
        assert gold.info.parents == (sample.ref,) and gold.num_rows > 0
        spans = gold.to_table(["spans"])["spans"].to_pylist()
        assert sum(map(len, spans)) > gold.num_rows  # spaCy's entities, accepted and reviewed
        assert ws.audit.verify().ok
        model = ws.models.get("demo-tiny-gpt")  # trained on the Ask-LLM-selected half, registered with lineage
        assert model.dataset_ref == best.ref and model.base_model == "tiny-gpt"
        losses = [entry["train_loss"] for entry in model.history if "train_loss" in entry]
        assert losses[-1] < losses[0]
        (evaluation,) = ws.models.evaluations("demo-tiny-gpt")
        assert evaluation.suite == "perplexity" and evaluation.dataset_ref == "wiki@1"
        assert evaluation.metrics["perplexity"] > 1
    conll = read(root / "exports" / "demo-people.conll", "conll")
    assert len(conll) == gold.num_rows and sum(len(doc.spans) for doc in conll) == sum(map(len, spans))
    for number in (1, 3):
        report = json.loads((root / "reports" / f"quality-crawl-{number}.json").read_text())
        assert report["summary"]["records"] in (raw.num_rows, deduped.num_rows)
        assert (root / "reports" / f"quality-crawl-{number}.html").stat().st_size > 10_000
    assert (root / "reports" / "coverage-crawl-3-crawl-sample-1.html").is_file()
    _demo_login_sees_every_page(root)


def _demo_login_sees_every_page(root: Path) -> None:
    """The printed login opens every dashboard page and the audit log (an administrator, not an annotator)."""
    with TestClient(create_app(root)) as client:
        client.post("/api/v1/login", json={"username": "demo", "password": DEMO_PASSWORD}).raise_for_status()
        client.headers["X-CSRF-Token"] = client.cookies["dt_csrf"]
        overview = client.get("/dashboard")
        assert overview.status_code == 200
        for entry in NAV:
            assert f'href="{ROOT}{entry.path}"' in overview.text
            assert client.get(ROOT + entry.path).status_code == 200
        for page in ("/dashboard/versions/crawl-sample@1", "/dashboard/models/demo-tiny-gpt", "/api/v1/audit"):
            assert client.get(page).status_code == 200, page


def test_demo_replaces_only_its_own_workspace(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "mine").close()
    result = subprocess.run([sys.executable, "-m", "datatrainer", "demo", "--out", str(tmp_path / "mine")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'mine'} holds a workspace the demo did not create; pass --out with a new folder"]
    assert (tmp_path / "mine" / "catalog.db").is_file()  # untouched
