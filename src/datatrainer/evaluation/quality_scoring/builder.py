"""Build the labelled benchmark: windows of real documents, with no length or final-punctuation shortcut.

A scorer could separate prose from junk by two features that say nothing about quality: length, and whether
the text ends in sentence punctuation (good paragraphs nearly always do, a log or a menu rarely). So every
example is a window of consecutive words of one real document, cut so that both classes share:

- the same length distribution: each window's target word count is drawn from one distribution
  (uniform between `min_words` and `max_words`) whatever the class, and the window ends within
  `slack` of it;
- the same final-punctuation rate: in every family exactly half the windows end in a terminal punctuation
  mark (C4's definition: `.`, `?`, `!` or a closing quote) and half do not.

Windows start at a line start or after a sentence end, as a paragraph would. Each family gets `per_family`
windows (`per_source` at most from one source document, so one long file cannot make a family); good and
junk families are sized so that the two classes hold the same number of windows. The same seed gives the
same set on the same machine.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from datatrainer.evaluation.quality_scoring.labelled import Example
from datatrainer.evaluation.quality_scoring.sources import GOOD, GOOD_FAMILIES, JUNK_FAMILIES, RawDocument, Reader

TERMINAL = re.compile(r"[.?!\"\u201d]$")
_TOKENS = re.compile(r"\S+\s*")


class BuildParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    good_per_family: int = Field(24, ge=2, description="windows per good family")
    min_words: int = Field(40, ge=5)
    max_words: int = Field(160, ge=5)
    slack: float = Field(0.25, gt=0, lt=1, description="a window may end this share before or after its target")
    per_source: int = Field(3, ge=1, description="most windows from one source document (a family with few "
                                                 "sources takes more, evenly)")
    seed: int = 0


@dataclass(frozen=True)
class Window:
    text: str
    terminal: bool


def ends_in_punctuation(text: str) -> bool:
    return bool(TERMINAL.search(text.rstrip()))


def window(text: str, target: int, terminal: bool, slack: float, rng: random.Random) -> Window | None:
    """A window of about `target` words ending (or not) in terminal punctuation, or None if this document has
    none near that length."""
    tokens = _TOKENS.findall(text.strip())
    if len(tokens) < target * (1 - slack):
        return None
    starts = [i for i in range(len(tokens)) if i == 0 or "\n" in tokens[i - 1] or
              ends_in_punctuation(tokens[i - 1])]
    rng.shuffle(starts)
    low, high = max(1, round(target * (1 - slack))), round(target * (1 + slack))
    for start in starts[:20]:
        ends = [end for end in range(start + low, min(start + high, len(tokens)) + 1)
                if ends_in_punctuation(tokens[end - 1]) == terminal]
        if ends:
            end = min(ends, key=lambda e: abs(e - start - target))
            return Window("".join(tokens[start:end]).strip(), terminal)
    return None


def family_examples(family: str, documents: list[RawDocument], count: int, params: BuildParams,
                    rng: random.Random) -> list[Example]:
    """`count` windows of the family, half ending in punctuation, spread over its source documents."""
    if not documents:
        return []
    per_source = max(params.per_source, -(-count // len(documents)))
    taken: dict[str, int] = {}
    examples: list[Example] = []
    for terminal in (True, False):
        wanted = count // 2 if terminal else count - count // 2
        found = 0
        for _ in range(wanted * 40):
            if found == wanted:
                break
            document = rng.choice(documents)
            if taken.get(document.source, 0) >= per_source:
                continue
            cut = window(document.text, rng.randint(params.min_words, params.max_words), terminal, params.slack, rng)
            if cut is None or any(cut.text == e.text for e in examples):
                continue
            taken[document.source] = taken.get(document.source, 0) + 1
            examples.append(Example(cut.text, document.label, family, document.source))
            found += 1
    return examples


def build(params: BuildParams | None = None, good: Mapping[str, Reader] | None = None,
          junk: Mapping[str, Reader] | None = None, exclude: Collection[str] = ()) -> list[Example]:
    """The benchmark's examples; a family whose sources are missing here is left out (`families` tells).
    Source documents in `exclude` (e.g. those of a development build) are not used."""
    params = params or BuildParams()
    good, junk = good if good is not None else GOOD_FAMILIES, junk if junk is not None else JUNK_FAMILIES
    rng = random.Random(params.seed)  # nosec B311  # reproducible sampling or jitter, not a secret
    excluded = set(exclude)
    read = {name: [doc for doc in reader() if doc.source not in excluded] for name, reader in {**good, **junk}.items()}
    good_names = [name for name in good if read[name]]
    junk_names = [name for name in junk if read[name]]
    per_junk = -(-params.good_per_family * len(good_names) // max(1, len(junk_names)))
    examples = [e for name in good_names for e in family_examples(name, read[name], params.good_per_family,
                                                                   params, rng)]
    for name in junk_names:
        examples.extend(family_examples(name, read[name], per_junk, params, rng))
    return examples


def families(examples: Iterable[Example]) -> dict[str, tuple[int, int]]:
    """Per family: (label, windows)."""
    counts: dict[str, tuple[int, int]] = {}
    for example in examples:
        label, count = counts.get(example.family, (example.label, 0))
        counts[example.family] = (label, count + 1)
    return counts


__all__ = ["GOOD", "BuildParams", "Window", "build", "ends_in_punctuation", "families", "window"]
