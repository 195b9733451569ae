"""The `quality-filter` operation end to end, through the Python API and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.operations import operation_names
from datatrainer.quality.filters import CHECKS, QualityFilterParams
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version
from tests.quality.real_text import bulgarian_articles, english_articles

PROSE = ("The committee met on Tuesday to discuss the budget for the coming year. Members agreed that the "
         "library should have longer opening hours, and that the park needs new benches. The proposal to "
         "repair the old bridge with local stone was approved after a long debate. A final report will be "
         "published next month, together with the minutes of the meeting and a list of the decisions.")

# Each bad record and the first check it must fail under the default rules.
BAD = {
    "menu": ("Home\nAbout us\nProducts\nContact\nLogin\nSign up", "gopher-quality: word_count < 50"),
    "bullets": ("\n".join(f"\u2022 item {i} of the list with the words" for i in range(12)),
                "gopher-quality: bullet_line_frac > 0.9"),
    "spam": ("Buy the cheap shoes now and save with the best offers of the year.\n" * 20,
             "gopher-repetition: dup_line_frac > 0.3"),
    "stuffing": ("cheap shoes best cheap shoes buy cheap shoes sale cheap shoes the cheap shoes of cheap shoes " * 4,
                 "gopher-repetition: top_2gram_char_frac > 0.2"),
    "lorem": (PROSE + " Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "c4: lorem ipsum"),
    "code": (PROSE + "\nfunction main() { return the_value; }", "c4: curly bracket"),
    "bulgarian": (bulgarian_articles()[0], "lang: language != en"),
}


def _records() -> list[dict[str, Any]]:
    good = [{"id": f"en-{i}", "text": text} for i, text in enumerate(english_articles()[:12])]
    good.append({"id": "prose", "text": PROSE})
    bad = [{"id": key, "text": text} for key, (text, _) in BAD.items()]
    return [record for pair in zip_longest(good, bad) for record in pair if record is not None]


@pytest.fixture
def source(sqlite_workspace: Workspace) -> DatasetVersion:
    return make_version(sqlite_workspace, _records(), name="web")


def test_registered_with_published_defaults() -> None:
    assert "quality-filter" in operation_names()
    defaults = QualityFilterParams()
    assert defaults.rules == ["gopher-quality", "gopher-repetition", "c4", "lang"]
    assert (defaults.min_word_count, defaults.max_word_count, defaults.min_stop_word_count) == (50, 100_000, 2)
    assert defaults.max_dup_10gram_char_frac == 0.10 and defaults.min_c4_sentence_count == 3
    assert all(check.bound == "flag" or check.threshold(defaults) is not None for check in CHECKS)


def test_kept_plus_dropped_is_the_input_with_reasons(sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    out = sqlite_workspace.apply("quality-filter", [source], {}, engine=LocalEngine(batch_size=5))
    kept = out.to_table()
    dropped = out.artifact("dropped")
    input_ids = source.to_table(["id"]).column("id").to_pylist()
    kept_ids, dropped_ids = kept.column("id").to_pylist(), dropped.column("id").to_pylist()
    assert sorted(kept_ids + dropped_ids) == sorted(input_ids) and not set(kept_ids) & set(dropped_ids)
    assert kept_ids == [i for i in input_ids if i in set(kept_ids)]  # input order kept
    assert kept.schema.equals(source.schema)
    first = {row["id"]: row["reasons"][0] for row in dropped.to_pylist()}
    for key, (_, check) in BAD.items():
        assert first.get(key) == check, (key, first.get(key))
    reasons = {row["id"]: row["reason"] for row in dropped.to_pylist()}
    assert reasons["menu"] == "gopher-quality: word_count 8 < 50"
    assert reasons["bulgarian"].startswith("lang: bg != en (0.")
    assert "prose" in kept_ids and sum(i.startswith("en-") for i in kept_ids) >= 10
    stats = out.info.stats
    assert stats["dropped"] == dropped.num_rows == sum(stats["dropped_by_reason"].values())
    assert stats["failed_by_check"]["gopher-quality: word_count < 50"] >= 1
    assert out.info.operation == "quality-filter" and out.info.parents == (source.ref,)


def test_rules_order_and_thresholds_are_parameters(sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    only_lang = sqlite_workspace.apply("quality-filter", [source], {"rules": ["lang"]}, name="lang-only")
    assert {row["reasons"][0] for row in only_lang.artifact("dropped").to_pylist()} <= {
        "lang: language != en", "lang: score < 0.65"}
    assert "bulgarian" in only_lang.artifact("dropped").column("id").to_pylist()
    bulgarian = sqlite_workspace.apply("quality-filter", [source], {"rules": ["lang"], "lang": "bg"}, name="bg")
    assert bulgarian.to_table().column("id").to_pylist() == ["bulgarian"]
    c4_first = sqlite_workspace.apply("quality-filter", [source], {"rules": ["c4", "gopher-quality"]}, name="c4")
    assert {r["id"]: r["reasons"][0] for r in c4_first.artifact("dropped").to_pylist()}["menu"] == \
        "c4: c4_sentence_count < 3"
    relaxed = sqlite_workspace.apply("quality-filter", [source], {"rules": ["gopher-quality"], "min_word_count": None,
                                                                   "max_bullet_line_frac": 1.0}, name="relaxed")
    assert "bullets" in relaxed.to_table().column("id").to_pylist()
    relaxed_reasons = {r["id"]: r["reasons"] for r in relaxed.artifact("dropped").to_pylist()}
    assert relaxed_reasons["menu"] == ["gopher-quality: stop_word_count < 2"]
    assert not any("word_count <" in reason for reasons in relaxed_reasons.values() for reason in reasons
                   if "stop_word_count" not in reason)


@pytest.mark.parametrize(("params", "message"), [
    ({"rules": ["gopher"]}, "rules.0"),
    ({"rules": []}, "rules"),
    ({"min_words": 10}, "min-words"),
    ({"lang": "English"}, "lang"),
])
def test_bad_parameters_fail_in_one_line(sqlite_workspace: Workspace, source: DatasetVersion,
                                         params: dict[str, Any], message: str) -> None:
    with pytest.raises(DatatrainerError, match=message) as info:
        sqlite_workspace.apply("quality-filter", [source], params)
    assert "\n" not in str(info.value)


def test_empty_input_and_no_text_column(sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    empty = sqlite_workspace.apply("filter", [source], {"where": "false"}, name="empty")
    out = sqlite_workspace.apply("quality-filter", [empty], {})
    assert out.num_rows == 0 and out.info.stats == {"dropped": 0}
    with sqlite_workspace.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "body": ["no text column"]}))
        textless = writer.commit(dataset="textless", operation="test", params={}).ref
    with pytest.raises(DatatrainerError, match="has no 'text' column"):
        sqlite_workspace.apply("quality-filter", [textless], {})


def test_cli(tmp_path: Path, sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", "-w", str(sqlite_workspace.root),
                               *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "COLUMNS": "200"})

    result = run("quality", "filter", source.ref, "--rules", "gopher-quality,lang", "--name", "clean")
    assert result.returncode == 0, result.stderr
    assert "created clean@1" in result.stdout and f"of {source.num_rows} records" in result.stdout
    assert "gopher-quality: word_count < 50" in result.stdout and "lang: language != en" in result.stdout
    shown = json.loads(run("datasets", "show", "clean@1", "--json").stdout)
    assert shown["operation"] == "quality-filter" and shown["params"]["rules"] == ["gopher-quality", "lang"]
    dropped = run("datasets", "dropped", "clean@1")
    assert "lang: bg != en" in dropped.stdout
    bad = run("quality", "filter", source.ref, "--rules", "gopher,c4")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
