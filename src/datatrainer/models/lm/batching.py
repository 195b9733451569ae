"""Length-bucketed batches and padding for language-model forward passes.

A forward pass costs what its padded rectangle costs, so texts are sorted by token length and cut into
batches by a token budget (rows x longest row), not by a fixed row count: short texts travel in large batches,
long ones in small batches, and almost nothing is padding. The longest batch comes first, so a budget too
large for memory fails at once rather than after an hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

IndexArray = np.ndarray[Any, np.dtype[np.int64]]


def length_batches(lengths: Sequence[int], max_tokens: int, max_rows: int) -> list[IndexArray]:
    """Row indices grouped so that rows x (longest row) <= `max_tokens` and rows <= `max_rows`; a single row
    longer than the budget gets a batch of its own. Every index appears exactly once."""
    if max_tokens < 1 or max_rows < 1:
        raise ValueError("max_tokens and max_rows must be positive")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[IndexArray] = []
    start = 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        rows = max(1, min(max_rows, max_tokens // longest))
        batches.append(order[start:start + rows])
        start += rows
    return batches


def left_padded(rows: Sequence[Sequence[int]], pad_id: int, prefix_length: int = 0) -> dict[str, torch.Tensor]:
    """input_ids, attention_mask and position_ids for rows padded on the left, so every row's last token is
    in the last column; positions count real tokens only, so a padded row is computed like an unpadded one.

    With `prefix_length`, the rows continue a shared prefix of that many tokens whose keys and values are
    already cached: the mask covers the prefix too (all ones, before the padding) and positions start after it.
    """
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0) + prefix_length
    if prefix_length:
        mask = torch.cat([torch.ones((len(rows), prefix_length), dtype=torch.long), mask], dim=1)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions}


def shared_prefix(rows: Sequence[Sequence[int]]) -> int:
    """How many leading tokens every row shares, leaving every row at least one token of its own."""
    if not rows:
        return 0
    first = rows[0]
    length = min(len(row) for row in rows) - 1
    for row in rows[1:]:
        mismatch = np.flatnonzero(np.asarray(row[:length]) != np.asarray(first[:length]))
        if len(mismatch):
            length = int(mismatch[0])
    return max(length, 0)
