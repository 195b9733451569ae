"""`sample` by a stored quality score says in one line when that score measured below the C4 heuristic on held-out
real text, or was never measured; other scorers and well-measured scores sample silently."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.scoring import measured
from datatrainer.store.schema import CONTENT_HASH
from datatrainer.workspace import Workspace
from tests.scoring.helpers import ingest_texts

BASELINE = {"name": "C4 word share", "auc": 0.9}
RESULTS = {"scores": {"ask-llm:smollm2:paper:normalized": {"name": "Ask-LLM paper: normalized", "auc": 0.5,
                                                           "ci95": [0.4, 0.6], "baseline": BASELINE},
                      "ask-llm:student": {"name": "n-gram classifier", "auc": 0.95, "ci95": [0.92, 0.97],
                                          "baseline": BASELINE}}}


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "measured.json"
    path.write_text(json.dumps(RESULTS))
    monkeypatch.setattr(measured, "MEASURED_FILE", path)
    measured.measured.cache_clear()


def test_sample_warns_for_weak_and_unmeasured_quality_scores(results: None, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        version = ingest_texts(ws, tmp_path, "web", [f"Text number {i} is here." for i in range(8)])
        hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
        values = np.arange(8, dtype=float)
        base = {"request": {"model": "smollm2", "backend": "transformers"}, "max_doc_tokens": 512}
        ws.scores.add("ask-llm", "aaaa", hashes, values, {**base, "score": "normalized", "prompt_names": ["paper"]})
        ws.scores.add("ask-llm", "bbbb", hashes, values, {**base, "score": "normalized", "prompt_names": ["mine"]})
        ws.scores.add("ask-llm", "cccc", hashes, values, {**base, "score": "student", "prompt_names": ["paper"]})
        ws.scores.add("length", "dddd", hashes, values, {"kind": "characters"})

    def sample(*options: str) -> str:
        result = CliRunner().invoke(app, ["--no-progress", "-w", str(root), "sample", "web@1", "--budget", "4",
                                          *options])
        assert result.exit_code == 0, result.output
        return result.output

    weak = sample("--by", "ask-llm", "--config", "aaaa")
    assert [line for line in weak.splitlines() if line.startswith("warning:")] == [
        "warning: ask-llm config aaaa (Ask-LLM paper: normalized) measured ROC-AUC 0.50 (95% CI 0.40-0.60) on "
        "held-out real text, below the C4 word share heuristic's 0.90; the default `score ask-llm` student "
        "measured 0.95"]
    assert "never evaluated on held-out real text" in sample("--by", "ask-llm", "--config", "bbbb")
    assert "warning" not in sample("--by", "ask-llm", "--config", "cccc")
    assert "warning" not in sample("--by", "length")
