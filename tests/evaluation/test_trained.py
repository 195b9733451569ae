"""A model trained by `datatrainer train` and evaluated by name: perplexity on the version it was trained on
counts only the records training held out."""

from __future__ import annotations

from pathlib import Path

import pytest

from datatrainer.evaluation.runner import run_perplexity
from datatrainer.training import train
from datatrainer.training.data import held_out_mask
from datatrainer.workspace import Workspace
from tests.training.conftest import ingest_records, lee_articles, small_tokenizer, tiny_config

__all__ = ["small_tokenizer"]  # the training tests' tokenizer fixture, shared


@pytest.mark.slow
def test_registered_model_is_scored_on_its_held_out_split(tmp_path: Path, small_tokenizer: str) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ref = ingest_records(ws, "lee", [{"id": f"lee-{i}", "text": text} for i, text in enumerate(lee_articles(40))],
                         tmp_path)
    train(ws, ref, tiny_config(small_tokenizer, max_steps=4, eval_fraction=0.25), "tiny", progress=False)

    held = run_perplexity(ws, "tiny", ref, max_tokens=30)
    ids = ws.version(ref).to_table(["id"]).column("id").combine_chunks()
    assert held.config["split"] == "held-out"
    assert held.metrics["documents"] == int(held_out_mask(ids, 0.25).sum()) > 0
    everything = run_perplexity(ws, "tiny", ref, max_tokens=30, split="all")
    assert everything.metrics["documents"] == 40
    assert [e.suite for e in ws.models.evaluations("tiny")] == ["perplexity", "perplexity"]
    ws.close()
