"""The proxy-size rows: each shipped addendum extends the settings it names, and answer-token calibration is fitted
on other families only (it can turn a score that ranks backwards around, as it must learn the sign)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datatrainer.errors import InputError
from datatrainer.evaluation.quality_scoring import benchmark as bench
from datatrainer.evaluation.quality_scoring.labelled import Example
from datatrainer.evaluation.quality_scoring.protocol import Bootstrap, Folds, summarise
from datatrainer.evaluation.quality_scoring.settings import load_scaling, load_settings

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize(("settings", "addendum"), [
    ("quality_scoring_settings_v1.json", "quality_scoring_scaling.json"),
    ("quality_scoring_settings.json", "quality_scoring_scaling_v2.json"),
])
def test_the_shipped_addenda_extend_the_shipped_settings(settings: str, addendum: str) -> None:
    _, digest = load_settings(BENCHMARKS / settings)
    scaling, _ = load_scaling(BENCHMARKS / addendum, digest)
    assert "smollm2" in {m.model for m in scaling.models}
    assert (BENCHMARKS / scaling.fewshot.path).is_file()
    with pytest.raises(InputError, match="extends settings"):
        load_scaling(BENCHMARKS / addendum, "0" * 64)


def test_calibration_learns_the_sign_on_other_families() -> None:
    rng = np.random.default_rng(0)
    families = [("g1", 1), ("g2", 1), ("g3", 1), ("j1", 0), ("j2", 0), ("j3", 0)]
    examples = [Example(f"{f} {i}", label, f, f"{f}-{i}") for f, label in families for i in range(12)]
    labels = np.array([e.label for e in examples])
    log_no = rng.normal(-2.0, 0.1, len(examples))
    log_yes = np.where(labels == 1, -3.0, -1.0) + rng.normal(0, 0.3, len(examples))  # yes-leaning on junk
    folds = Folds.of(examples)
    rows = bench.ask_llm_rows("m paper", folds, log_yes, log_no, 1.0)
    assert [r.name for r in rows] == ["m paper: P(yes)", "m paper: normalized", "m paper: answer-token calibration"]
    boot = Bootstrap(folds, draws=20)
    aucs = [summarise(r.name, boot.pair_aucs(r)).auc for r in rows]
    assert aucs[0] < 0.1 and aucs[1] < 0.1 and aucs[2] > 0.9
    for (g, j), scores in rows[1].per_pair.items():
        np.testing.assert_allclose(scores, (log_yes - log_no)[folds.rows(g, j)])
