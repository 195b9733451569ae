"""`datatrainer train` and `datatrainer models`: the CLI entry point (`main`, which turns errors into one line),
in-process to save the import time, and as a subprocess where memory is limited for the out-of-memory case."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from datatrainer.cli.app import main
from datatrainer.cli.context import console
from datatrainer.workspace import Workspace
from tests.training.conftest import ingest_records, lee_articles


def cli(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> tuple[int, str, str]:
    """Run the CLI as `datatrainer -w WS --no-progress ARGS`; (exit code, stdout, stderr)."""
    saved = sys.argv
    console.width = 200  # tables wrap to the terminal's width
    sys.argv = ["datatrainer", "-w", str(ws.root), "--no-progress", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = saved
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(result: tuple[int, str, str]) -> str:
    code, _, err = result
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.slow
def test_train_list_show_export(capsys: pytest.CaptureFixture[str], text_ws: tuple[Workspace, str],
                                small_tokenizer: str, tmp_path: Path) -> None:
    ws, ref = text_ws
    code, out, err = cli(capsys, ws, "train", ref, "--model", "tiny-gpt", "--out", "cli-tiny", "--tokenizer",
                         small_tokenizer, "--tiny", "n_layer=1", "--tiny", "n_embd=32", "--tiny", "n_head=2",
                         "--seq-len", "32", "--batch-size", "4", "--max-steps", "3", "--eval-every", "3")
    assert code == 0, err
    assert "trained cli-tiny on lee@1: 3 steps, 384 tokens" in out
    assert "cli-tiny" in cli(capsys, ws, "models", "list")[1]
    shown = json.loads(cli(capsys, ws, "models", "show", "cli-tiny", "--json")[1])
    assert shown["dataset"] == ref and shown["base_model"] == "tiny-gpt" and shown["method"] == "full"
    assert shown["config"]["tiny"] == {"n_layer": 1, "n_embd": 32, "n_head": 2, "n_positions": 32}
    assert shown["config_hash"] == ws.models.get("cli-tiny").config_hash
    assert [entry["step"] for entry in shown["history"] if "train_loss" in entry] == [1, 2, 3]
    ws.models.record_evaluation("cli-tiny", "perplexity", {"perplexity": 99.0}, ref)
    shown = json.loads(cli(capsys, ws, "models", "show", "cli-tiny", "--json")[1])
    assert shown["evaluations"][0]["metrics"] == {"perplexity": 99.0}

    code, out, err = cli(capsys, ws, "models", "export", "cli-tiny", "--out", str(tmp_path / "exported"))
    assert code == 0, err
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "exported")
    assert model.config.n_layer == 1 and model(torch.tensor([[1, 2, 3]])).logits.shape == (1, 3, 512)
    assert "already exists" in one_line_error(cli(capsys, ws, "models", "export", "cli-tiny", "--out",
                                                  str(tmp_path / "exported")))
    assert "nothing to merge" in one_line_error(cli(capsys, ws, "models", "export", "cli-tiny", "--merge", "--out",
                                                    str(tmp_path / "other")))


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str], text_ws: tuple[Workspace, str]) -> None:
    ws, ref = text_ws
    unknown = one_line_error(cli(capsys, ws, "train", ref, "--model", "acme/not-cached-anywhere", "--out", "m"))
    assert "'acme/not-cached-anywhere' is not a local folder" in unknown and "smollm2" in unknown
    fields = one_line_error(cli(capsys, ws, "train", ref, "--model", "tiny-gpt", "--out", "m", "--text-field",
                                "body"))
    assert "lee@1 has no field(s) body (it has: id, text" in fields
    tokenizer = one_line_error(cli(capsys, ws, "train", ref, "--model", "tiny-gpt", "--out", "m", "--tokenizer",
                                   "/nonexistent/tokenizer.json"))
    assert "tokenizer '/nonexistent/tokenizer.json': no such file or folder" in tokenizer
    resume = one_line_error(cli(capsys, ws, "train", ref, "--model", "tiny-gpt", "--out", "ghost", "--resume"))
    assert "no interrupted training run named 'ghost'" in resume
    assert "use full or lora" in one_line_error(cli(capsys, ws, "train", ref, "--model", "tiny-gpt", "--out", "m",
                                                    "--method", "qlora"))
    assert "no model named 'nope'" in one_line_error(cli(capsys, ws, "models", "show", "nope"))


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))


@pytest.mark.slow
def test_out_of_memory_suggests_a_smaller_batch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A batch whose logits alone need ~10 GB, with the address space limited to 3 GB above what is in use."""
    ws = Workspace.init(tmp_path / "ws")
    ref = ingest_records(ws, "lee", [{"id": str(i), "text": t} for i, t in enumerate(lee_articles(120))], tmp_path)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + (3 << 30), hard))
    try:
        error = one_line_error(cli(capsys, ws, "train", ref, "--model", "tiny-gpt", "--out", "big", "--batch-size",
                                   "512", "--seq-len", "512", "--max-steps", "1", "--eval-fraction", "0"))
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        ws.close()
    assert error.startswith("error: out of memory with --batch-size 512") and "--batch-size 256" in error
    assert not (tmp_path / "ws" / "runs" / "big").exists()  # nothing to resume, so a retry starts afresh
