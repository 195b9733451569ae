"""Language identification on real English and Bulgarian Wikipedia text, and on awkward inputs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from datatrainer.quality.langid import _code, detect_language
from tests.quality.real_text import bulgarian_articles, english_articles, paragraphs


def test_accuracy_on_real_english_and_bulgarian_articles_and_paragraphs() -> None:
    english = [*english_articles(), *paragraphs(english_articles())[:300]]
    bulgarian = [*bulgarian_articles(), *paragraphs(bulgarian_articles())]
    assert len(bulgarian) >= 50
    codes, confidence = detect_language(pa.chunked_array([english, bulgarian]))
    expected = ["en"] * len(english) + ["bg"] * len(bulgarian)
    hits = np.array(codes.to_pylist()) == np.array(expected)
    assert hits[: len(english)].mean() >= 0.95 and hits[len(english):].mean() >= 0.95
    assert confidence.dtype == np.float32 and len(confidence) == len(expected)
    assert np.median(confidence[hits]) >= 0.9


def test_unknown_empty_and_refused_characters() -> None:
    refused = "The weather \x00 today\x07 is \ufdd0 sunny and warm\ufffe in town."
    texts = pa.array([None, "", "   ", "12345 678", refused, "\U0010ffff\x1b"])
    codes, confidence = detect_language(texts)
    assert codes.to_pylist()[:4] == [None, None, None, None]
    assert codes[4].as_py() == "en"
    assert confidence[0] == confidence[1] == confidence[3] == 0.0
    assert codes[5].as_py() is None and confidence[5] == 0.0


def test_only_the_first_characters_are_read() -> None:
    english, bulgarian = english_articles()[0][:2000], bulgarian_articles()[0][:2000]
    codes, _ = detect_language(pa.array([english + "\n" + bulgarian, bulgarian + "\n" + english]), max_chars=1000)
    assert codes.to_pylist() == ["en", "bg"]


@pytest.mark.parametrize(("cld2", "iso"), [("en", "en"), ("iw", "he"), ("jw", "jv"), ("zh-Hant", "zh"),
                                           ("sr-ME", "sr"), ("haw", "haw"), ("un", None), ("xx-Latn", None)])
def test_cld2_codes_become_iso_639_1(cld2: str, iso: str | None) -> None:
    assert _code(cld2) == iso
