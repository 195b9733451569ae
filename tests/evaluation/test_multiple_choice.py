"""Multiple-choice scoring against lm-evaluation-harness itself, run offline on the same data and model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.data import load_table
from datatrainer.evaluation.multiple_choice import evaluate_multiple_choice, questions_from_table
from datatrainer.models.lm.hf import TransformersLM

TASK_YAML = """task: local_hellaswag
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: ctx
doc_to_target: label
doc_to_choice: endings
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def lm_eval_loglikelihoods(model_folder: Path, data: Path,
                           task_dir: Path) -> tuple[list[list[float]], dict[str, float]]:
    """Per-question ending log-likelihoods and acc/acc_norm from lm-eval's HFLM in float32 on the CPU."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    task_dir.mkdir(exist_ok=True)
    (task_dir / "local_hellaswag.yaml").write_text(TASK_YAML.format(data=data), encoding="utf-8")
    results = simple_evaluate(model="hf", model_args=f"pretrained={model_folder},dtype=float32",
                              tasks=["local_hellaswag"], device="cpu", batch_size=4, log_samples=True,
                              task_manager=TaskManager(include_path=str(task_dir)))
    assert results is not None
    samples = sorted(results["samples"]["local_hellaswag"], key=lambda s: s["doc_id"])
    lls = [[float(resp[0][0]) for resp in sample["resps"]] for sample in samples]
    metrics = results["results"]["local_hellaswag"]
    return lls, {"acc": metrics["acc,none"], "acc_norm": metrics["acc_norm,none"]}


@pytest.mark.slow
def test_matches_lm_eval_per_example_and_accuracy(tiny_gpt2: Path, hellaswag_file: Path, tmp_path: Path) -> None:
    table, ref = load_table(None, str(hellaswag_file), ["ctx", "endings", "label"], "multiple-choice")
    questions = questions_from_table(table, ref)
    ours = evaluate_multiple_choice(TransformersLM(str(tiny_gpt2), dtype="float32"), questions)
    theirs, their_metrics = lm_eval_loglikelihoods(tiny_gpt2, hellaswag_file, tmp_path / "tasks")
    # Within 1e-6 relative: float32's resolution. lm-eval sums the continuation's float32 log-probs in float32
    # (at |ll| ~ 400 one float32 step is 3e-5), we sum them in float64, and batches of other shapes round the
    # matmuls differently in the last bit; an absolute 1e-6 is below what float32 represents at these values.
    ours_lls, their_lls = np.array(ours.loglikelihoods), np.array(theirs)
    relative = np.abs(ours_lls - their_lls) / np.maximum(1.0, np.abs(their_lls))
    assert relative.max() < 1e-6, relative.max()
    metrics = ours.metrics()
    assert metrics["acc"] == their_metrics["acc"] and metrics["acc_norm"] == their_metrics["acc_norm"]
    # the two accuracies are different decisions on this data: length normalisation is really applied
    assert ours.predictions != ours.predictions_norm


def test_missing_fields_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"context": "a", "endings": ["b", "c"]}) + "\n", encoding="utf-8")
    with pytest.raises(DatatrainerError, match="lacks the fields ctx, label"):
        load_table(None, str(path), ["ctx", "endings", "label"], "multiple-choice")


def test_label_out_of_range_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"ctx": "a", "endings": ["b", "c"], "label": 2}) + "\n", encoding="utf-8")
    table, ref = load_table(None, str(path), ["ctx", "endings", "label"], "multiple-choice")
    with pytest.raises(DatatrainerError, match="row 0: label 2 is not an index of its 2 endings"):
        questions_from_table(table, ref)
