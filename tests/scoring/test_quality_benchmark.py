"""The quality-scoring benchmark's pieces: windows without shortcuts, labelled-file errors, the leave-one-family-out
protocol against scikit-learn's AUC, the frozen-settings check, and the shipped student."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from datatrainer.errors import InputError
from datatrainer.evaluation.quality_scoring.builder import BuildParams, build, ends_in_punctuation, window
from datatrainer.evaluation.quality_scoring.labelled import Example, read_examples, write_examples
from datatrainer.evaluation.quality_scoring.protocol import Bootstrap, Folds, fixed, leave_out, summarise
from datatrainer.evaluation.quality_scoring.settings import Settings, check_frozen, load_settings
from datatrainer.evaluation.quality_scoring.sources import GOOD, JUNK, RawDocument
from datatrainer.paragraphs import real_texts
from datatrainer.scoring.quality_student import QualityStudent, c4_word_share, default_student, fit_student, vectorizer

PROSE = real_texts(60)


def _prose(family: str) -> Iterator[RawDocument]:
    for i, text in enumerate(PROSE[:30] if family == "a" else PROSE[30:]):
        yield RawDocument(family, GOOD, f"{family}-{i // 2}", text + " " + text)


def _log(family: str) -> Iterator[RawDocument]:
    for source in range(6):
        lines = [f"2026-01-0{source + 1} 12:{i:02d}:00 {family} worker-{i % 3} status=ok took {i * 7} ms." if i % 2
                 else f"2026-01-0{source + 1} 12:{i:02d}:01 {family} queue depth {i}" for i in range(60)]
        yield RawDocument(family, JUNK, f"{family}-{source}", "\n".join(lines))


def _built() -> list[Example]:
    readers = {"a": lambda: _prose("a"), "b": lambda: _prose("b")}
    junk = {"x": lambda: _log("x"), "y": lambda: _log("y")}
    return build(BuildParams(good_per_family=8, min_words=20, max_words=40, seed=3), readers, junk)


def test_windows_match_length_and_final_punctuation_between_classes() -> None:
    examples = _built()
    for family in ("a", "b", "x", "y"):
        rows = [e for e in examples if e.family == family]
        assert len(rows) == 8
        assert sum(ends_in_punctuation(e.text) for e in rows) == 4  # half end in . ! ? in every family
        assert all(15 <= len(e.text.split()) <= 50 for e in rows)  # 20-40 words, 25% slack
        assert max(sum(e.source == s for e in rows) for s in {e.source for e in rows}) <= 3
    assert window("no punctuation here at all " * 5, 10, True, 0.25, random.Random(0)) is None


def test_build_leaves_out_excluded_sources() -> None:
    first = _built()
    again = build(BuildParams(good_per_family=8, min_words=20, max_words=40, seed=3),
                  {"a": lambda: _prose("a")}, {"x": lambda: _log("x")}, exclude={"a-0", "a-1", "x-0"})
    assert first and not {e.source for e in again} & {"a-0", "a-1", "x-0"}


@pytest.mark.parametrize(("lines", "message"), [
    (['{"text": "fine", "label": 1}', '{"text": "no label"}'], "bad.jsonl:2: field 'label' is missing"),
    (['{"text": "a", "label": 1}', '{"text": "b", "label": 1}'], "needs both good (1) and low-quality (0)"),
    (['{"text": "a", "label": 1}', "not json"], "bad.jsonl:2: not a JSON object"),
    (['{"text": "a", "label": 2}'], "field 'label' is 2"),
])
def test_labelled_file_problems_are_one_line(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        read_examples(path)
    assert "\n" not in str(raised.value)


def test_round_trip_and_pair_auc_equals_sklearn(tmp_path: Path) -> None:
    examples = _built()
    write_examples(examples, tmp_path / "set.jsonl", {"note": "header line is skipped"})
    assert read_examples(tmp_path / "set.jsonl") == examples
    folds = Folds.of(examples)
    scores = np.random.default_rng(0).normal(size=len(examples)) + folds.labels
    boot = Bootstrap(folds, draws=50, seed=1)
    aucs = boot.pair_aucs(fixed("noisy", folds, scores))
    for (g, j), draws in aucs.items():
        rows = folds.rows(g, j)
        assert draws[0] == pytest.approx(roc_auc_score(folds.labels[rows], scores[rows]))
        assert 0.0 <= draws[1:].min() <= draws[1:].max() <= 1.0
    summary = summarise("noisy", aucs)
    assert summary.low <= summary.auc <= summary.high
    assert summary.auc == pytest.approx(np.mean([d[0] for d in aucs.values()]))


def test_leave_out_never_fits_on_the_held_out_families() -> None:
    examples = _built()
    folds = Folds.of(examples)
    seen: list[set[str]] = []

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        seen.append(set(folds.families[train]))
        return np.zeros(len(test))

    result = leave_out("probe", folds, fit_predict)
    assert len(seen) == len(folds.pairs) == 4
    for (g, j), families in zip(result.per_pair, seen, strict=True):
        assert g not in families and j not in families and families


def test_training_only_rows_train_but_are_never_scored() -> None:
    examples = [Example(f"t{i}", i % 2, f"{'g' if i % 2 else 'j'}{i % 4 // 2}", f"d{i}") for i in range(16)]
    extra = [Example(f"x{i}", i % 2, f"{'g' if i % 2 else 'j'}{i % 6 // 2}", f"e{i}") for i in range(12)]
    folds = Folds.of(examples, training_only=extra)
    assert folds.good == ("g0", "g1") and folds.junk == ("j0", "j1")  # g2/j2 exist only in the training rows
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        seen.append((train, test))
        return np.zeros(len(test))

    leave_out("probe", folds, fit_predict)
    for (g, j), (train, test) in zip(folds.pairs, seen, strict=True):
        assert (test < len(examples)).all() and set(folds.families[test]) == {g, j}
        assert (train >= len(examples)).any() and not {g, j} & set(folds.families[train])
    assert (Bootstrap(folds, 20).weights[1:, len(examples):] == 0).all()  # never resampled into an AUC


def test_a_file_without_families_is_split_by_source() -> None:
    examples = [Example(f"text {i}", i % 2, "good" if i % 2 else "junk", f"doc{i // 2}") for i in range(40)]
    folds = Folds.of(examples)
    assert len(folds.good) == len(folds.junk) == 5
    for family in (*folds.good, *folds.junk):  # one source document never sits in two groups
        assert not set(folds.sources[folds.rows(family)]) & set(folds.sources[folds.families != family])


def test_settings_changed_after_the_data_was_built_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"frozen_at": "2026-01-01T00:00:00Z"}')
    settings, digest = load_settings(path)
    built = (settings.frozen_at + timedelta(hours=1)).isoformat()
    check_frozen({"settings_sha256": digest, "built_at": built}, settings, digest, tmp_path / "data.jsonl")
    with pytest.raises(InputError, match="settings changed after the test data was built"):
        check_frozen({"settings_sha256": "other", "built_at": built}, settings, digest, tmp_path / "data.jsonl")
    early = Settings(frozen_at=datetime.now(UTC))
    with pytest.raises(InputError, match="before the settings were frozen"):
        check_frozen({"settings_sha256": digest, "built_at": "2025-01-01T00:00:00+00:00"}, early, digest,
                     tmp_path / "data.jsonl")
    path.write_text('{"frozen_at": "2026-01-01T00:00:00Z", "llm": {"prompt": ["paper"]}}')
    with pytest.raises(InputError, match=r"llm\.prompt"):
        load_settings(path)


def test_student_scores_as_scikit_learn_does_and_the_shipped_one_ranks_prose_first(tmp_path: Path) -> None:
    examples = _built()
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    student = fit_student(texts, labels, provenance={"fitted_on": "a test"})
    student.save(tmp_path / "student.npz")
    loaded = QualityStudent.load(tmp_path / "student.npz")
    assert loaded.provenance == {"fitted_on": "a test"}
    features, share = vectorizer().transform(texts), c4_word_share(texts)[:, None]
    reference = (LogisticRegression(max_iter=2000).fit(features, labels).predict_proba(features)[:, 1] +
                 LogisticRegression(max_iter=2000).fit(share, labels).predict_proba(share)[:, 1]) / 2
    np.testing.assert_allclose(loaded.score(texts), reference, rtol=1e-4, atol=1e-5)
    shipped = default_student().score(texts)
    assert np.isfinite(shipped).all() and roc_auc_score(labels, shipped) > 0.9
    assert c4_word_share(["One two three four five six.", "a b c d"]).tolist() == [1.0, 0.0]
