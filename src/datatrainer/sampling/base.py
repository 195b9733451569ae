"""The `Sampler` protocol, its inputs and result, and the registry of samplers by name.

A sampler picks `k` of `n` rows from plain arrays (`SamplerInputs`: embeddings, scores, texts), so the same
code serves the `sample` operation, the Python API and tests; it never reads a workspace. It is
deterministic for a seed: every random choice comes from `np.random.default_rng(seed)` and every tie is
broken by row index.

`select` returns a `Selection` rather than bare indices because some samplers know more than which rows
they keep: SemDeDup and D4 say which kept row each removed near-duplicate resembles, and every sampler
reports statistics (clusters, covering radius, how many rows survived deduplication) that the operation
stores with the new version. `Selection.indices` are the kept row indices, sorted ascending and unique:
the output version keeps the input's order, so selection order carries nothing the user sees.
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from datatrainer.errors import DatatrainerError
from datatrainer.params import validate_params

Need = Literal["embeddings", "scores", "texts", "target_texts"]
# The embedding model samplers and coverage reports read when none is named.
DEFAULT_MODEL = "minilm"
P = TypeVar("P", bound=BaseModel)


class NoParams(BaseModel):
    """Parameters of a sampler that has none; unknown options are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _chunked(texts: Sequence[str] | pa.Array | pa.ChunkedArray | None) -> pa.ChunkedArray | None:
    if texts is None or isinstance(texts, pa.ChunkedArray):
        return texts
    return pa.chunked_array([texts if isinstance(texts, pa.Array) else pa.array(texts, pa.string())])


@dataclass(frozen=True)
class SamplerInputs:
    """What samplers choose from, one entry per row, all in the same row order.

    `embeddings` float32 [n, d]; `scores` float [n] (higher means more of what the scorer measures; NaN
    is refused: a sampler cannot rank a record that was never scored); `texts` the records' texts and
    `target_texts` those of a target dataset (DSIR). Texts are Arrow strings, read chunk by chunk.
    """

    ids: Sequence[str] | pa.Array | pa.ChunkedArray
    embeddings: np.ndarray | None = None
    scores: np.ndarray | None = None
    texts: pa.ChunkedArray | None = None
    target_texts: pa.ChunkedArray | None = None

    @classmethod
    def of(cls, ids: Sequence[str] | pa.Array | pa.ChunkedArray, *, embeddings: np.ndarray | None = None,
           scores: np.ndarray | None = None, texts: Sequence[str] | pa.Array | pa.ChunkedArray | None = None,
           target_texts: Sequence[str] | pa.Array | pa.ChunkedArray | None = None) -> SamplerInputs:
        """Build and check inputs from lists or arrays (embeddings become C-contiguous float32)."""
        inputs = cls(
            ids=ids,
            embeddings=None if embeddings is None else np.ascontiguousarray(embeddings, dtype=np.float32),
            scores=None if scores is None else np.asarray(scores, dtype=np.float64),
            texts=_chunked(texts),
            target_texts=_chunked(target_texts),
        )
        inputs.check()
        return inputs

    @property
    def rows(self) -> int:
        return len(self.ids)

    def check(self) -> None:
        """Every array has one entry per row; embeddings are 2-D and finite; scores have no NaN."""
        n = self.rows
        if self.embeddings is not None:
            if self.embeddings.ndim != 2 or self.embeddings.shape[0] != n:
                raise DatatrainerError(f"embeddings have shape {self.embeddings.shape}, expected ({n}, dimensions)")
            if not np.isfinite(self.embeddings.sum(axis=1)).all():  # one value per row, not an n x d mask
                raise DatatrainerError("embeddings contain NaN or infinite values")
        if self.scores is not None:
            if self.scores.shape != (n,):
                raise DatatrainerError(f"scores have shape {self.scores.shape}, expected ({n},)")
            missing = int(np.isnan(self.scores).sum())
            if missing:
                raise DatatrainerError(f"{missing:,} of {n:,} records have no score (NaN); score every record first")
        if self.texts is not None and len(self.texts) != n:
            raise DatatrainerError(f"{len(self.texts):,} texts for {n:,} records")


@dataclass(frozen=True)
class Duplicates:
    """Rows a deduplicating sampler removed: `duplicate_of[i]` is the kept row that row i duplicates (-1 when
    row i survived deduplication), `similarity[i]` their cosine similarity (NaN for survivors), and
    `threshold` the cosine similarity above which rows count as duplicates."""

    duplicate_of: np.ndarray
    similarity: np.ndarray
    threshold: float

    @property
    def survivors(self) -> np.ndarray:
        return np.flatnonzero(self.duplicate_of < 0)

    @property
    def reason(self) -> str:
        return f"near-duplicate (cosine > {self.threshold:g})"


