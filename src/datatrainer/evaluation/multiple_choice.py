"""Multiple-choice log-likelihood scoring in the HellaSwag schema (a context, candidate endings, the gold label),
computed as lm-evaluation-harness computes it, so numbers compare with published ones.

Each ending is scored as the continuation `" " + ending` (lm-eval's target delimiter) of the context. The pair
is split into tokens as lm-eval's `_encode_pair` does for causal models: whitespace at the end of the context
moves to the continuation, the whole string and the context are encoded with the tokenizer's special tokens,
and the continuation's tokens are those of the whole after the context's. Its log-likelihood is the sum of
log P(token | everything before) over the continuation's tokens, from the same batched `token_logprobs` that
perplexity uses. `acc`: the highest log-likelihood is the gold ending; `acc_norm`: the highest
log-likelihood divided by the ending's length in characters (without the delimiter) is. Ties go to the first
ending (NumPy's argmax, as lm-eval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from datatrainer.errors import DatatrainerError
from datatrainer.progress import Advance

TARGET_DELIMITER = " "
CHUNK_ROWS = 64  # context-ending pairs per call: the progress bar's step


class TokenScorer(Protocol):
    """A causal LM that tokenizes and scores token ids (the transformers backend)."""

    @property
    def name(self) -> str: ...

    def config(self) -> dict[str, Any]: ...

    def encode(self, texts: Sequence[str]) -> list[list[int]]: ...

    def token_logprobs(self, token_ids: Sequence[Sequence[int]]) -> Sequence[np.ndarray[Any, Any]]: ...


@dataclass(frozen=True)
class Question:
    context: str
    endings: tuple[str, ...]
    label: int


@dataclass(frozen=True)
class MultipleChoiceResult:
    questions: list[Question]
    loglikelihoods: list[list[float]]  # per question, per ending

    @property
    def predictions(self) -> list[int]:
        return [int(np.argmax(lls)) for lls in self.loglikelihoods]

    @property
    def predictions_norm(self) -> list[int]:
        return [int(np.argmax(np.asarray(lls) / np.array([float(len(e)) for e in q.endings])))
                for q, lls in zip(self.questions, self.loglikelihoods, strict=True)]

    def metrics(self) -> dict[str, float]:
        gold = [q.label for q in self.questions]
        return {"acc": float(np.mean([p == g for p, g in zip(self.predictions, gold, strict=True)])),
                "acc_norm": float(np.mean([p == g for p, g in zip(self.predictions_norm, gold, strict=True)])),
                "questions": float(len(gold))}


def questions_from_table(table: pa.Table, ref: str, context_field: str = "ctx", endings_field: str = "endings",
                         label_field: str = "label") -> list[Question]:
    """Validated questions; a bad row is named in one line."""
    questions = []
    columns = table.select([context_field, endings_field, label_field]).to_pylist()
    for row_number, row in enumerate(columns):
        where = f"{ref} row {row_number}"
        context, endings, label = row[context_field], row[endings_field], row[label_field]
        if not isinstance(context, str) or not context.strip():
            raise DatatrainerError(f"{where}: {context_field} must be non-empty text")
        if not isinstance(endings, list) or len(endings) < 2 or not all(isinstance(e, str) and e for e in endings):
            raise DatatrainerError(f"{where}: {endings_field} must be a list of at least two non-empty texts")
        try:
            index = int(label)
        except (TypeError, ValueError):
            raise DatatrainerError(f"{where}: {label_field} must be an ending's index, got {label!r}") from None
        if not 0 <= index < len(endings):
            raise DatatrainerError(f"{where}: {label_field} {index} is not an index of its {len(endings)} endings")
        questions.append(Question(context, tuple(endings), index))
    return questions


def split_pair(model: TokenScorer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context tokens, continuation tokens) exactly as lm-eval's `_encode_pair` (causal models)."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole, context_ids = model.encode([context + continuation, context])
    return context_ids, whole[len(context_ids):]


def loglikelihoods(model: TokenScorer, pairs: Sequence[tuple[str, str]],
                   advance: Advance | None = None) -> list[float]:
    """log P(continuation | context) per pair, summed over the continuation's tokens."""
    out: list[float] = []
    for start in range(0, len(pairs), CHUNK_ROWS):
        chunk = pairs[start:start + CHUNK_ROWS]
        split = [split_pair(model, context, continuation) for context, continuation in chunk]
        if empty := [start + i for i, (_, cont) in enumerate(split) if not cont]:
            raise DatatrainerError(f"continuation {chunk[empty[0] - start][1]!r} has no tokens of its own in "
                                   f"{model.name}'s vocabulary")
        rows = [context + continuation for context, continuation in split]
        for values, (_, continuation) in zip(model.token_logprobs(rows), split, strict=True):
            out.append(float(np.asarray(values[len(values) - len(continuation):], dtype=np.float64).sum()))
        if advance is not None:
            advance(len(chunk))
    return out


def evaluate_multiple_choice(model: TokenScorer, questions: Sequence[Question],
                             advance: Advance | None = None) -> MultipleChoiceResult:
    pairs = [(q.context, TARGET_DELIMITER + ending) for q in questions for ending in q.endings]
    flat = loglikelihoods(model, pairs, advance)
    grouped, position = [], 0
    for question in questions:
        grouped.append(flat[position:position + len(question.endings)])
        position += len(question.endings)
    return MultipleChoiceResult(list(questions), grouped)
