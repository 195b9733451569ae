"""The `sample` operation: keep a budgeted subset of a version, chosen by a registered sampler.

`by` names a sampler (`random`, `top-k`, `bottom-k`, `band`, `density`, `kcenter`, `semdedup`, `prototypes`,
`d4`, `dsir`) or, when it is not one, a stored scorer: `by="ask-llm"` is the top-k by the `ask-llm` score,
and with `band="low"` (or middle / high) that band of it, so every scorer written to `ws.scores` plugs in
without new code. Options other than the ones below are the sampler's own (`clusters`, `eps`, `band`,
`metric`, `buckets`, ...) and are validated by its parameter model.

Inputs are read only as the sampler needs them: embeddings from `ws.embeddings` (model `minilm` unless
given), scores from `ws.scores`, texts from the version and, for DSIR, from the `target` version. The new
version keeps the selected records in their original order; the `dropped` artifact says why each other
record went (`not selected by kcenter sample`, or for SemDeDup / D4 `semdedup: near-duplicate (cosine >
0.95)` with the record it duplicates and their similarity), and the lineage records the sampler, its
parameters, the seed and which stored scores or embeddings were used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.errors import DatatrainerError
from datatrainer.operations.base import OperationContext, dropped_summary
from datatrainer.operations.staged import Decision, StagedOperation
from datatrainer.sampling.base import (
    DEFAULT_MODEL,
    Sampler,
    SamplerInputs,
    Selection,
    make_sampler,
    sampler_class,
    sampler_names,
)
from datatrainer.sampling.budget import BudgetField
from datatrainer.scoring.configs import HIGHER_IS_BETTER
from datatrainer.scoring.jobs import DENSITY
from datatrainer.scoring.store import SCORE
from datatrainer.store.schema import ID, TEXT
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

class SampleParams(BaseModel):
    """Extra keys are the sampler's own options (validated against its parameter model)."""

    model_config = ConfigDict(extra="allow")
    by: str = Field(min_length=1, description="a sampler, or a stored scorer (its top-k, or a band of it)")
    budget: BudgetField = Field(description="records to keep: a count (1000), a fraction (0.25) or a share (25%)")
    seed: int = Field(0, description="seed of every random choice")
    target: str | None = Field(None, description="DSIR: the version whose texts the sample should resemble")
    model: str | None = Field(None, description=f"embedding model (default: {DEFAULT_MODEL})")
    scorer: str | None = Field(None, description="score-based samplers: the stored scorer to rank by")
    config: str | None = Field(None, description="the scorer's config hash or prefix (default: the most complete)")

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class Plan:
    """The sampler `by` resolves to, and the stored scorer it reads (None for samplers without scores)."""

    sampler: Sampler[Any]
    scorer: str | None


def plan(ws: Workspace, params: SampleParams) -> Plan:
    """Resolve `by` and refuse options that do not apply, so a mistyped flag is never silently ignored."""
    if sampler_class(params.by) is not None:
        sampler = make_sampler(params.by, params.options())
        scorer = params.scorer or (DENSITY if params.by == "density" else None)
    else:
        if not ws.scores.configs(params.by):
            raise DatatrainerError(f"--by {params.by!r} is neither a sampler ({', '.join(sampler_names())}) nor a "
                                   "stored scorer (`datatrainer scores show VERSION` lists them)")
        if params.scorer is not None:
            raise DatatrainerError(f"--by {params.by!r} already names the scorer; leave out --scorer")
        sampler = make_sampler("band" if "band" in params.options() else _best_first(ws, params.by), params.options())
        scorer = params.by
    needs = sampler.needs
    if "scores" in needs and scorer is None:
        raise DatatrainerError(f"--by {sampler.name} ranks a stored score: name it with --scorer (e.g. ask-llm)")
    flags = (("--scorer", params.scorer, "scores"), ("--config", params.config, "scores"),
             ("--model", params.model, "embeddings"), ("--target", params.target, "target_texts"))
    unused = [flag for flag, value, need in flags if value is not None and need not in needs]
    if unused:
        raise DatatrainerError(f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to --by "
                               f"{sampler.name}")
    if "target_texts" in needs and params.target is None:
        raise DatatrainerError(f"--by {sampler.name} needs --target VERSION: the dataset the sample should resemble")
    return Plan(sampler, scorer)


def _best_first(ws: Workspace, scorer: str) -> str:
    """`top-k`, or `bottom-k` for a scorer whose stored configs all say low values are the good ones."""
    configs = ws.scores.configs(scorer)
    return "bottom-k" if all(c.params.get(HIGHER_IS_BETTER) is False for c in configs) else "top-k"


