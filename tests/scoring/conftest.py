"""The real bundled SmolLM2-135M-Instruct, loaded once per test session (loading takes 20-40 s here), in float32:
the tests compare scores computed in different batches, which bf16 (the default on CPUs with bf16 units) would
make differ in the third digit."""

from __future__ import annotations

import pytest

from datatrainer.models.lm.base import LanguageModel
from datatrainer.paragraphs import real_texts


@pytest.fixture(scope="session")
def smollm2() -> LanguageModel:
    pytest.importorskip("transformers")
    from datatrainer.models.lm import load_language_model

    return load_language_model("smollm2", dtype="float32")


@pytest.fixture(scope="session")
def short_texts() -> list[str]:
    """40 real sentences under 120 characters (news, Wikipedia, reviews): cheap forward passes."""
    return [text for text in real_texts(400) if len(text) < 120][:40]
