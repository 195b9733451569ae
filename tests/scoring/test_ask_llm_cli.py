"""`datatrainer score ask-llm`, run as a user would (subprocesses) with the real SmolLM2: interrupted with Ctrl-C
and killed with SIGKILL after shards land, resumed without recomputing, then sampled, listed and exported;
and the one-line errors. One workspace goes through the whole story (each model load costs 20-40 s here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from datatrainer.models.lm.base import LanguageModel
from datatrainer.scoring.ask_llm import AskLLM
from datatrainer.scoring.quality_student import default_student
from tests.cli.test_cli import ok, one_line_error, run
from tests.scoring.interrupt import signal_when
from tests.scoring.test_cli import jsonl

pytestmark = pytest.mark.slow
SHARD = 4
FLOAT32 = ("--dtype", "float32")  # as the reference fixture: bf16 scores depend on how texts are batched
MODEL_RUN_TIMEOUT = 600


def default_shards(ws: Path) -> list[Path]:
    """Shards of the default config (the student), stored last of each shard's four: what decides "missing"."""
    for config in (ws / "scores" / "ask-llm").glob("*/config.json"):
        if json.loads(config.read_text())["params"]["score"] == "student":
            return sorted(config.parent.glob("*.parquet"))
    return []


def interrupted(ws: Path, sig: signal.Signals) -> subprocess.Popen[str]:
    """Start scoring, send `sig` once a new default shard is stored; returns the finished process."""
    before = len(default_shards(ws))
    process, _ = signal_when(["-w", ws, "score", "ask-llm", "web@1", "--shard-rows", SHARD, *FLOAT32],
                             lambda: len(default_shards(ws)) != before, sig, timeout=MODEL_RUN_TIMEOUT)
    return process


def model_run(*args: str | Path) -> str:
    result = subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", *map(str, args)],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
                            timeout=MODEL_RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_interrupt_kill_resume_sample_export(smollm2: LanguageModel, short_texts: list[str], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ok("init", ws)
    ok("-w", ws, "ingest", jsonl(tmp_path / "web.jsonl", short_texts, "d"), "--name", "web")
    total = len(short_texts)

    process = interrupted(ws, signal.SIGINT)
    assert process.returncode == 130
    assert process.stdout is not None
    kept = len(default_shards(ws))
    assert 1 <= kept < total // SHARD
    killed = interrupted(ws, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    kept = len(default_shards(ws))
    assert kept < total // SHARD

    out = model_run("-w", ws, "score", "ask-llm", "web@1", "--shard-rows", SHARD, *FLOAT32)
    assert f"scored {total} records of web@1 ({total - SHARD * kept} texts computed now)" in out
    rows = sum(pq.read_metadata(path).num_rows for path in default_shards(ws))
    assert rows == total  # every text computed exactly once across the three runs
    student_hash = out.split("ask-llm student config ")[1].split()[0]
    also = dict(item.split() for item in out.split("also stored: ")[1].split(" (pass")[0].split(", "))
    pyes_hash = also["pyes"]
    assert "0 texts computed now" in model_run("-w", ws, "score", "ask-llm", "web@1", *FLOAT32)  # found, not recomputed

    ok("-w", ws, "scores", "export", "web@1", "--scorer", "ask-llm", "--out", tmp_path / "a.jsonl")
    exported = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [row["id"] for row in exported] == [f"d{i}" for i in range(total)]
    assert {row["config_hash"] for row in exported} == {student_hash}  # the default: the quality student
    np.testing.assert_allclose([row["score"] for row in exported], default_student().score(short_texts), rtol=1e-9)
    ok("-w", ws, "scores", "export", "web@1", "--scorer", "ask-llm", "--config", also["normalized"], "--out",
       tmp_path / "n.jsonl")
    scores = np.array([json.loads(line)["score"] for line in (tmp_path / "n.jsonl").read_text().splitlines()])
    reference = AskLLM(smollm2).score(short_texts)  # one uninterrupted run, batched differently
    np.testing.assert_allclose(scores, reference.normalized, rtol=1e-4)
    ok("-w", ws, "scores", "export", "web@1", "--scorer", "ask-llm", "--config", pyes_hash, "--out",
       tmp_path / "p.parquet")
    pyes = pq.read_table(tmp_path / "p.parquet")
    assert pyes.column_names == ["id", "score", "config_hash"]
    np.testing.assert_allclose(pyes["score"].to_numpy(), reference.p_yes, rtol=1e-4)

    shown = ok("-w", ws, "scores", "show", "web@1")
    assert shown.count("ask-llm") == 4 and shown.count(f"{total}/{total}") == 4

    out = ok("-w", ws, "sample", "web@1", "--by", "ask-llm", "--budget", "20%", "--name", "top")
    assert f"kept {total // 5} of {total}" in out
    student = np.array([row["score"] for row in exported])
    top = np.sort(np.lexsort((np.arange(total), -student))[:total // 5])
    ok("-w", ws, "export", "top@1", "--format", "jsonl", "--out", tmp_path / "top")
    kept_ids = [json.loads(line)["id"] for line in (tmp_path / "top" / "data.jsonl").read_text().splitlines()]
    assert kept_ids == [f"d{i}" for i in top]


def test_one_line_errors(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ok("init", ws)
    ok("-w", ws, "ingest", jsonl(tmp_path / "web.jsonl", ["One short text.", "Another one."], "d"), "--name", "web")
    no_slot = tmp_path / "no-slot.txt"
    no_slot.write_text("Is this good? Answer yes or no.\n")
    cases = [
        (["score", "ask-llm", "web@1", "--prompt", tmp_path / "absent.txt"], "absent.txt: no such file"),
        (["score", "ask-llm", "web@1", "--prompt", no_slot], "no-slot.txt: prompt template has no {text}"),
        (["score", "ask-llm", "web@1", "--score", "best"], "ask-llm: score: Input should be"),
        (["score", "ask-llm", "web@9"], "dataset 'web' has no version 9"),
        (["score", "perplexity", "nope"], "nope"),
        (["score", "ask-llm", "web@1", "--model", "no-such-model"], "language model 'no-such-model' is not"),
        (["score", "perplexity", "web@1", "--model", "no-such-model"], "nothing downloads at run time"),
    ]
    for args, message in cases:
        error = one_line_error(run("-w", ws, *args))
        assert message in error, error
    assert not (ws / "scores").exists()  # nothing was stored by a failed command
