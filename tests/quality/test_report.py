"""The quality report: HTML rendered in headless Chromium shows the JSON twin's numbers, links resolve,
nothing is fetched from the network; and the CLI writes both files end to end."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from datatrainer.corpora import news_articles
from datatrainer.quality.metrics import QualityConfig
from datatrainer.quality.report import build_report, write_report
from datatrainer.quality.report_html import HEADLINES, anchor, fmt_count, fmt_headline, fmt_rate, fmt_score
from datatrainer.workspace import Workspace
from tests.browser import chromium, open_page, screenshot
from tests.quality.quality_helpers import make_version

CONFIG = QualityConfig(labels=("a", "b"), required_fields=("text", "label", "source"),
                       reference_date="2026-01-01T00:00:00Z")


def planted_records() -> list[dict[str, Any]]:
    """News articles with one or more planted problems of every kind the report shows."""
    texts = [a["text"] for a in itertools.islice(news_articles(), 60)]
    records = [{"id": f"doc {i} <&>", "text": text, "label": "ab"[i % 2], "source": "wire",
                "collected_at": f"20{20 + i % 6}-0{i % 9 + 1}-15"} for i, text in enumerate(texts)]
    records[1]["text"] = "N/A"
    records[2]["text"] = texts[2].replace("the", "thÃ©")
    records[3]["label"] = "c"
    records[4]["collected_at"] = "last week"
    records[5]["source"] = "Wire"
    records[6]["text"] = "Die Regierung hat am Mittwoch neue Regeln beschlossen, und die Fahrgäste mussten warten."
    records[7]["text"] = "Buy cheap watches now.\n" * 10
    records.append({"id": "near-copy", "text": texts[8] + " Police said.", "label": "ab"[9 % 2], "source": "wire",
                    "collected_at": "2025-06-01"})
    for i in (10, 11, 12, 13):
        records[i]["label"] = "ab"[(i + 1) % 2]  # flipped labels
    return records


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def expected_numbers(report: dict[str, Any]) -> list[str]:
    """The numbers of the JSON twin, formatted as the page shows them."""
    summary = report["summary"]
    numbers = [fmt_headline(kind, summary_value(summary, key)) for key, _, kind in HEADLINES]
    numbers += [fmt_rate(f["present_rate"]) for f in summary["completeness"]["fields"]]
    numbers += [fmt_rate(rule["rate"]) for rule in summary["errors"]["rules"].values()]
    numbers += [fmt_rate(c["rate"]) for c in summary["coherence"]["components"]]
    numbers += [fmt_score(summary["coherence"]["index"]), fmt_rate(summary["freshness"]["stale_rate"]),
                fmt_rate(summary["freshness"]["undated_rate"]), fmt_count(summary["label_errors"]["issues"])]
    return numbers


def summary_value(summary: dict[str, Any], key: str) -> float | None:
    paths = {"completeness_rate": ("completeness", "rate"), "error_rate": ("errors", "rate"),
             "label_issue_rate": ("label_errors", "rate"), "coherence_index": ("coherence", "index"),
             "freshness_score": ("freshness", "score")}
    section, field = paths[key]
    value: float | None = summary[section][field]
    return value


def test_report_renders_the_json_numbers(sqlite_workspace: Workspace, browser: Browser, tmp_path: Path) -> None:
    records = planted_records()
    v1 = make_version(sqlite_workspace, records, name="news")
    build_report(sqlite_workspace, v1, CONFIG)  # stored, so v2's report has a trend
    v2 = sqlite_workspace.apply("filter", [v1], {"where": "id <> 'doc 0 <&>'"})
    report = build_report(sqlite_workspace, v2, CONFIG, examples_per_problem=3)
    html_path, json_path = tmp_path / "report.html", tmp_path / "report.json"
    write_report(report, html_path, json_path)
    twin = json.loads(json_path.read_text())
    assert [p["version"] for p in twin["trend"]] == ["news@1", "news@2"] and all(p["measured"] for p in twin["trend"])
    problems = {group["name"]: group for group in twin["examples"]}
    for planted in ("incomplete:text", "mojibake", "invalid_label", "bad_date", "format_inconsistent",
                    "language_mismatch", "repetition", "label_conflict", "label_issue", "stale", "undated"):
        assert problems[planted]["records"] > 0, planted

    with open_page(browser, html_path.as_uri()) as (page, requests):
        text = page.inner_text("body")
        for number in expected_numbers(twin):
            assert number in text, number
        assert "news@1" in text and "news@2" in text
        assert page.locator("svg").count() >= 5

        links = page.locator("a[href^='#rec-']")
        example_ids = {e["id"] for group in twin["examples"] for e in group["examples"]}
        assert set(links.all_inner_texts()) == example_ids
        for href in set(links.evaluate_all("links => links.map(a => a.getAttribute('href'))")):
            assert page.locator(f"[id='{href[1:]}']").count() == 1, href
        assert anchor("doc 2 <&>") in {h[1:] for h in links.evaluate_all("ls => ls.map(a => a.getAttribute('href'))")}
        assert requests == [html_path.as_uri()]
        screenshot(page, "quality-report.png")


def run_cli(workspace: Path, *args: str | Path) -> str:
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", "-w", str(workspace), "quality",
                             *map(str, args)], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cli_metrics_and_report(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    make_version(sqlite_workspace, planted_records(), name="news")
    settings = ["--labels", "a,b", "--required", "text,label,source", "--reference-date", "2026-01-01"]
    records_out = tmp_path / "records.parquet"
    measured = json.loads(run_cli(sqlite_workspace.root, "metrics", "news", *settings, "--json",
                                  "--records-out", records_out))
    assert measured["version"] == "news@1" and measured["errors"]["rules"]["invalid_label"]["count"] == 1
    assert records_out.is_file()

    out = tmp_path / "out" / "report.html"
    printed = run_cli(sqlite_workspace.root, "report", "news@1", *settings, "--out", out)
    twin = json.loads(out.with_suffix(".json").read_text())
    assert f"wrote {out}" in printed and f"wrote {out.with_suffix('.json')}" in printed
    assert twin["summary"]["config_hash"] == measured["config_hash"]
    assert twin["summary"]["completeness"] == measured["completeness"]
    assert fmt_rate(twin["summary"]["errors"]["rate"]) in out.read_text()

    printed = run_cli(sqlite_workspace.root, "report", "news", "--lang", "none")
    default = sqlite_workspace.root / "reports" / "quality-news-1.html"
    assert f"wrote {default}" in printed and default.with_suffix(".json").is_file()
    assert json.loads(default.with_suffix(".json").read_text())["summary"]["config"]["expected_language"] is None


def test_cli_settings_precedence(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    from datatrainer.cli.quality import quality_config
    from datatrainer.errors import DatatrainerError

    toml = sqlite_workspace.root / "datatrainer.toml"
    toml.write_text(toml.read_text() + '\n[quality]\nhorizon_days = 30\nhalf_life_days = 10\nlabels = ["x"]\n')
    config_file = tmp_path / "quality.json"
    config_file.write_text(json.dumps({"half_life_days": 20, "expected_language": "de"}))
    config = quality_config(sqlite_workspace, config_file, None, "b,a", None, None, None, None, None)
    assert (config.horizon_days, config.half_life_days, config.labels, config.expected_language) == (
        30, 20, ("a", "b"), "de")
    assert quality_config(sqlite_workspace, None, None, None, None, "none", 5, None, None).expected_language is None
    with pytest.raises(DatatrainerError, match="horizon-days"):
        quality_config(sqlite_workspace, None, None, None, None, None, -1, None, None)
    config_file.write_text("{not json")
    with pytest.raises(DatatrainerError, match=r"quality\.json"):
        quality_config(sqlite_workspace, config_file, None, None, None, None, None, None, None)
