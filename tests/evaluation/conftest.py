"""Evaluation fixtures: a tiny random GPT-2 saved as a transformers folder (with a byte-level BPE trained on real
news text) and a small HellaSwag-schema set built from real sentences of the gensim test corpora."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

GENSIM_DATA = "gensim/test/test_data"


def gensim_file(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))).parent / GENSIM_DATA / name


def news_documents() -> list[str]:
    """The 300 Lee news articles, one per line."""
    return [line.strip() for line in gensim_file("lee_background.cor").read_text(encoding="latin-1").splitlines()
            if line.strip()]


def sentences(document: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", document) if len(s.split()) >= 5]


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer GPT-2 with random weights (seeded) and a 600-token BPE trained on the news articles, saved
    with save_pretrained: loadable by transformers, our backend and lm-eval's HFLM alike."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(news_documents(), vocab_size=600, min_frequency=2, special_tokens=["<|endoftext|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                                        eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=1024, n_embd=32, n_layer=2, n_head=2,
                        initializer_range=0.3, bos_token_id=tokenizer.bos_token_id,
                        eos_token_id=tokenizer.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def hellaswag_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 questions: a news sentence as context, its real next sentence as the gold ending among three
    sentences of other articles, at a random position."""
    rng = random.Random(13)
    documents = [sentences(doc) for doc in news_documents()]
    documents = [doc for doc in documents if len(doc) >= 3]
    rows = []
    for index, doc in enumerate(documents[:24]):
        others = [rng.choice(documents[j]) for j in rng.sample(range(len(documents)), 8) if j != index][:3]
        label = rng.randrange(4)
        endings = others[:label] + [doc[1]] + others[label:]
        context = doc[0] if index % 5 else doc[0] + " "  # some contexts end with a space: lm-eval moves it
        rows.append({"ctx": context, "endings": endings, "label": label})
    path = tmp_path_factory.mktemp("hellaswag") / "hellaswag.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
