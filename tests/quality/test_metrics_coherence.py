"""Coherence: each component finds the problem planted for it; the index is 1 - the mean component rate."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.corpora import news_articles
from datatrainer.quality.metrics import QualityConfig, QualityResult, measure
from datatrainer.quality.metrics.coherence import conflicts_in_clusters, shapes
from datatrainer.quality.signals import repetition_signals
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

NEWS = [article["text"] for article in itertools.islice(news_articles(), 40)]
GERMAN = [
    "Die Bundesregierung hat am Mittwoch neue Regeln für den Wohnungsbau beschlossen. Nach Angaben des "
    "Ministeriums sollen die Genehmigungsverfahren deutlich schneller werden, damit mehr Wohnungen entstehen.",
    "Im Herbst färben sich die Blätter der Bäume gelb und rot. Viele Menschen gehen dann im Wald spazieren "
    "und sammeln Pilze, die sie am Abend mit ihrer Familie zubereiten.",
    "Der Zug nach München hatte wegen eines Stellwerksschadens mehr als eine Stunde Verspätung, und die "
    "Fahrgäste mussten lange auf dem Bahnsteig warten, bevor es endlich weiterging.",
]


def _component(result: QualityResult, name: str) -> Any:
    assert result.summary.coherence is not None
    return next(c for c in result.summary.coherence.components if c.name == name)


def _flagged(result: QualityResult, column: str) -> set[str]:
    ids = result.records["id"].to_pylist()
    return {ids[i] for i, flag in enumerate(result.records[column].to_pylist()) if flag}


def test_shapes() -> None:
    values = pa.array(["2024-01-05", "Positive", "positive", "POS 12", "  web  ", "日本語", None, "a  b"])
    assert shapes(values).to_pylist() == ["9-9-9", "Aa", "a", "A 9", "a", "L", None, "a a"]


def test_format_component_flags_minority_formats(sqlite_workspace: Workspace) -> None:
    records = [{"id": f"r{i}", "text": NEWS[i], "label": "positive" if i % 2 else "negative",
                "source": "web", "title": f"Title number {i}" * (i % 3 + 1),
                "collected_at": f"2024-01-{i % 28 + 1:02d}"} for i in range(20)]
    records[3]["label"] = "Positive"
    records[5]["collected_at"] = "05/01/2024"
    records[7]["source"] = "Web"
    version = make_version(sqlite_workspace, records)
    result = measure(version, QualityConfig(metrics=("coherence",), coherence_components=("format",)))
    assert _flagged(result, "format_inconsistent") == {"r3", "r5", "r7"}
    component = _component(result, "format")
    assert (component.applicable, component.problems, component.rate) == (20, 3, 0.15)
    assert result.summary.coherence is not None
    assert result.summary.coherence.dominant_formats == {"collected_at": "9-9-9", "label": "a", "source": "a"}

    free_text = QualityConfig(metrics=("coherence",), coherence_components=("format",), format_fields=("title",))
    result = measure(version, free_text)  # three shapes, none covering half the values: nothing to flag
    assert result.summary.coherence is not None
    assert result.summary.coherence.dominant_formats == {"title": None}
    assert _component(result, "format").problems == 0


def reference_others(clusters: list[int], labels: list[str | None]) -> list[int]:
    return [0 if label is None else sum(1 for c, other in zip(clusters, labels, strict=True)
                                        if c == cluster and other is not None and other != label)
            for cluster, label in zip(clusters, labels, strict=True)]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.one_of(st.none(), st.sampled_from("abc"))), max_size=40))
def test_conflicts_match_reference(rows: list[tuple[int, str | None]]) -> None:
    clusters = [c * 1000 for c, _ in rows]  # ids need not be dense
    labels = [label for _, label in rows]
    columns = conflicts_in_clusters(np.array(clusters, dtype=np.int64), pa.array(labels, pa.string()))
    expected = reference_others(clusters, labels)
    assert columns["label_conflict_others"].to_pylist() == expected
    assert columns["label_conflict"].to_pylist() == [e > 0 for e in expected]


def test_label_conflict_between_near_duplicates(sqlite_workspace: Workspace) -> None:
    records = [{"id": f"n{i}", "text": text, "label": "a" if i % 2 else "b"} for i, text in enumerate(NEWS)]
    # Near-copies (a sentence added), one with a conflicting label, one agreeing.
    records.append({"id": "copy-conflict", "text": NEWS[0] + " Police are investigating.", "label": "a"})
    records.append({"id": "copy-agree", "text": NEWS[1] + " Police are investigating.", "label": "a"})
    records.append({"id": "copy-unlabelled", "text": NEWS[2] + " Police are investigating.", "label": None})
    version = make_version(sqlite_workspace, records)
    result = measure(version, QualityConfig(metrics=("coherence",), coherence_components=("label_conflict",)))
    assert _flagged(result, "label_conflict") == {"n0", "copy-conflict"}
    component = _component(result, "label_conflict")
    assert (component.applicable, component.problems) == (len(records) - 1, 2)


def test_language_mismatch(sqlite_workspace: Workspace) -> None:
    records = [{"id": f"en{i}", "text": text} for i, text in enumerate(NEWS[:12])]
    records += [{"id": f"de{i}", "text": text} for i, text in enumerate(GERMAN)]
    records.append({"id": "blank", "text": "   "})
    version = make_version(sqlite_workspace, records)
    result = measure(version, QualityConfig(metrics=("coherence",), coherence_components=("language",)))
    assert _flagged(result, "language_mismatch") == {"de0", "de1", "de2"}
    component = _component(result, "language")
    assert (component.applicable, component.problems) == (15, 3)
    assert result.summary.coherence is not None
    assert result.summary.coherence.language_mix.get("de") == 3


def test_repetition_matches_gopher_limits(sqlite_workspace: Workspace) -> None:
    looping = "Buy cheap watches now.\n" * 12
    records = [{"id": f"n{i}", "text": text} for i, text in enumerate(NEWS[:15])]
    records += [{"id": "loop", "text": looping},
                {"id": "phrase", "text": NEWS[20] + " " + "click here to win a prize " * 15}]
    version = make_version(sqlite_workspace, records)
    config = QualityConfig(metrics=("coherence",), coherence_components=("repetition",))
    result = measure(version, config)
    signals = repetition_signals(pa.array([r["text"] for r in records])).to_pylist()
    expected = {r["id"] for r, s in zip(records, signals, strict=True)
                if any(s[name] > limit for name, limit in config.repetition_limits.items())}
    assert {"loop", "phrase"} <= expected
    assert _flagged(result, "repetitive") == expected


def test_index_and_skipped_components(sqlite_workspace: Workspace) -> None:
    records = [{"id": f"n{i}", "text": text, "source": "web" if i % 4 else "Web"} for i, text in
               enumerate(NEWS[:12])] + [{"id": "de", "text": GERMAN[0], "source": "web"}]
    version = make_version(sqlite_workspace, records)
    result = measure(version, QualityConfig(metrics=("coherence",)))
    coherence = result.summary.coherence
    assert coherence is not None
    ran = [c for c in coherence.components if c.status == "ok"]
    skipped = {c.name: c.reason for c in coherence.components if c.status == "skipped"}
    assert set(skipped) == {"label_conflict"} and "no labels" in (skipped["label_conflict"] or "")
    assert coherence.index == pytest.approx(1 - np.mean([c.rate for c in ran]))
    assert _component(result, "format").problems == 3

    no_language = measure(version, QualityConfig(metrics=("coherence",), expected_language=None))
    assert _component(no_language, "language").status == "skipped"
