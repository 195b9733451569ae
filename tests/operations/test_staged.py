"""Staged decisions are applied by id: rows are matched whatever their order or batch, and only the
smaller id set is kept for the lookup. Samplers register by name beside the lazily imported built-ins."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa
import pytest

from datatrainer.operations import Decision
from datatrainer.sampling import base as sampling_base
from datatrainer.sampling import make_sampler, register_sampler, sampler_names
from datatrainer.sampling.base import NoParams, Sampler, SamplerInputs, Selection


def _decision(rows: int, dropped: list[int], with_kept: bool) -> Decision:
    ids = [f"r{i:03d}" for i in range(rows)]
    gone = pa.table({"id": [ids[i] for i in dropped], "reason": ["x"] * len(dropped)})
    kept = pa.array([i for j, i in enumerate(ids) if j not in set(dropped)]) if with_kept else None
    return Decision(gone, {}, {}, kept=kept)


@pytest.mark.parametrize("with_kept", [False, True])
@pytest.mark.parametrize("dropped_share", [0.1, 0.9])
def test_rows_are_matched_by_id_in_any_order(with_kept: bool, dropped_share: float) -> None:
    rng = np.random.default_rng(0)
    dropped = sorted(rng.choice(200, int(200 * dropped_share), replace=False).tolist())
    id_filter = pickle.loads(pickle.dumps(_decision(200, dropped, with_kept).id_filter()))
    order = rng.permutation(200)
    batch = pa.record_batch({"id": [f"r{i:03d}" for i in order], "n": order.tolist()})
    kept = id_filter.apply(batch)
    assert kept.schema == batch.schema
    assert kept["n"].to_pylist() == [i for i in order.tolist() if i not in set(dropped)]  # batch order kept
    smaller = min(len(dropped), 200 - len(dropped)) if with_kept else len(dropped)
    assert len(id_filter.ids) == smaller and id_filter.listed_are_kept == (with_kept and smaller < len(dropped))


class _EveryOther(Sampler[NoParams]):
    name = "test-every-other"

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        return Selection(np.arange(0, inputs.rows, 2, dtype=np.int64)[:k])


def test_a_sampler_registers_by_name_and_builtin_names_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampling_base, "_REGISTERED", {})  # registered for this test only
    register_sampler(_EveryOther)
    assert "test-every-other" in sampler_names() and "random" in sampler_names()
    selection = make_sampler("test-every-other").select(SamplerInputs.of(["a", "b", "c", "d"]), 2, seed=0)
    assert selection.indices.tolist() == [0, 2]
    with pytest.raises(ValueError, match="registered twice"):
        register_sampler(_EveryOther)
    builtin = type("Shadow", (_EveryOther,), {"name": "random"})
    with pytest.raises(ValueError, match="registered twice"):
        register_sampler(builtin)
