"""The balance report on a planted skew: every share, token count, mention count and named extreme checked
against pandas and `re` computed independently; the trend over a rebalanced version; topics from stored
embeddings; the report sections; the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.errors import DatatrainerError
from datatrainer.pii.config import PiiConfig
from datatrainer.quality.balance import BalanceConfig, Dimension, balance_report
from datatrainer.quality.balance_lexicon import load_lexicon
from datatrainer.quality.metrics import QualityConfig
from datatrainer.quality.report import build_report
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

SENTENCES = {"she": "She told her sister that the harvest was late this year.",
             "he": "He told his brother that the harvest was late this year.",
             "none": "The harvest was late this year and the river was low."}


def planted_frame(rows: int = 400) -> pd.DataFrame:
    """Sources 70/20/10, languages 90/10, labels 3:1, gender mentions skewed to male, lengths varied."""
    rng = np.random.default_rng(3)
    source = rng.choice(["news", "forum", "wiki"], rows, p=[0.7, 0.2, 0.1])
    lang = rng.choice(["en", "de"], rows, p=[0.9, 0.1])
    label = rng.choice(["pos", "neg"], rows, p=[0.75, 0.25])
    who = rng.choice(["he", "she", "none"], rows, p=[0.6, 0.15, 0.25])
    repeats = rng.integers(1, 30, rows)
    text = [" ".join([SENTENCES[w]] * r) for w, r in zip(who, repeats, strict=True)]
    month = rng.choice(["2024-01", "2024-02", "2024-03"], rows)
    return pd.DataFrame({"id": [f"r{i:04d}" for i in range(rows)], "text": text, "source": source, "lang": lang,
                         "label": label, "collected_at": [f"{m}-15T10:00:00Z" for m in month]})


def ingest_planted(ws: Workspace, tmp_path: Path) -> tuple[DatasetVersion, pd.DataFrame]:
    frame = planted_frame()
    path = tmp_path / "planted.jsonl"
    frame.to_json(path, orient="records", lines=True)
    return ws.ingest(path, "planted"), frame


@pytest.fixture
def planted(sqlite_workspace: Workspace, tmp_path: Path) -> tuple[DatasetVersion, pd.DataFrame]:
    return ingest_planted(sqlite_workspace, tmp_path)


def _by_name(dimensions: list[Dimension]) -> dict[str, Dimension]:
    return {d.name: d for d in dimensions}


def test_shares_tokens_and_extremes_match_pandas(sqlite_workspace: Workspace,
                                                 planted: tuple[DatasetVersion, pd.DataFrame]) -> None:
    version, frame = planted
    report = balance_report(sqlite_workspace, version, BalanceConfig(top=10))
    dims = _by_name(report.summary.dimensions)
    frame["tokens"] = frame["text"].str.split().str.len()
    frame["month"] = frame["collected_at"].str[:7]
    assert report.summary.records == len(frame) and report.summary.tokens == frame["tokens"].sum()
    for name, column in (("source", "source"), ("language", "lang"), ("label", "label"), ("time", "month")):
        expected = frame.groupby(column)["tokens"].agg(["count", "sum"])
        got = {s.value: (s.records, s.tokens) for s in dims[name].shares}
        assert got == {k: (int(r["count"]), int(r["sum"])) for k, r in expected.iterrows()}, name
    counts = frame["source"].value_counts()
    ratio = counts / counts.sum() * len(counts)
    assert dims["source"].most_over == ratio.idxmax() == "news" and dims["source"].most_under == ratio.idxmin()
    for share in dims["source"].shares:
        assert share.representation == pytest.approx(ratio[share.value])
    edges = [0, 10, 50, 200, 1000, 5000, np.inf]
    lengths = pd.cut(frame["tokens"], edges, right=False).value_counts(sort=False)
    assert [s.records for s in dims["length"].shares] == [int(c) for c in lengths if c]  # in bucket order


def test_identity_terms_are_counted_as_whole_words(sqlite_workspace: Workspace,
                                                   planted: tuple[DatasetVersion, pd.DataFrame]) -> None:
    version, frame = planted
    gender = _by_name(balance_report(sqlite_workspace, version).summary.dimensions)["lexicon:gender"]
    lexicon = load_lexicon()
    expected = {}
    for group, terms in lexicon.categories["gender"].items():
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, terms)) + r")\b")
        mentions = frame["text"].str.lower().map(lambda t, p=pattern: len(p.findall(t)))
        expected[group] = (int((mentions > 0).sum()), int(mentions.sum()))
    assert {s.value: (s.records, s.tokens) for s in gender.shares} == expected
    assert expected["male"][1] > expected["female"][1] > 0 and expected["non_binary"] == (0, 0)
    assert gender.most_over == "male" and gender.most_under == "non_binary"
    assert gender.missing == int((frame["text"].str.startswith("The harvest")).sum())  # records naming no group


def test_trend_shows_the_rebalanced_version_more_even(workspace: Workspace, tmp_path: Path) -> None:
    """On both catalogs (the measurements are stored in the catalog and read back for the trend)."""
    version, frame = ingest_planted(workspace, tmp_path)
    balance_report(workspace, version)
    per_source = int(frame["source"].value_counts().min())
    keep = " OR ".join(f"(source = '{s}' AND id IN (SELECT id FROM records WHERE source = '{s}' ORDER BY id "
                       f"LIMIT {per_source}))" for s in ("news", "forum", "wiki"))
    even = workspace.apply("filter", [version], {"where": keep})
    report = balance_report(workspace, even)
    assert [p.version for p in report.trend if p.measured] == ["planted@1", "planted@2"]
    before, after = (p.evenness["source"] for p in report.trend)
    assert after == pytest.approx(1.0) and before is not None and before < 0.9


def test_topics_from_stored_embeddings(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    texts = [f"the match ended with a late goal number {i}" for i in range(30)] + \
            [f"the bank raised interest rates again in month {i}" for i in range(10)]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    version = sqlite_workspace.ingest(path, "topics")
    hashes = version.to_table(columns=["content_hash"])["content_hash"]
    vectors = np.zeros((40, 4), np.float32)
    vectors[:30, 0], vectors[30:, 1] = 1.0, 1.0  # two well separated topics, 30 and 10 records
    sqlite_workspace.embeddings.add("toy", "e1", hashes, vectors + np.random.default_rng(0).normal(0, .01, (40, 4)),
                                    {"model": "toy"})
    topics = _by_name(balance_report(sqlite_workspace, version, BalanceConfig(topics=2)).summary.dimensions)["topic"]
    assert sorted(s.records for s in topics.shares) == [10, 30]
    sport = next(s for s in topics.shares if s.records == 30)
    assert topics.most_over == sport.value and any(w in sport.value for w in ("goal", "match", "late"))


def test_quality_report_has_balance_and_pii_sections(sqlite_workspace: Workspace,
                                                     planted: tuple[DatasetVersion, pd.DataFrame]) -> None:
    version, _ = planted
    report = build_report(sqlite_workspace, version, QualityConfig(metrics=["completeness"]), balance=BalanceConfig(),
                          pii=PiiConfig(types=["email"]))
    html = report.html()
    assert "id='balance'" in html and "id='pii'" in html and "most over-represented" in html.lower()
    assert report.balance is not None and report.pii is not None and report.pii.records == version.num_rows
    assert json.loads(report.model_dump_json())["balance"]["summary"]["records"] == version.num_rows


def test_cli_prints_extremes_and_rejects_a_bad_lexicon(sqlite_workspace: Workspace, tmp_path: Path,
                                                       planted: tuple[DatasetVersion, pd.DataFrame]) -> None:
    root = str(sqlite_workspace.root)
    lexicon = tmp_path / "lex.toml"
    lexicon.write_text('[harvest]\nriver = ["river"]\nsister = ["sister", "brother"]\n')
    result = CliRunner().invoke(app, ["--no-progress", "-w", root, "quality", "balance", "planted@1", "--lexicon",
                                      str(lexicon)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Sources" in result.output and "news" in result.output and "Identity terms: harvest" in result.output
    lexicon.write_text('[gender]\nonly = ["she"]\n')
    bad = CliRunner().invoke(app, ["-w", root, "quality", "balance", "planted@1", "--lexicon", str(lexicon)])
    assert isinstance(bad.exception, DatatrainerError)
    assert "category [gender] needs at least two groups" in str(bad.exception) and "\n" not in str(bad.exception)
