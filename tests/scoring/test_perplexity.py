"""Perplexity with the real bundled SmolLM2: values against a plain full forward pass, the job through
`ws.scores`, and `score perplexity` -> `sample --band` -> `scores export` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from datatrainer.models.lm.base import LanguageModel
from datatrainer.scoring.lm_jobs import ModelRequest, PerplexityTask, score_with_lm
from datatrainer.scoring.perplexity import PERPLEXITY, Perplexity, PerplexityParams
from datatrainer.workspace import Workspace
from tests.cli.test_cli import ok
from tests.scoring.helpers import ingest_texts
from tests.scoring.test_ask_llm_cli import model_run
from tests.scoring.test_cli import jsonl

pytestmark = pytest.mark.slow


def reference_perplexity(model: Any, text: str, max_tokens: int) -> float:
    """exp(mean NLL) from one unbatched forward pass of the whole causal LM over BOS + the first tokens."""
    tokenizer, network = model._tokenizer, model._model
    ids = tokenizer.encode(text, add_special_tokens=False)[:max_tokens]
    ids = [tokenizer.bos_token_id, *ids] if tokenizer.bos_token_id is not None else ids
    with torch.inference_mode():
        logprobs = network(torch.tensor([ids])).logits[0].float().log_softmax(-1)
    nll = -logprobs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].double()
    return float(torch.exp(nll.mean()))


def test_perplexity_equals_a_plain_forward_pass(smollm2: LanguageModel, short_texts: list[str]) -> None:
    texts = [*short_texts[:5], " ".join(short_texts[5:15])]
    scores = Perplexity(smollm2, PerplexityParams(max_tokens=32)).score(texts)
    expected = [reference_perplexity(smollm2, text, 32) for text in texts]
    np.testing.assert_allclose(scores.perplexity, expected, rtol=1e-3)
    assert scores.tokens[-1] == 32 and (scores.perplexity > 1).all()
    assert np.isnan(Perplexity(smollm2).score([""]).perplexity[0])


def test_job_and_low_band_sample(smollm2: LanguageModel, workspace: Workspace, tmp_path: Path,
                                 short_texts: list[str]) -> None:
    version = ingest_texts(workspace, tmp_path, "web", short_texts[:8])
    request = ModelRequest("smollm2", options={"dtype": "float32"})  # as the fixture
    scoring = score_with_lm(workspace, version, PerplexityTask(), request, smollm2, shard_rows=3)
    assert scoring.todo == 8 and len(workspace.scores.configs(PERPLEXITY)) == 1
    stored = workspace.scores.scores_for(version, PERPLEXITY)["score"].to_numpy()
    np.testing.assert_allclose(stored, Perplexity(smollm2).score(short_texts[:8]).perplexity, rtol=1e-5)
    low = workspace.apply("sample", [version], {"by": "perplexity", "band": "low", "budget": 3}, name="low")
    assert low.to_table(["id"])["id"].to_pylist() == [f"r{i}" for i in np.sort(np.argsort(stored)[:3])]
    best = workspace.apply("sample", [version], {"by": "perplexity", "budget": 3}, name="best")
    assert best.to_table(["id"])["id"].to_pylist() == low.to_table(["id"])["id"].to_pylist()  # low is good
    assert best.info.params["sampler"] == "bottom-k"


def test_cli_score_sample_export(smollm2: LanguageModel, short_texts: list[str], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    texts = short_texts[:10]
    ok("init", ws)
    ok("-w", ws, "ingest", jsonl(tmp_path / "web.jsonl", texts, "d"), "--name", "web")
    out = model_run("-w", ws, "score", "perplexity", "web@1", "--max-tokens", "64", "--dtype", "float32")  # as smollm2
    assert "scored 10 records of web@1 (10 texts computed now): perplexity config" in out
    ok("-w", ws, "scores", "export", "web@1", "--scorer", "perplexity", "--out", tmp_path / "p.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    scores = np.array([row["score"] for row in rows])
    np.testing.assert_allclose(scores, Perplexity(smollm2, PerplexityParams(max_tokens=64)).score(texts).perplexity,
                               rtol=1e-4)
    for band, expected in (("low", np.argsort(scores)[:5]), ("high", np.argsort(scores)[5:])):
        ok("-w", ws, "sample", "web@1", "--by", "perplexity", "--band", band, "--budget", "50%", "--name", band)
        ok("-w", ws, "export", f"{band}@1", "--format", "jsonl", "--out", tmp_path / band)
        kept = [json.loads(line)["id"] for line in (tmp_path / band / "data.jsonl").read_text().splitlines()]
        assert kept == [f"d{i}" for i in np.sort(expected)]
