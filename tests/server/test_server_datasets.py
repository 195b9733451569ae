"""The datasets API answers what the workspace itself says: names, versions, records, lineage, stats, scores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow.compute as pc
import pytest

from datatrainer.annotation.types import local_admin
from datatrainer.io.card import lineage
from datatrainer.scoring.configs import config_hash
from datatrainer.server.app import create_app
from datatrainer.server.run import serve_in_thread
from datatrainer.workspace import Workspace
from tests.conftest import write_lines


@pytest.fixture
def served(tmp_path: Path, catalog_url: str | None) -> Iterator[tuple[httpx.Client, Path]]:
    """A workspace with `web@1`, `web@2` (filtered from it) and a length score, and a reviewer's token."""
    texts = ["short", "a somewhat longer record", "the longest record of all three here"]
    with Workspace.init(tmp_path / "ws", db_url=catalog_url) as ws:
        ws.ingest(write_lines(tmp_path / "in.jsonl", *[json.dumps({"id": f"r{i}", "text": t})
                                                       for i, t in enumerate(texts)]), "web")
        ws.apply("filter", ["web@1"], {"where": "length(text) > 5"})
        table = ws.version("web@1").to_table(["content_hash", "text"])
        ws.scores.add("length", config_hash({"kind": "length"}), table["content_hash"],
                      np.asarray(pc.utf8_length(table["text"]), dtype=float), {"kind": "length"})
        ws.annotation.create_user(local_admin(), "rita", "a long password", role="reviewer")
        token = ws.annotation.create_api_token(local_admin(), "read", username="rita").token
    with serve_in_thread(create_app(tmp_path / "ws", catalog_url)) as url, \
            httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as client:
        yield client, tmp_path / "ws"


def test_datasets_versions_records_lineage_and_scores(served: tuple[httpx.Client, Path],
                                                     catalog_url: str | None) -> None:
    client, root = served
    with Workspace.open(root, catalog_url) as ws:
        web2 = ws.version("web@2")
        expected_head = web2.head(2).to_pylist()
        expected_lineage = [v.ref for v in lineage(ws, web2)]
        expected_scores = ws.scores.scores_for(ws.version("web@1"), "length")
    listed = client.get("/datasets").json()
    assert [(d["name"], d["versions"], d["latest"]["ref"]) for d in listed] == [("web", 2, "web@2")]
    assert [v["ref"] for v in client.get("/datasets/web/versions").json()] == ["web@1", "web@2"]
    shown = client.get("/versions/web@2").json()
    assert (shown["rows"], shown["operation"], shown["parents"]) == (web2.num_rows, "filter", ["web@1"])
    assert shown["params"]["where"] == "length(text) > 5" and shown["schema"]["text"] == "string"
    assert client.get("/versions/web@2/head", params={"n": 2}).json() == json.loads(
        json.dumps(expected_head, default=str))
    assert [v["ref"] for v in client.get("/versions/web@2/lineage").json()] == expected_lineage == ["web@2", "web@1"]
    assert client.get("/versions/web@2/stats").json() == shown["stats"]
    computed = client.get("/versions/web@1/scores").json()
    assert [(c["kind"], c["name"], c["covered"], c["records"]) for c in computed] == [("score", "length", 3, 3)]
    scores = client.get("/versions/web@1/scores/length", params={"limit": 2, "offset": 1}).json()
    assert scores == [{"id": i, "score": s} for i, s in zip(expected_scores["id"].to_pylist()[1:3],
                                                           expected_scores["score"].to_pylist()[1:3], strict=True)]
    missing = client.get("/versions/nope@1")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert client.get("/versions/web@1/head", params={"n": 101}).status_code == 422
