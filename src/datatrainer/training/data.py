"""Training data from a dataset version: token blocks for plain text, prompt/completion tables for SFT.

Records are read as Arrow batches and tokenized a batch at a time; the held-out split is decided per record
by an MD5 of its id (DuckDB, vectorised), so it is the same on every run and machine, whatever the order of
the records. Plain text is packed: documents are joined with the end-of-sequence token and cut into blocks of
`seq_len` tokens, so no compute is spent on padding. Without packing each document is one (truncated,
padded) sequence with the padding masked out of the loss.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from datatrainer.duckdb_local import thread_connection
from datatrainer.errors import DatatrainerError
from datatrainer.store.schema import ID
from datatrainer.store.versions import DatasetVersion
from datatrainer.training.config import TrainConfig

READ_BATCH = 2048
SPLIT_BUCKETS = 1_000_000
IGNORE_INDEX = -100  # label value transformers' losses skip
IntArray = np.ndarray[Any, np.dtype[np.int64]]


def check_fields(version: DatasetVersion, config: TrainConfig) -> None:
    """One line naming the fields a config needs and the version lacks (or holds as non-text)."""
    missing = [name for name in config.fields if name not in version.schema.names]
    if missing:
        have = ", ".join(version.schema.names)
        raise DatatrainerError(f"{version.ref} has no field(s) {', '.join(missing)} (it has: {have}); "
                               "choose them with --text-field or --prompt-field/--response-field")
    for name in config.fields:
        kind = version.schema.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise DatatrainerError(f"{version.ref}: field {name!r} holds {kind}, not text")


def held_out_mask(ids: pa.Array, fraction: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """True for the records in the held-out split: MD5 of the id, bucketed (a fixed, order-free choice)."""
    if fraction <= 0:
        return np.zeros(len(ids), dtype=bool)
    threshold = round(fraction * SPLIT_BUCKETS)
    connection = thread_connection()
    connection.register("split_ids", pa.table({ID: ids}))
    try:
        result = connection.sql(
            f"SELECT md5_number_lower({ID}) % {SPLIT_BUCKETS} < {threshold} AS held FROM split_ids").to_arrow_table()  # nosec B608  # constants and an integer
    finally:
        connection.unregister("split_ids")
    held: np.ndarray[Any, np.dtype[np.bool_]] = result.column("held").to_numpy(zero_copy_only=False)
    return held


def split_batches(version: DatasetVersion, fields: tuple[str, ...], fraction: float,
                  part: str) -> Iterator[pa.RecordBatch]:
    """Batches of `fields` with no nulls, restricted to the `train` or `eval` part of the id-hash split."""
    for batch in version.read_batches([ID, *fields], batch_size=READ_BATCH):
        keep = pc.and_(*[pc.is_valid(batch.column(name)) for name in fields]) if len(fields) > 1 else \
            pc.is_valid(batch.column(fields[0]))
        held = pa.array(held_out_mask(batch.column(ID), fraction))
        keep = pc.and_(keep, held if part == "eval" else pc.invert(held))
        selected = batch.filter(keep)
        if selected.num_rows:
            yield selected


@dataclass
class TokenBlocks(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Fixed-length token sequences; `lengths` (unpacked data) marks where each row's padding starts."""

    input_ids: IntArray
    lengths: IntArray | None = None

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids = torch.from_numpy(self.input_ids[index])
        if self.lengths is None:
            return {"input_ids": ids, "labels": ids.clone()}
        mask = torch.arange(ids.shape[0]) < int(self.lengths[index])
        return {"input_ids": ids, "attention_mask": mask.long(), "labels": ids.masked_fill(~mask, IGNORE_INDEX)}

    @property
    def tokens(self) -> int:
        """Real (non-padding) tokens in the set."""
        return int(self.input_ids.size if self.lengths is None else self.lengths.sum())


def _encode(tokenizer: Any, texts: pa.Array) -> tuple[IntArray, IntArray]:
    """Token ids of every text, concatenated, and each text's length (the tokenizer works in Rust)."""
    encoded = tokenizer(texts.to_pylist(), add_special_tokens=False)["input_ids"]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    flat = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64, count=int(lengths.sum()))
    return flat, lengths


def token_blocks(batches: Iterator[pa.RecordBatch], field: str, tokenizer: Any, seq_len: int,
                 packing: bool) -> TokenBlocks:
    """Tokenize a text field into training sequences, each document followed by the end-of-sequence token."""
    eos = int(tokenizer.eos_token_id)
    flats: list[IntArray] = []
    all_lengths: list[IntArray] = []
    for batch in batches:
        flat, lengths = _encode(tokenizer, batch.column(field))
        flats.append(np.insert(flat, np.cumsum(lengths), eos))  # an EOS after every document
        all_lengths.append(lengths + 1)
    flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.int64)
    lengths = np.concatenate(all_lengths) if all_lengths else np.zeros(0, dtype=np.int64)
    if packing:
        blocks = len(flat) // seq_len
        return TokenBlocks(flat[: blocks * seq_len].reshape(blocks, seq_len))
    # One row per document: keep its first seq_len tokens, pad the rest (masked out of the loss).
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
    kept = np.minimum(lengths, seq_len)
    rows = np.full((len(lengths), seq_len), int(tokenizer.pad_token_id), dtype=np.int64)
    columns = np.arange(seq_len)
    mask = columns[None, :] < kept[:, None]
    rows[mask] = flat[(starts[:, None] + columns[None, :])[mask]]
    return TokenBlocks(rows, kept)


def instruction_table(batches: Iterator[pa.RecordBatch], prompt: str, response: str,
                      conversational: bool) -> pa.Table:
    """`prompt`/`completion` columns in TRL's prompt-completion format: chat messages when the tokenizer has
    a chat template (built as Arrow list<struct> arrays, no per-row Python), plain strings otherwise."""
    tables = [pa.table({"prompt": batch.column(prompt), "completion": batch.column(response)}) for batch in batches]
    if not tables:
        return pa.table({"prompt": pa.array([], pa.string()), "completion": pa.array([], pa.string())})
    table = pa.concat_tables(tables).combine_chunks()
    if not conversational:
        return table
    return pa.table({"prompt": _messages("user", table.column("prompt")),
                     "completion": _messages("assistant", table.column("completion"))})


def _messages(role: str, contents: pa.ChunkedArray) -> pa.Array:
    """One single-message conversation per row: list<struct<role, content>>."""
    values = contents.combine_chunks().cast(pa.string())
    roles = pa.array(np.full(len(values), role, dtype=object), pa.string())
    messages = pa.StructArray.from_arrays([roles, values], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(np.arange(len(values) + 1, dtype=np.int32)), messages)