def _texts(version: DatasetVersion) -> pa.ChunkedArray:
    return version.to_table(columns=[TEXT])[TEXT]


def gather_inputs(ws: Workspace, version: DatasetVersion, plan: Plan,
                  params: SampleParams) -> tuple[SamplerInputs, dict[str, Any]]:
    """What the sampler needs, read from the version and the stores, and what was read (for the lineage)."""
    needs = plan.sampler.needs
    used: dict[str, Any] = {}
    embeddings = scores = texts = target_texts = None
    if "embeddings" in needs:
        model = params.model or DEFAULT_MODEL
        config = ws.embeddings.resolve(version, model)
        embeddings = ws.embeddings.embeddings_for(version, config.config_hash)[1]
        used |= {"model": model, "embeddings_config": config.config_hash}
    if "scores" in needs:
        assert plan.scorer is not None
        table = ws.scores.scores_for(version, plan.scorer, params.config)
        if table[SCORE].null_count:
            raise DatatrainerError(f"{table[SCORE].null_count:,} of {version.num_rows:,} records of {version.ref} "
                                   f"have no {plan.scorer!r} score; score every record first")
        scores = table[SCORE].to_numpy()
        used |= {"scorer": plan.scorer, "score_config": table.schema.metadata[b"config_hash"].decode()}
    if "texts" in needs:
        texts = _texts(version)
    if "target_texts" in needs:
        assert params.target is not None
        target = ws.version(params.target)
        if target.num_rows == 0:
            raise DatatrainerError(f"target {target.ref} has no records to resemble")
        target_texts = _texts(target)
        used["target"] = target.ref
    ids = version.to_table(columns=[ID])[ID]
    return SamplerInputs.of(ids, embeddings=embeddings, scores=scores, texts=texts, target_texts=target_texts), used


def dropped_table(ids: pa.ChunkedArray, selection: Selection, kept: np.ndarray, sampler: str) -> pa.Table:
    """One row per record not kept: `id`, `reason`, and for removed near-duplicates `duplicate_of` (the id of
    the record it resembles) and `similarity` (their cosine similarity)."""
    gone = np.flatnonzero(~kept)
    not_selected = f"not selected by {sampler} sample"
    table = pa.table({ID: ids.take(pa.array(gone)), "reason": pa.repeat(pa.scalar(not_selected), len(gone))})
    duplicates = selection.duplicates
    if duplicates is None:
        return table
    of = duplicates.duplicate_of[gone]
    is_duplicate = pa.array(of >= 0)
    return table.set_column(1, "reason", pc.if_else(is_duplicate, f"{sampler}: {duplicates.reason}", not_selected)) \
        .append_column("duplicate_of", pc.if_else(is_duplicate, ids.take(pa.array(np.maximum(of, 0))), None)) \
        .append_column("similarity", pa.array(np.round(duplicates.similarity[gone], 4), from_pandas=True))


class SampleOperation(StagedOperation[SampleParams]):
    """Keep `budget` records chosen by a sampler, as a new version."""

    name = "sample"
    params_model = SampleParams

    def fit(self, ctx: OperationContext, source: DatasetVersion, params: SampleParams) -> Decision:
        resolved = plan(ctx.workspace, params)
        k = params.budget.resolve(source.num_rows)
        if k:
            sampler_inputs, used = gather_inputs(ctx.workspace, source, resolved, params)
        else:  # nothing to choose: read no embeddings or scores (an empty version has none)
            sampler_inputs, used = SamplerInputs.of(source.to_table(columns=[ID])[ID]), {}
        selection = resolved.sampler.select(sampler_inputs, k, params.seed)
        kept = np.zeros(source.num_rows, bool)
        kept[selection.indices] = True
        ids = pa.chunked_array(sampler_inputs.ids)
        dropped = dropped_table(ids, selection, kept, resolved.sampler.name)
        stats = {"rows": source.num_rows, "budget": k, **selection.stats, **dropped_summary(dropped)}
        recorded = {"by": params.by, "budget": str(params.budget), "seed": params.seed,
                    **resolved.sampler.describe(), **used}
        return Decision(dropped, recorded, stats, kept=ids.take(pa.array(selection.indices)).combine_chunks())

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        return [{"by": "random", "budget": "40%", "seed": 3}, {"by": "dsir", "budget": 10, "target": "example@1"}]
