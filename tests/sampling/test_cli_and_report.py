"""`datatrainer sample` and `datatrainer coverage` as a user runs them (subprocesses on a real workspace),
and the coverage report rendered in headless Chromium: it shows the JSON twin's numbers and fetches nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from datatrainer.quality.report_html import fmt_count, fmt_rate, fmt_score
from datatrainer.sampling.coverage_report import default_paths
from datatrainer.workspace import Workspace
from tests.browser import chromium, open_page, screenshot
from tests.quality.quality_helpers import make_version
from tests.sampling.sampling_helpers import clustered_embeddings
from tests.sampling.stores import store_embeddings
from tests.sampling.test_operation import records


def run(workspace: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", "-w", str(workspace),
                           *map(str, args)], capture_output=True, text=True, env=env, timeout=180)


def ok(workspace: Path, *args: str | Path) -> str:
    result = run(workspace, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def expected_numbers(twin: dict[str, object]) -> list[str]:
    """The JSON twin's headline numbers, formatted as the page shows them."""
    summary = twin["summary"]
    assert isinstance(summary, dict)
    distance = summary["distance"]
    return [fmt_rate(summary["cluster_coverage"]), fmt_count(summary["clusters_covered"]),
            fmt_count(summary["records"]), fmt_count(summary["kept"]),
            *(fmt_rate(share) for share in summary["within_radius"]),
            *(fmt_score(distance[key]) for key in ("mean", "median", "p90", "p99", "max"))]


def test_sample_and_coverage_end_to_end(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    source = make_version(ws, records(600), name="web")
    store_embeddings(ws, source, clustered_embeddings(600, clusters=15, seed=4)[0])
    root = ws.root

    printed = ok(root, "sample", "web", "--by", "kcenter", "--budget", "10%", "--seed", "2", "--name", "web-kc")
    assert "created web-kc@1: kept 60 of 600 records by kcenter (budget 60)" in printed
    assert "datatrainer datasets dropped web-kc@1" in printed
    printed = ok(root, "sample", "web@1", "--by", "semdedup", "--budget", "100%", "--eps", "0.3", "--clusters", "8")
    assert "created web@2" in printed and "short of the budget: only" in printed

    out = tmp_path / "reports" / "coverage.html"
    printed = ok(root, "coverage", "web@1", "web-kc@1", "--out", out, "--clusters", "20", "--radius", "0.1",
                 "--radius", "0.25")
    twin = json.loads(out.with_suffix(".json").read_text())
    assert f"wrote {out}" in printed and twin["full"] == "web@1" and twin["sample"] == "web-kc@1"
    assert twin["summary"]["kept"] == 60 and twin["summary"]["radii"] == [0.1, 0.25]
    assert fmt_rate(twin["summary"]["cluster_coverage"]) in printed

    with chromium() as browser, open_page(browser, out.as_uri()) as (page, requests):
        text = page.inner_text("body")
        for number in expected_numbers(twin):
            assert number in text, number
        assert "Coverage of web-kc@1 in web@1" in text
        assert page.locator("svg").count() == 1 and page.locator("svg image").count() >= 1  # rasterised points
        assert page.locator("#clusters + p + table tbody tr").count() == twin["summary"]["clusters"]
        assert requests == [out.as_uri()]
        screenshot(page, "coverage-report.png")
    assert default_paths(ws, source, ws.version("web-kc@1")) == (root / "reports" / "coverage-web-1-web-kc-1.html",
                                                                 root / "reports" / "coverage-web-1-web-kc-1.json")


def test_cli_errors_are_one_line(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    source = make_version(ws, records(50), name="web")
    store_embeddings(ws, source, clustered_embeddings(50)[0])
    make_version(ws, [{"id": "other", "text": "not in web"}], name="other")
    root = ws.root
    assert one_line_error(run(root, "sample", "web", "--by", "random", "--budget", "2x")) == (
        "error: operation 'sample': budget: invalid budget '2x': expected a count (1000), a fraction (0.25) or a "
        "percentage (25%)")
    assert one_line_error(run(root, "coverage", "web", "other")) == (
        "error: other@1 has 1 records not in web@1 (e.g. 'other'): coverage compares a sample with the version it "
        "came from")
    assert [v.ref for v in ws.datasets.versions("web")] == ["web@1"]
    assert not (root / "reports").exists() or not list((root / "reports").iterdir())
