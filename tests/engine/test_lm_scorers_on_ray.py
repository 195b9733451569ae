"""Ask-LLM and perplexity on Ray actor pools store the scores a local run stores, every score kind (float32,
rtol 1e-5: the same shards through the same model, in other processes). The model is a tiny randomly
initialised Llama saved as a model folder with a 512-token BPE tokenizer, so that each actor loads it in well
under a second; what is tested is the engine path (actors loading the model from the request, shards stored
as they arrive), not the model. Each pool of actors pays its imports (torch, transformers): ~5 s here on an
idle machine, ~15 s on a busy one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datatrainer.paragraphs import real_texts
from datatrainer.scoring.lm_jobs import AskLLMTask, LMTask, ModelRequest, PerplexityTask, score_with_lm
from datatrainer.workspace import Workspace

transformers = pytest.importorskip("transformers")
TEMPLATE = "{% for m in messages %}<|user|>{{ m['content'] }}\n{% endfor %}<|assistant|>"


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(real_texts(200), trainers.BpeTrainer(
        vocab_size=512, special_tokens=["<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    folder = tmp_path_factory.mktemp("tiny-lm")
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>")
    tokenizer.chat_template = TEMPLATE
    tokenizer.add_tokens(["yes", "no"])  # Ask-LLM's answers, one token each
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                      max_position_embeddings=512, eos_token_id=0, bos_token_id=0)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("task", [AskLLMTask(), PerplexityTask()], ids=["ask-llm", "perplexity"])
def test_lm_scores_on_ray_equal_local(task: LMTask, tiny_lm: str, tmp_path: Path,
                                      ray_engine: Callable[[int], Any]) -> None:
    records = tmp_path / "records.jsonl"
    texts = [text[:200] for text in real_texts(12)]
    records.write_text("".join(json.dumps({"id": f"t{i}", "text": text}) + "\n" for i, text in enumerate(texts)))
    request = ModelRequest(tiny_lm, options={"dtype": "float32"})
    stored = []
    for engine in (None, ray_engine(1024)):
        with Workspace.init(tmp_path / f"ws-{engine is None}") as ws:
            version = ws.ingest(records, "texts")
            scoring = score_with_lm(ws, version, task, request, shard_rows=4, engine=engine)
            for hash_ in scoring.hashes:
                scores = ws.scores.scores_for(version, task.scorer, hash_)
                assert scores["score"].null_count == 0
                stored.append(scores.sort_by("id")["score"].to_numpy())
    assert len(stored) == 2 * len(task.outputs())  # every score kind, on each engine
    local, on_ray = stored[:len(stored) // 2], stored[len(stored) // 2:]
    for expected, found in zip(local, on_ray, strict=True):
        np.testing.assert_allclose(found, expected, rtol=1e-5)
