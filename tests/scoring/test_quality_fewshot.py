"""The development-build few-shot prompt: chosen by its rule, rendered around the paper's prompt, and traced back
to the documents its examples came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from datatrainer.errors import InputError
from datatrainer.evaluation.quality_scoring.fewshot import (
    FewShotSettings,
    check_template,
    render,
    shots,
    template_shots,
)
from datatrainer.evaluation.quality_scoring.labelled import Example
from datatrainer.evaluation.quality_scoring.sources import RawDocument, Reader
from datatrainer.scoring.prompts import load_template

DEV = [
    Example("The river floods every spring and feeds the delta.", 1, "news", "n1"),
    Example("A long article " + "word " * 60 + "ends here.", 1, "wikipedia", "w1"),
    Example("The encyclopedia entry describes the bridge and its history.", 1, "wikipedia", "w2"),
    Example("Home | Login | Cart.", 0, "navigation", "h1"),
    Example("2026-01-01 INFO started", 0, "logs", "l1"),  # no final punctuation: never a shot
    Example("Copyright 2020 the authors, all rights reserved.", 0, "licences", "c1"),
]


def test_shots_follow_the_rule() -> None:
    settings = FewShotSettings(path="x.txt", per_class=2, max_words=20, seed=3)
    chosen = shots(DEV, settings)
    assert [e.label for e in chosen] == [1, 1, 0, 0]
    assert all(e in DEV and len(e.text.split()) <= 20 and e.text.endswith(".") for e in chosen)
    assert len({e.family for e in chosen if e.label}) == 2 and len({e.family for e in chosen if not e.label}) == 2
    assert shots(DEV, settings) == chosen  # reproducible


def test_render_puts_answers_before_the_paper_prompt(tmp_path: Path) -> None:
    chosen = shots(DEV, FewShotSettings(path="x.txt"))
    text = render(chosen)
    assert text.rstrip().endswith(load_template("paper").text)
    assert text.count("{text}") == 1 and text.count("Answer: yes") == 1 and text.count("Answer: no") == 1
    assert text.index(chosen[0].text) < text.index("Answer: yes") < text.index(chosen[1].text)
    assert template_shots(text) == [(e.text, e.label) for e in chosen]
    path = tmp_path / "fewshot.txt"
    path.write_text(text, encoding="utf-8")
    assert load_template(str(path)).render("DOC").rstrip().endswith("- no")


def _readers(documents: list[RawDocument]) -> dict[str, Reader]:
    families = {d.family for d in documents}
    return {f: (lambda f=f: iter([d for d in documents if d.family == f])) for f in families}  # type: ignore[misc]


def test_check_template_finds_where_examples_came_from(tmp_path: Path) -> None:
    documents = [RawDocument(e.family, e.label, e.source, f"Before.\n{e.text}\nAfter.") for e in DEV]
    chosen = shots(DEV, FewShotSettings(path="x.txt"))
    path = tmp_path / "fewshot.txt"
    path.write_text(render(chosen), encoding="utf-8")
    test = [Example("Another window.", 1, "news", "n9"), Example("Other junk", 0, "logs", "l9")]
    found = check_template(path, test, _readers(documents))
    assert [(d.family, d.source) for d in found] == [(e.family, e.source) for e in chosen]
    leaked = [*test, Example("x", chosen[0].label, chosen[0].family, chosen[0].source)]
    with pytest.raises(InputError, match="a test document"):
        check_template(path, leaked, _readers(documents))
    path.write_text(render(chosen).replace(chosen[0].text, "A hand-written example."), encoding="utf-8")
    with pytest.raises(InputError, match="in no document"):
        check_template(path, test, _readers(documents))
