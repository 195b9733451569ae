"""Ask-LLM with the real bundled SmolLM2: values against an unbatched hand computation, prompt overrides, and the
resumable job through `ws.scores` (four kinds per pass, the quality student chosen by default, sampling by it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datatrainer.models.lm.base import LanguageModel
from datatrainer.scoring.ask_llm import ASK_LLM, AskLLM, AskLLMParams
from datatrainer.scoring.lm_jobs import AskLLMTask, ModelRequest, plan_lm_scoring, run_lm_scoring, score_with_lm
from datatrainer.scoring.prompts import load_template
from datatrainer.scoring.quality_student import default_student
from datatrainer.workspace import Workspace
from tests.scoring.helpers import ingest_texts

pytestmark = pytest.mark.slow
YES, NO = ["yes", " yes", "Yes", " Yes"], ["no", " no", "No", " No"]
DOCS = ["The Nile flows north through eleven countries into the Mediterranean Sea.",
        "Home | About | Contact | Login | Cart (0)",
        "### Chapter 1 ###\nPhotosynthesis turns light into chemical energy."]


def test_scores_equal_an_unbatched_hand_computation(smollm2: LanguageModel) -> None:
    scorer = AskLLM(smollm2)
    assert scorer.yes == YES and scorer.no == NO  # all four spellings are single SmolLM2 tokens
    scores = scorer.score(DOCS)
    paper = load_template("paper").text
    for i, doc in enumerate(DOCS):
        prompt = smollm2.format_prompt(paper.replace("{text}", doc.replace("###", "")))
        assert prompt.endswith("<|im_start|>assistant\n")  # the chat template asks for the answer next
        logprobs = smollm2.next_token_logprobs([prompt], YES + NO)[0]  # one prompt at a time: no padding
        p_yes, p_no = sum(np.exp(logprobs[:4])), sum(np.exp(logprobs[4:]))
        assert scores.p_yes[i] == pytest.approx(p_yes, rel=1e-4)
        assert scores.p_no[i] == pytest.approx(p_no, rel=1e-4)
        assert scores.normalized[i] == pytest.approx(p_yes / (p_yes + p_no), rel=1e-4)
        assert scores.logprob[i] == pytest.approx(np.log(p_yes), abs=1e-4)
    assert (scores.p_yes + scores.p_no <= 1).all()
    assert ((scores.normalized > 0) & (scores.normalized < 1)).all()


def test_long_documents_are_cut_to_the_token_budget(smollm2: LanguageModel) -> None:
    long_doc = " ".join(["The river floods the valley every spring."] * 60)
    scorer = AskLLM(smollm2, AskLLMParams(max_doc_tokens=16))
    (document,) = scorer.documents([long_doc])
    assert long_doc.startswith(document) and len(smollm2.truncate([document], 16)[0]) == len(document)
    assert len(smollm2.truncate([long_doc], 17)[0]) > len(document)
    cut = scorer.score([long_doc])
    assert cut.normalized[0] == pytest.approx(scorer.score([document]).normalized[0], rel=1e-5)


def test_prompt_override_changes_hash_and_scores(smollm2: LanguageModel, tmp_path: Path) -> None:
    domain = tmp_path / "recipes.txt"
    domain.write_text("Here is a text:\n{text}\n\nIs it a cooking recipe? Answer yes or no.\n")
    paper, custom = AskLLM(smollm2), AskLLM(smollm2, AskLLMParams(prompts=(str(domain),)))
    assert paper.config_hash() != custom.config_hash()
    assert not np.allclose(paper.score(DOCS).normalized, custom.score(DOCS).normalized, rtol=1e-3)


def test_job_stores_four_kinds_resumes_and_samples_by_the_student(smollm2: LanguageModel,
                                                                  sqlite_workspace: Workspace, tmp_path: Path,
                                                                  short_texts: list[str]) -> None:
    workspace = sqlite_workspace  # the scores are files; the PostgreSQL catalog is covered by test_perplexity
    texts = short_texts[:8]
    version = ingest_texts(workspace, tmp_path, "web", [*texts, texts[0]])  # a duplicate text is scored once
    request = ModelRequest("smollm2", options={"dtype": "float32"})
    task = AskLLMTask()
    first = plan_lm_scoring(workspace, version, task, request, smollm2)
    assert first.todo == 8

    def ctrl_c(amount: float) -> None:
        raise KeyboardInterrupt  # pressed right after the first shard is stored

    with pytest.raises(KeyboardInterrupt):
        run_lm_scoring(first, ctrl_c, shard_rows=3)
    resumed = plan_lm_scoring(workspace, version, task, request, smollm2)
    assert resumed.hashes == first.hashes and resumed.todo == 5
    assert run_lm_scoring(resumed, shard_rows=3) == 5

    expected = AskLLM(smollm2).score([*texts, texts[0]])
    for kind in ("normalized", "pyes", "logprob"):
        table = workspace.scores.scores_for(version, ASK_LLM, resumed.hash_of({"score": kind}))
        np.testing.assert_allclose(table["score"].to_numpy(), expected.of(kind), rtol=1e-4)
    student = workspace.scores.scores_for(version, ASK_LLM, resumed.hash_of({"score": "student"}))
    np.testing.assert_allclose(student["score"].to_numpy(), default_student().score([*texts, texts[0]]), rtol=1e-9)
    default = workspace.scores.scores_for(version, ASK_LLM)  # no config named: the quality student
    assert default.schema.metadata[b"config_hash"].decode() == resumed.hash_of({"score": "student"})
    assert {c.params["score"] for c in workspace.scores.configs(ASK_LLM)} == {"normalized", "pyes", "logprob",
                                                                              "student"}

    again = plan_lm_scoring(workspace, version, task, request)  # complete: found without loading the model
    assert again.model is None and again.todo == 0 and again.hashes == resumed.hashes
    assert score_with_lm(workspace, version, task, request, smollm2).todo == 0

    sample = workspace.apply("sample", [version], {"by": "ask-llm", "budget": "25%"}, name="top")
    stored = default["score"].to_numpy()
    k = sample.info.stats["budget"]
    best = np.sort(np.lexsort((np.arange(len(stored)), -stored))[:k])
    assert k == 2 and sample.to_table(["id"])["id"].to_pylist() == [f"r{i}" for i in best]
    assert sample.info.params["score_config"] == resumed.hash_of({"score": "student"})
