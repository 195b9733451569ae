"""Small real-text versions for training tests: Lee news articles from the gensim wheel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import gensim
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from datatrainer.training import TrainConfig
from datatrainer.workspace import Workspace

LEE = Path(gensim.__file__).parent / "test" / "test_data" / "lee_background.cor"
# A tiny-gpt small enough that a step takes a fraction of a second on 2 busy cores.
TINY = {"n_layer": 2, "n_head": 2, "n_embd": 64}
EOS = "<|endoftext|>"


def lee_articles(count: int) -> list[str]:
    return [line.strip() for line in LEE.read_text(encoding="utf-8").splitlines() if line.strip()][:count]


def ingest_records(ws: Workspace, name: str, records: list[dict[str, str]], tmp: Path) -> str:
    path = tmp / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in records), encoding="utf-8")
    return ws.ingest(path, name).ref


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run many small ops: on shared, busy cores torch's thread handoffs cost more than the ops
    (measured: 30 s vs a few s for 12 tiny-gpt steps at load 13 on 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def small_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 512-token byte-level BPE trained on the test text: keeps the output layer (vocab x width) small, so
    tiny-gpt steps cost milliseconds. SmolLM2's 49k-token vocabulary is the default outside tests."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(lee_articles(300), trainers.BpeTrainer(vocab_size=512, special_tokens=[EOS]))
    folder = tmp_path_factory.mktemp("tokenizer")
    PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS).save_pretrained(folder)
    return str(folder)


@pytest.fixture
def text_ws(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    ws = Workspace.init(tmp_path / "ws")
    ref = ingest_records(ws, "lee", [{"id": f"lee-{i}", "text": text} for i, text in enumerate(lee_articles(60))],
                         tmp_path)
    yield ws, ref
    ws.close()


def tiny_config(tokenizer: str | None, **overrides: object) -> TrainConfig:
    settings: dict[str, object] = {"model": "tiny-gpt", "tokenizer": tokenizer, "tiny": TINY, "seq_len": 32,
                                   "batch_size": 4, "max_steps": 8, "eval_every": 4, "save_every": 4,
                                   "eval_fraction": 0.1, "learning_rate": 3e-3}
    settings.update(overrides)
    return TrainConfig(**settings)  # type: ignore[arg-type]
