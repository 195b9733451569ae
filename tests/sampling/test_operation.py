"""The `sample` operation on real workspaces: what is kept, what the `dropped` artifact and the lineage
record, score- and embedding-backed samplers through the stores, and one-line errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.sampling import SamplerInputs, make_sampler
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version
from tests.sampling.sampling_helpers import TARGET_WORDS, WORDS, word_texts
from tests.sampling.stores import store_embeddings, store_scores
from tests.sampling.test_samplers import planted_duplicates

ROWS = 350  # planted_duplicates(): 300 rows and 50 near-copies


def records(n: int = ROWS) -> list[dict[str, Any]]:
    texts = word_texts(n, WORDS + TARGET_WORDS, seed=0)
    return [{"id": f"doc-{i:04d}", "text": f"{i} {text}", "source": "s" + str(i % 3)} for i, text in enumerate(texts)]


@pytest.fixture
def embedded(sqlite_workspace: Workspace) -> tuple[Workspace, DatasetVersion, np.ndarray]:
    version = make_version(sqlite_workspace, records(), name="web")
    vectors = planted_duplicates()[0]
    store_embeddings(sqlite_workspace, version, vectors)
    return sqlite_workspace, version, vectors


def test_semdedup_version_dropped_and_lineage(workspace: Workspace) -> None:
    source = make_version(workspace, records(), name="web")
    vectors = planted_duplicates()[0]
    embeddings_config = store_embeddings(workspace, source, vectors)
    result = workspace.apply("sample", [source], {"by": "semdedup", "budget": "100%", "eps": 0.05, "clusters": 12})

    expected = make_sampler("semdedup", {"eps": 0.05, "clusters": 12}).select(
        SamplerInputs.of([str(i) for i in range(ROWS)], embeddings=vectors), ROWS, 0)
    table = source.to_table()
    assert result.to_table().equals(table.take(pa.array(expected.indices)))  # every column, original order
    dropped = result.artifact("dropped")
    assert result.num_rows + dropped.num_rows == ROWS and result.num_rows < ROWS
    assert set(dropped["reason"].to_pylist()) == {"semdedup: near-duplicate (cosine > 0.95)"}
    kept_ids = set(result.to_table(columns=["id"])["id"].to_pylist())
    assert set(dropped["duplicate_of"].to_pylist()) <= kept_ids
    assert min(dropped["similarity"].to_pylist()) > 0.95

    info = result.info
    assert info.operation == "sample" and list(info.parents) == [source.ref]
    assert info.params == {"by": "semdedup", "budget": "100%", "seed": 0, "sampler": "semdedup",
                           "sampler_params": {"clusters": 12, "eps": 0.05}, "model": "minilm",
                           "embeddings_config": embeddings_config}
    assert info.stats["kept"] == result.num_rows and info.stats["budget"] == ROWS
    assert info.stats["short_of_budget"] == dropped.num_rows == info.stats["duplicates"]
    assert info.stats["dropped_by_reason"] == {"semdedup: near-duplicate (cosine > 0.95)": dropped.num_rows}


def test_subsampled_semdedup_says_which_were_duplicates(embedded: tuple[Workspace, DatasetVersion, np.ndarray]
                                                        ) -> None:
    ws, source, _ = embedded
    result = ws.apply("sample", [source], {"by": "d4", "budget": "50%", "seed": 3}, name="web-d4")
    assert result.ref == "web-d4@1" and result.num_rows == ROWS // 2
    reasons = result.info.stats["dropped_by_reason"]
    assert reasons == {"d4: near-duplicate (cosine > 0.95)": result.info.stats["duplicates"],
                       "not selected by d4 sample": ROWS // 2 - result.info.stats["duplicates"]}
    dropped = result.artifact("dropped").to_pydict()
    for reason, of, similarity in zip(dropped["reason"], dropped["duplicate_of"], dropped["similarity"], strict=True):
        assert (of is None and similarity is None) == reason.startswith("not selected")


@pytest.mark.parametrize(("by", "extra", "expected"), [
    ("kcenter", {"metric": "l2"}, "kcenter"), ("prototypes", {"clusters": 5}, "prototypes"),
    ("random", {}, "random")])
def test_embedding_and_random_samplers(embedded: tuple[Workspace, DatasetVersion, np.ndarray], by: str,
                                       extra: dict[str, Any], expected: str) -> None:
    ws, source, vectors = embedded
    result = ws.apply("sample", [source], {"by": by, "budget": 40, "seed": 1, **extra})
    reference = make_sampler(expected, extra).select(
        SamplerInputs.of([str(i) for i in range(ROWS)], embeddings=vectors), 40, 1)
    ids = source.to_table(columns=["id"])["id"].to_numpy(zero_copy_only=False)
    assert result.to_table(columns=["id"])["id"].to_pylist() == ids[reference.indices].tolist()
    assert result.info.stats["dropped_by_reason"] == {f"not selected by {expected} sample": ROWS - 40}


def test_score_samplers_and_scorer_names(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    source = make_version(ws, records(100), name="web")
    quality = np.linspace(0, 1, 100)[::-1].copy()  # doc-0000 is best
    perplexity = np.abs(np.arange(100) - 50.0)  # doc-0050 is the least surprising
    store_scores(ws, source, "ask-llm", quality)
    perplexity_config = store_scores(ws, source, "perplexity", perplexity)

    def kept(params: dict[str, Any]) -> list[int]:
        version = ws.apply("sample", [source], params)
        return [int(i.split("-")[1]) for i in version.to_table(columns=["id"])["id"].to_pylist()]

    assert kept({"by": "ask-llm", "budget": "20%"}) == list(range(20))
    assert kept({"by": "top-k", "scorer": "ask-llm", "budget": 3}) == [0, 1, 2]
    assert kept({"by": "bottom-k", "scorer": "ask-llm", "budget": 2}) == [98, 99]
    assert kept({"by": "perplexity", "band": "low", "budget": 3}) == [49, 50, 51]
    assert kept({"by": "perplexity", "band": "high", "budget": 1}) == [0]
    version = ws.apply("sample", [source], {"by": "perplexity", "band": "middle", "budget": "10%",
                                            "config": perplexity_config[:6]})
    assert version.info.params["sampler"] == "band" and version.info.params["scorer"] == "perplexity"
    assert version.info.params["score_config"] == perplexity_config
    assert version.info.params["sampler_params"] == {"band": "middle"}


def test_density_and_dsir(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    source = make_version(ws, records(200), name="web")
    density = np.r_[np.full(180, 100.0), np.full(20, 1.0)]  # the last 20 are rare
    store_scores(ws, source, "density", density, scoped=True)
    rare = [int(i.split("-")[1]) >= 180 for i in
            ws.apply("sample", [source], {"by": "density", "budget": 40}).to_table(columns=["id"])["id"].to_pylist()]
    assert np.mean(rare) > 0.3

    target = make_version(ws, [{"id": str(i), "text": t} for i, t in enumerate(word_texts(30, TARGET_WORDS, 1))],
                          name="sports")
    sample = ws.apply("sample", [source], {"by": "dsir", "budget": 50, "target": "sports", "buckets": 4096})
    assert sample.info.params["target"] == target.ref and sample.num_rows == 50


@pytest.mark.parametrize(("params", "message"), [
    ({"by": "nope", "budget": 5}, r"--by 'nope' is neither a sampler \(band, bottom-k, .*\) nor a stored scorer"),
    ({"by": "random", "budget": "150%"},
     r"^operation 'sample': budget: invalid budget '150%': a fraction or percentage cannot exceed 100%$"),
    ({"by": "random", "budget": "abc"}, r"invalid budget 'abc': expected a count \(1000\)"),
    ({"by": "random", "budget": 500}, r"^budget '500' asks for 500 records but there are only 350$"),
    ({"by": "random", "budget": 5, "target": "web"}, r"^--target does not apply to --by random$"),
    ({"by": "kcenter", "budget": 5, "scorer": "x", "config": "a"}, r"^--scorer, --config do not apply to --by "),
    ({"by": "random", "budget": 5, "clusters": 3}, r"sampler 'random': clusters: Extra inputs are not permitted"),
    ({"by": "semdedup", "budget": 5, "eps": 2}, r"sampler 'semdedup': eps: Input should be less than or equal to 1"),
    ({"by": "top-k", "budget": 5}, r"--by top-k ranks a stored score: name it with --scorer"),
    ({"by": "dsir", "budget": 5}, r"--by dsir needs --target VERSION"),
    ({"by": "kcenter", "budget": 5, "model": "e5"}, r"no embeddings for model 'e5' stored for web@1"),
    ({"by": "top-k", "scorer": "ask-llm", "budget": 5}, r"no 'ask-llm' scores stored for web@1"),
])
def test_bad_parameters(embedded: tuple[Workspace, DatasetVersion, np.ndarray], params: dict[str, Any],
                        message: str) -> None:
    ws, source, _ = embedded
    with pytest.raises(DatatrainerError, match=message) as caught:
        ws.apply("sample", [source], params)
    assert "\n" not in str(caught.value)
    assert [v.ref for v in ws.datasets.versions("web")] == ["web@1"]


def test_empty_version_and_budget_zero(sqlite_workspace: Workspace) -> None:
    """Budget 0, or an empty version, keeps nothing and reads no embeddings (an empty version has none)."""
    ws = sqlite_workspace
    source = make_version(ws, records(10), name="web")
    empty = ws.apply("filter", [source], {"where": "false"})
    for version, budget in ((empty, "25%"), (source, "0")):
        result = ws.apply("sample", [version], {"by": "kcenter", "budget": budget})
        assert result.num_rows == 0 and result.schema == source.schema
        assert result.artifact("dropped").num_rows == version.num_rows and result.info.stats["kept"] == 0


def test_partial_scores_refused(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    source = make_version(ws, records(10), name="web")
    store_scores(ws, ws.apply("filter", [source], {"where": "id < 'doc-0005'"}), "ask-llm", np.arange(5.0))
    with pytest.raises(DatatrainerError, match="5 of 10 records of web@1 have no 'ask-llm' score"):
        ws.apply("sample", [source], {"by": "ask-llm", "budget": 2})
