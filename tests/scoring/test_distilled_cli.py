"""`datatrainer score distilled` as a user runs it: the real SmolLM2 teacher scores only the training sample,
the student scores every record, and `sample --by ask-llm-distilled` keeps the best."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datatrainer.scoring.distilled import training_sample
from datatrainer.workspace import Workspace
from tests.cli.test_cli import ok, one_line_error, run
from tests.scoring.test_cli import jsonl

pytestmark = pytest.mark.slow
TRAIN = 12


def test_teacher_on_the_sample_student_on_everything_then_sample(short_texts: list[str], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ok("init", ws)
    ok("-w", ws, "ingest", jsonl(tmp_path / "web.jsonl", short_texts[:30], "w"), "--name", "web")
    result = subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", "-w", str(ws), "score", "distilled",
                             "web@1", "--train-size", str(TRAIN)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "scored 30 records of web@1: ask-llm-distilled config" in result.stdout

    with Workspace.open(ws) as workspace:
        version = workspace.version("web@1")
        train = workspace.version("web-distill-train@1")
        assert train.num_rows == TRAIN and train.info.params["by"] == "random"
        teacher = workspace.scores.scores_for(version, "ask-llm")
        scored = {h for h, s in zip(teacher["content_hash"].to_pylist(), teacher["score"].to_pylist(), strict=True)
                  if s is not None}
        assert scored == set(training_sample(version, TRAIN, 0).to_pylist())  # the teacher saw only the sample
        prompts = {tuple(c.params["prompt_names"]) for c in workspace.scores.configs("ask-llm")}
        assert prompts == {("paper",), ("strict",)}  # two teachers by default, each its own config
        perplexity = workspace.scores.scores_for(version, "perplexity")["score"].to_numpy()
        assert np.isfinite(perplexity).all()  # every record: the student reads its NLL band
        student_table = workspace.scores.scores_for(version, "ask-llm-distilled")
        student = student_table["score"].to_numpy()
        assert np.isfinite(student).all() and len(student) == 30
        config = workspace.scores.resolve(version, "ask-llm-distilled").params
        assert [name for name, _ in config["teachers"]] == ["ask-llm", "ask-llm", "perplexity"]
        assert config["student"] == "self-training" and config["rounds"] == 1 and config["perplexity"]
        assert "c4_word_share" in config["heuristics"]  # the heuristic signals are student features by default

    again = ok("-w", ws, "score", "distilled", "web@1", "--train-size", str(TRAIN))  # nothing left to compute
    assert "scored 30 records" in again
    ok("-w", ws, "sample", "web@1", "--by", "ask-llm-distilled", "--budget", "20%", "--name", "best")
    with Workspace.open(ws) as workspace:
        kept = workspace.version("best@1").to_table(["id"])["id"].to_pylist()
        assert len(workspace.datasets.versions("web-distill-train")) == 1  # the same draw is not written again
    order = np.argsort(-student, kind="stable")[:6]
    assert sorted(kept) == sorted(f"w{i}" for i in order)

    ridge = ok("-w", ws, "score", "distilled", "web@1", "--train-size", str(TRAIN), "--no-perplexity", "--prompt",
               "paper", "--student", "ridge")  # the previous recipe, from the stored teacher scores
    assert "scored 30 records" in ridge and ridge.split("config ")[1].split()[0] not in again

    error = one_line_error(run("-w", ws, "score", "distilled", "web@1", "--teacher", "nothing"))
    assert "'nothing' scores" in error
    error = one_line_error(run("-w", ws, "score", "distilled", "web@1", "--student", "forest", "--no-perplexity"))
    assert "student" in error
