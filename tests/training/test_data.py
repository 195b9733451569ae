"""Training data against brute-force references: the id-hash split, packing, padding, instruction tables."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from datatrainer.training.data import IGNORE_INDEX, SPLIT_BUCKETS, held_out_mask, instruction_table, token_blocks
from datatrainer.training.loading import load_tokenizer
from tests.training.conftest import lee_articles


def test_held_out_split_is_the_md5_of_the_id() -> None:
    ids = [f"doc-{i}" for i in range(2000)] + ["ünïcode", ""]
    fraction = 0.1
    expected = [int.from_bytes(hashlib.md5(i.encode()).digest()[8:16], "little") % SPLIT_BUCKETS
                < fraction * SPLIT_BUCKETS for i in ids]
    got = held_out_mask(pa.array(ids), fraction)
    assert got.tolist() == expected
    assert 0.08 < got.mean() < 0.12
    assert held_out_mask(pa.array(ids[::-1]), fraction).tolist() == expected[::-1]  # order plays no part
    assert not held_out_mask(pa.array(ids), 0.0).any()


@pytest.mark.parametrize("packing", [True, False])
def test_token_blocks_match_a_brute_force_reference(small_tokenizer: str, packing: bool) -> None:
    tokenizer = load_tokenizer(small_tokenizer)
    texts = lee_articles(12)
    batches = [pa.record_batch({"text": pa.array(texts[:5])}), pa.record_batch({"text": pa.array(texts[5:])})]
    seq_len = 48
    docs = [tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id] for text in texts]
    blocks = token_blocks(iter(batches), "text", tokenizer, seq_len, packing)
    if packing:
        stream = [token for doc in docs for token in doc]
        whole = len(stream) // seq_len
        expected = [stream[i * seq_len:(i + 1) * seq_len] for i in range(whole)]
        assert blocks.input_ids.tolist() == expected and blocks.lengths is None
        assert blocks[1]["labels"].tolist() == expected[1]
        return
    assert blocks.lengths is not None
    assert blocks.lengths.tolist() == [min(len(doc), seq_len) for doc in docs]
    for row, doc in enumerate(docs):
        kept = doc[:seq_len]
        assert blocks.input_ids[row, :len(kept)].tolist() == kept
        item = blocks[row]
        assert item["attention_mask"].sum() == len(kept)
        assert item["labels"][len(kept):].eq(IGNORE_INDEX).all()


def test_instruction_table_builds_chat_messages() -> None:
    batch = pa.record_batch({"q": pa.array(["What is 2+2?", "Name a colour."]), "a": pa.array(["4", "Blue"])})
    table = instruction_table(iter([batch]), "q", "a", conversational=True)
    assert table.to_pylist() == [
        {"prompt": [{"role": "user", "content": "What is 2+2?"}],
         "completion": [{"role": "assistant", "content": "4"}]},
        {"prompt": [{"role": "user", "content": "Name a colour."}],
         "completion": [{"role": "assistant", "content": "Blue"}]}]
    plain = instruction_table(iter([batch]), "q", "a", conversational=False)
    assert plain.to_pylist()[1] == {"prompt": "Name a colour.", "completion": "Blue"}
    assert instruction_table(iter([]), "q", "a", True).num_rows == 0
