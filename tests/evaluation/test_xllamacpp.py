"""The llama.cpp generation backend (prebuilt xllamacpp wheel) on the bundled SmolLM2 GGUF."""

from __future__ import annotations

import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.generation import load_generator
from datatrainer.models.lm.xllamacpp import XLlamaCppGenerator


@pytest.mark.slow
def test_chat_and_completion_are_greedy_and_stop_where_asked() -> None:
    generator = XLlamaCppGenerator("smollm2", threads=1, n_ctx=1024)
    assert generator.chat_template and generator.config()["runtime"].startswith("xllamacpp==")
    first = generator.chat(["Write a Python function that adds two numbers."], max_tokens=12)
    assert first[0].strip() and first == generator.chat(["Write a Python function that adds two numbers."],
                                                        max_tokens=12)
    completion = generator.complete(["def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n"], max_tokens=24,
                                    stop=["\ndef "])
    assert "\ndef " not in completion[0]


def test_a_missing_gguf_is_one_line() -> None:
    with pytest.raises(DatatrainerError, match="does not exist"):
        load_generator(None, "/nonexistent/model.gguf")
