"""Which measured result a stored quality config is judged by: a distilled student with heuristic features is
not the measured one, so sampling by it says it was never evaluated; the measured one says it is weak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datatrainer.scoring import measured
from datatrainer.scoring.configs import StoredConfig

RESULTS = {"scores": {"distilled": {"name": "distilled student (defaults)", "auc": 0.36, "ci95": [0.2, 0.49],
                                    "baseline": {"name": "C4 word share", "auc": 0.94}},
                      "ask-llm:student": {"name": "n-gram classifier", "auc": 0.92, "ci95": [0.87, 0.97],
                                          "baseline": {"name": "C4 word share", "auc": 0.91}}}}


def test_distilled_with_heuristics_is_its_own_measurement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "measured.json"
    path.write_text(json.dumps(RESULTS))
    monkeypatch.setattr(measured, "MEASURED_FILE", path)
    measured.measured.cache_clear()
    plain = StoredConfig("ask-llm-distilled", "abcd", {"student": "self-training"}, "web", "2026-12-07")
    with_signals = StoredConfig("ask-llm-distilled", "ef01", {"student": "self-training", "heuristics": ["a", "b"]},
                                "web", "2026-12-07")
    assert (measured.key_of(plain), measured.key_of(with_signals)) == ("distilled", "distilled:heuristics")
    assert measured.sampling_warning(plain) == (
        "ask-llm-distilled config abcd (distilled student (defaults)) measured ROC-AUC 0.36 (95% CI 0.20-0.49) on "
        "held-out real text, below the C4 word share heuristic's 0.94; the default `score ask-llm` student measured "
        "0.92")
    assert measured.sampling_warning(with_signals) == (
        "ask-llm-distilled config ef01 was never evaluated on held-out real text; measure it on labelled data with "
        "benchmarks/quality_scoring.py --data FILE")
    measured.measured.cache_clear()