@dataclass(frozen=True)
class Selection:
    """The rows a sampler keeps, and what it knows about the others: `duplicates` for samplers that remove
    near-duplicates (so the operation can say which kept record each one resembles), else None."""

    indices: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    duplicates: Duplicates | None = None


class Sampler(ABC, Generic[P]):
    """Choose `k` of `n` rows. Subclasses set the class attributes and implement `choose`.

    - `needs`: which `SamplerInputs` fields must be present;
    - `exact_budget`: False for samplers that may keep fewer than `k` rows (SemDeDup and D4 never keep a
      near-duplicate to fill the budget); `select` reports the shortfall as `stats["short_of_budget"]`;
    - `seeded`: the seed drives a random draw, so two seeds almost surely give different selections
      (False when the seed only initialises k-means, or is not used at all).
    """

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]] = NoParams
    needs: ClassVar[frozenset[Need]] = frozenset()
    exact_budget: ClassVar[bool] = True
    seeded: ClassVar[bool] = False

    def __init__(self, params: P) -> None:
        self.params = params

    def select(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        """Checks shared by every sampler, then `choose`. Budget 0 keeps nothing and needs no inputs (an empty
        version has no embeddings to read); a sampler with an exact budget keeps every row at k = n without
        computing anything."""
        if not 0 <= k <= inputs.rows:
            raise DatatrainerError(f"sampler {self.name!r}: cannot keep {k:,} of {inputs.rows:,} records")
        missing = sorted(need for need in self.needs if getattr(inputs, need) is None)
        if missing and k:
            raise DatatrainerError(f"sampler {self.name!r} needs {', '.join(missing)}")
        if k == 0:
            selection = Selection(np.empty(0, np.int64))
        elif k == inputs.rows and self.exact_budget:
            selection = Selection(np.arange(k, dtype=np.int64))
        else:
            selection = self.choose(inputs, k, seed)
        kept = selection.indices
        assert kept.dtype == np.int64 and (np.diff(kept) > 0).all() and len(kept) <= k, "sampler broke its contract"
        assert len(kept) == k or not self.exact_budget, "sampler missed its budget"
        selection.stats["kept"] = len(kept)
        if not self.exact_budget:
            selection.stats["short_of_budget"] = k - len(kept)
        return selection

    @abstractmethod
    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        """Pick the rows, for 0 < k <= n (and k < n when the budget is exact)."""

    def describe(self) -> dict[str, Any]:
        """The sampler and its parameters, as recorded in a version's lineage."""
        return {"sampler": self.name, "sampler_params": self.params.model_dump(mode="json")}


# Built-in samplers by name, as "module:Class", imported on first use: this module never imports the
# implementations (which import it), so there is no import cycle and listing names imports nothing.
BUILTINS: dict[str, str] = {
    "random": "datatrainer.sampling.uniform:RandomSampler",
    "top-k": "datatrainer.sampling.ranked:TopKSampler",
    "bottom-k": "datatrainer.sampling.ranked:BottomKSampler",
    "band": "datatrainer.sampling.ranked:BandSampler",
    "density": "datatrainer.sampling.propensity:DensitySampler",
    "kcenter": "datatrainer.sampling.kcenter:KCenterSampler",
    "semdedup": "datatrainer.sampling.semdedup:SemDeDupSampler",
    "prototypes": "datatrainer.sampling.prototypes:PrototypesSampler",
    "d4": "datatrainer.sampling.d4:D4Sampler",
    "dsir": "datatrainer.sampling.dsir:DSIRSampler",
}
_REGISTERED: dict[str, type[Sampler[Any]]] = {}
_LOCK = threading.Lock()


def register_sampler(sampler: type[Sampler[Any]]) -> type[Sampler[Any]]:
    """Class decorator: make a sampler outside this package available by name (`--by NAME`)."""
    with _LOCK:
        if sampler.name in _REGISTERED or sampler.name in BUILTINS:
            raise ValueError(f"sampler {sampler.name!r} is registered twice")
        _REGISTERED[sampler.name] = sampler
    return sampler


def sampler_names() -> list[str]:
    return sorted({*BUILTINS, *_REGISTERED})


def sampler_class(name: str) -> type[Sampler[Any]] | None:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in BUILTINS:
        return None
    module, _, attribute = BUILTINS[name].partition(":")
    cls: type[Sampler[Any]] = getattr(importlib.import_module(module), attribute)
    return cls


def make_sampler(name: str, params: Mapping[str, Any] | None = None) -> Sampler[Any]:
    """A sampler by name with validated parameters; an unknown name or option is a one-line error."""
    cls = sampler_class(name)
    if cls is None:
        raise DatatrainerError(f"unknown sampler {name!r}; known: {', '.join(sampler_names())}")
    return cls(validate_params(cls.params_model, dict(params or {}), f"sampler {name!r}"))
