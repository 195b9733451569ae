"""A few-shot Ask-LLM prompt whose examples come from the development build only.

The examples are drawn by a fixed rule, not picked by eye: per class (good first), `per_class` windows of the
development build with at most `max_words` words that end in terminal punctuation (both classes alike, so the
examples teach no punctuation shortcut), from distinct families, chosen with `random.Random(seed)`. They go
before the paper's prompt, each followed by its answer; the document to judge comes last, in the paper's
prompt verbatim, so the model's next token is the answer. The rendered template is stored in a file and
frozen with the benchmark's settings; `check_template` recomputes it from the development build, which
proves that no test document is in it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from datatrainer.errors import InputError
from datatrainer.evaluation.quality_scoring.builder import ends_in_punctuation
from datatrainer.evaluation.quality_scoring.labelled import Example
from datatrainer.scoring.prompts import load_template

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


def check_template(path: Path, dev: Sequence[Example], settings: FewShotSettings) -> None:
    """Refuse a template file that is not what the rule renders from the development build."""
    expected = render(shots(dev, settings))
    if not path.is_file() or path.read_text(encoding="utf-8") != expected:
        raise InputError(str(path), "the few-shot template is not the one rendered from the development build "
                                    "under these settings (write it with --write-fewshot before freezing)")
