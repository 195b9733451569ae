"""A few-shot Ask-LLM prompt whose examples come from the development build only.

The examples are drawn by a fixed rule, not picked by eye: per class (good first), `per_class` windows of the
development build with at most `max_words` words that end in terminal punctuation (both classes alike, so the
examples teach no punctuation shortcut), from distinct families, chosen with `random.Random(seed)`. They go
before the paper's prompt, each followed by its answer; the document to judge comes last, in the paper's
prompt verbatim, so the model's next token is the answer. The rendered template is stored in a file and
frozen with the benchmark's settings; `check_template` finds the document each example was cut from and
refuses the template if it is a source of the test data.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from datatrainer.errors import InputError
from datatrainer.evaluation.quality_scoring.builder import ends_in_punctuation
from datatrainer.evaluation.quality_scoring.labelled import Example
from datatrainer.evaluation.quality_scoring.sources import RawDocument, Reader
from datatrainer.scoring.prompts import PLACEHOLDER, load_template

_SHOT = re.compile(r"###\n(.*?)\n###\nAnswer: (yes|no)", re.DOTALL)
INTRO = ("Here are paragraphs, each followed by whether it contains informative signal for pre-training a "
         "large-language model.")


class FewShotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="the rendered template, relative to the settings file")
    per_class: int = Field(1, ge=1)
    max_words: int = Field(45, ge=5)
    seed: int = 0


def shots(dev: Sequence[Example], settings: FewShotSettings) -> list[Example]:
    """The examples, good ones first."""
    rng = random.Random(settings.seed)  # nosec B311  # reproducible choice, not a secret
    chosen: list[Example] = []
    for label in (1, 0):
        pool = [e for e in dev if e.label == label and len(e.text.split()) <= settings.max_words and
                ends_in_punctuation(e.text)]
        rng.shuffle(pool)
        families: set[str] = set()
        for example in pool:
            if example.family not in families and len(families) < settings.per_class:
                families.add(example.family)
                chosen.append(example)
    return chosen


def render(examples: Sequence[Example]) -> str:
    """INTRO, each example between ### lines with its answer, then the paper's prompt with `{text}`."""
    blocks = [f"###\n{e.text}\n###\nAnswer: {'yes' if e.label else 'no'}" for e in examples]
    return "\n\n".join([INTRO, *blocks, load_template("paper").text]) + "\n"


def template_shots(text: str) -> list[tuple[str, int]]:
    """The (example text, label) pairs of a rendered template."""
    return [(m.group(1), int(m.group(2) == "yes")) for m in _SHOT.finditer(text)]


def check_template(path: Path, test: Sequence[Example], families: Mapping[str, Reader]) -> list[RawDocument]:
    """The documents the template's examples were cut from; refused unless every example is a window of a real
    document of a family with the example's label, and no such document is a source of the test data.

    Re-rendering from the development build would be a stricter check, but some sources are live (system logs
    grow while the machine runs), so a later build of the development set differs; where an example came from
    does not change."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    found = template_shots(text)
    if not found or PLACEHOLDER not in text:
        raise InputError(str(path), "not a rendered few-shot template (no examples or no {text})")
    test_sources = {(e.family, e.source) for e in test}
    documents = []
    for shot, label in found:
        origin = next((doc for reader in families.values() for doc in reader()
                       if doc.label == label and shot in doc.text), None)
        if origin is None:
            raise InputError(str(path), f"example {shot[:40]!r} is in no document of a family labelled {label}")
        if (origin.family, origin.source) in test_sources:
            raise InputError(str(path), f"example {shot[:40]!r} comes from {origin.source}, a test document")
        documents.append(origin)
    return documents
