"""Length buckets and left padding: every row once, within the token budget, padding that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from datatrainer.models.lm.batching import left_padded, length_batches, shared_prefix


@given(st.lists(st.integers(0, 300), max_size=60), st.integers(1, 2000), st.integers(1, 16))
def test_length_batches_cover_every_row_once_within_budget(lengths: list[int], budget: int, max_rows: int) -> None:
    batches = length_batches(lengths, budget, max_rows)
    assert sorted(np.concatenate(batches).tolist() if batches else []) == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert 1 <= len(batch) <= max_rows
        assert len(batch) == 1 or len(batch) * longest <= budget
    # Longest first, and a batch never mixes in a row longer than its first.
    firsts = [lengths[batch[0]] for batch in batches]
    assert firsts == sorted(firsts, reverse=True)
    assert all(lengths[batch[0]] == max(lengths[i] for i in batch) for batch in batches)


def test_length_batches_refuse_a_zero_budget() -> None:
    with pytest.raises(ValueError):
        length_batches([3], 0, 4)


def test_left_padding_puts_every_last_token_in_the_last_column() -> None:
    batch = left_padded([[5, 6, 7], [8], []], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8], [0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert torch.equal(batch["position_ids"], torch.tensor([[0, 1, 2], [0, 0, 0], [0, 0, 0]]))


def test_left_padding_after_a_cached_prefix_masks_it_in_and_shifts_positions() -> None:
    batch = left_padded([[5, 6, 7], [8]], pad_id=0, prefix_length=2)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 1]]
    assert batch["position_ids"].tolist() == [[2, 3, 4], [2, 2, 2]]


@given(st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=8), min_size=1, max_size=8))
def test_shared_prefix_is_the_longest_common_prefix_leaving_a_token_each(rows: list[list[int]]) -> None:
    length = shared_prefix(rows)
    brute = 0
    while all(len(row) > brute + 1 and row[brute] == rows[0][brute] for row in rows):
        brute += 1
    assert length == brute
