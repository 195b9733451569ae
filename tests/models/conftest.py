"""The bundled SmolLM2-135M-Instruct, loaded once per test session (de-quantising its GGUF takes ~20 s), in
float32: the tests compare it with exact reference computations, which bf16 (the default on CPUs with bf16
units) would blur."""

from __future__ import annotations

import pytest

from datatrainer.models.lm.hf import TransformersLM


@pytest.fixture(scope="session")
def smollm2() -> TransformersLM:
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    return TransformersLM("smollm2", dtype="float32")
