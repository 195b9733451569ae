"""Ask-LLM and perplexity arithmetic, prompt templates and config hashes, on a tiny deterministic stand-in model.

The stand-in is used only here, for the arithmetic (sums of variants, the normalised ratio, ensembles,
calibration, NaN/inf edges) where a real model would add nothing but minutes; tests/scoring/test_ask_llm.py
checks the same code against the real SmolLM2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.errors import DatatrainerError, InputError
from datatrainer.models.lm.base import FloatArray
from datatrainer.params import validate_params
from datatrainer.scoring.ask_llm import AskLLM, AskLLMParams
from datatrainer.scoring.perplexity import Perplexity, PerplexityParams
from datatrainer.scoring.prompts import builtin_prompts, load_template

PAPER_PROMPT = """###
{text}
###

Does the previous paragraph demarcated within ### and ### contain informative signal for pre-training a \
large-language model? An informative datapoint should be well-formatted, contain some usable knowledge of the \
world, and strictly NOT have any harmful, racist, sexist, etc. content.

OPTIONS:
- yes
- no"""

VOCAB = ["yes", " yes", "Yes", " Yes", "no", " no", "No", " No", "maybe", " the", ".", "Y", "N"]


class TinyLM:
    """Next-token log-probs drawn from a seeded generator keyed by the prompt; words are tokens."""

    name = "tiny"

    def __init__(self, scale: float = 3.0) -> None:
        self.scale = scale
        self.calls: list[list[str]] = []

    def config(self) -> dict[str, Any]:
        return {"model": "tiny", "scale": self.scale}

    def truncate(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        return [text if text in VOCAB and max_tokens >= 1 else " ".join(text.split(" ")[:max_tokens])
                for text in texts]

    def format_prompt(self, user_message: str) -> str:
        return f"<user>{user_message}</user><assistant>"

    def distribution(self, prompt: str) -> FloatArray:
        seed = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "little")
        logits = np.random.default_rng(seed).normal(0.0, self.scale, len(VOCAB))
        return logits - np.logaddexp.reduce(logits)

    def next_token_logprobs(self, prompts: Sequence[str], candidates: Sequence[str]) -> FloatArray:
        self.calls.append(list(prompts))
        return np.array([[self.distribution(p)[VOCAB.index(c)] for c in candidates] for p in prompts])

    def sequence_nll(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        counts = np.array([len(text.split()) for text in texts], dtype=np.float64)
        return counts * 1.5, counts


def expected(model: TinyLM, prompt: str, yes: Sequence[str], no: Sequence[str]) -> tuple[float, float]:
    probs = np.exp(model.distribution(prompt))
    return sum(probs[VOCAB.index(v)] for v in yes), sum(probs[VOCAB.index(v)] for v in no)


TEXTS = ["A short paragraph about rivers.", "buy now buy now cheap", "", "### header ### and #### more"]


def test_paper_prompt_is_verbatim_and_default() -> None:
    assert "paper" in builtin_prompts()
    assert load_template("paper").text == PAPER_PROMPT
    assert AskLLMParams().prompts == ("paper",)


def test_scores_match_a_hand_computation() -> None:
    model = TinyLM()
    scores = AskLLM(model).score(TEXTS)
    for i, text in enumerate(TEXTS):
        document = text.replace("####", "").replace("###", "")
        prompt = model.format_prompt(PAPER_PROMPT.replace("{text}", document))
        p_yes, p_no = expected(model, prompt, ["yes", " yes", "Yes", " Yes"], ["no", " no", "No", " No"])
        assert scores.p_yes[i] == pytest.approx(p_yes, rel=1e-12)
        assert scores.p_no[i] == pytest.approx(p_no, rel=1e-12)
        assert scores.normalized[i] == pytest.approx(p_yes / (p_yes + p_no), rel=1e-12)
        assert scores.logprob[i] == pytest.approx(np.log(p_yes), rel=1e-12)
    assert ((scores.p_yes + scores.p_no <= 1) & (scores.normalized > 0) & (scores.normalized < 1)).all()


def test_delimiters_are_stripped_and_documents_truncated() -> None:
    model = TinyLM()
    scorer = AskLLM(model, AskLLMParams(max_doc_tokens=3))
    assert scorer.documents(["a ### b c d e", "x #### y"]) == ["a  b", "x  y"]


def test_multi_token_variants_are_left_out_and_none_left_is_an_error() -> None:
    model = TinyLM()
    scorer = AskLLM(model, AskLLMParams(yes=("yes", "yes please", "yes"), no=("no",)))
    assert scorer.yes == ["yes"]
    with pytest.raises(DatatrainerError, match="none of the 'yes' variants"):
        AskLLM(model, AskLLMParams(yes=("yes please",)))
    with pytest.raises(DatatrainerError, match="both a yes and a no variant"):
        validate_params(AskLLMParams, {"yes": ["yes"], "no": ["yes", "no"]}, "ask-llm")


def test_ensemble_is_the_logistic_of_mean_log_odds(tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("Is this good text?\n{text}\nAnswer yes or no.\n")
    model = TinyLM()
    single = [AskLLM(model, AskLLMParams(prompts=(p,))).score(TEXTS) for p in ("paper", str(other))]
    both = AskLLM(model, AskLLMParams(prompts=("paper", str(other)))).score(TEXTS)
    log_odds = np.mean([np.log(s.p_yes / s.p_no) for s in single], axis=0)
    np.testing.assert_allclose(both.normalized, 1 / (1 + np.exp(-log_odds)), rtol=1e-12)
    np.testing.assert_allclose(both.logprob, np.mean([s.logprob for s in single], axis=0), rtol=1e-12)
    np.testing.assert_allclose(both.p_yes, np.mean([s.p_yes for s in single], axis=0), rtol=1e-12)


def test_calibration_divides_by_content_free_values_and_keeps_the_ranking() -> None:
    model = TinyLM()
    plain = AskLLM(model).score(TEXTS)
    calibrated_scorer = AskLLM(model, AskLLMParams(calibrate=True))
    calibrated = calibrated_scorer.score(TEXTS)
    free = [model.format_prompt(PAPER_PROMPT.replace("{text}", cf)) for cf in ("", "N/A", "[MASK]")]
    pairs = [expected(model, p, ["yes", " yes", "Yes", " Yes"], ["no", " no", "No", " No"]) for p in free]
    mean_yes, mean_no = np.mean([p[0] for p in pairs]), np.mean([p[1] for p in pairs])
    np.testing.assert_allclose(calibrated.p_yes, plain.p_yes / mean_yes, rtol=1e-12)
    np.testing.assert_allclose(calibrated.p_no, plain.p_no / mean_no, rtol=1e-12)
    shift = np.log(plain.normalized / (1 - plain.normalized)) - np.log(calibrated.normalized /
                                                                       (1 - calibrated.normalized))
    np.testing.assert_allclose(shift, np.log(mean_yes / mean_no), rtol=1e-9)  # a constant: same ranking
    assert (np.argsort(plain.normalized) == np.argsort(calibrated.normalized)).all()
    calls = len(model.calls)
    calibrated_scorer.score(TEXTS)
    assert len(model.calls) == calls + 1  # content-free values are computed once per scorer


class TopKOnly(TinyLM):
    """Like an HTTP backend: candidates outside the top 2 tokens come back as -inf."""

    def next_token_logprobs(self, prompts: Sequence[str], candidates: Sequence[str]) -> FloatArray:
        out = super().next_token_logprobs(prompts, candidates)
        tops = [set(np.argsort(self.distribution(p))[-2:]) for p in prompts]
        hidden = [[VOCAB.index(c) not in top for c in candidates] for top in tops]
        return np.where(hidden, -np.inf, out)


def test_answers_outside_a_top_k_give_bounded_scores() -> None:
    texts = [f"text {i}" for i in range(40)]
    scores = AskLLM(TopKOnly(scale=0.1)).score(texts)  # flat: most yes and no tokens fall outside the top 2
    assert np.isfinite(scores.normalized).all() and ((scores.normalized >= 0) & (scores.normalized <= 1)).all()
    neither = np.isneginf(scores.logprob) & (scores.p_no == 0)
    assert neither.any() and (scores.normalized[neither] == 0.5).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="ab #.", max_size=30), min_size=1, max_size=6), st.floats(0.1, 8.0))
def test_kinds_agree_for_any_documents(texts: list[str], scale: float) -> None:
    scores = AskLLM(TinyLM(scale)).score(texts)
    np.testing.assert_allclose(scores.normalized, scores.p_yes / (scores.p_yes + scores.p_no), rtol=1e-9)
    np.testing.assert_allclose(scores.logprob, np.log(scores.p_yes), rtol=1e-9)
    assert all(scores.of(kind).shape == (len(texts),) for kind in ("normalized", "pyes", "logprob"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="#ab \n", max_size=40))
def test_no_delimiter_survives_in_a_document(text: str) -> None:
    (document,) = AskLLM(TinyLM(), AskLLMParams(max_doc_tokens=1000)).documents([text])
    assert "###" not in document and document.replace("#", "") == text.replace("#", "")


def test_config_hash_follows_template_text_not_name(tmp_path: Path) -> None:
    model = TinyLM()
    copy = tmp_path / "copy.txt"
    copy.write_text(PAPER_PROMPT + "\n")
    edited = tmp_path / "edited.txt"
    edited.write_text(PAPER_PROMPT.replace("informative", "useful"))
    paper = AskLLM(model).config_hash()
    assert AskLLM(model, AskLLMParams(prompts=(str(copy),))).config_hash() == paper
    assert AskLLM(model, AskLLMParams(prompts=(str(edited),))).config_hash() != paper
    variations = [AskLLMParams(max_doc_tokens=64), AskLLMParams(yes=("yes",)), AskLLMParams(calibrate=True),
                  AskLLMParams(score="pyes"), AskLLMParams(prompts=("paper", str(edited)))]
    hashes = {AskLLM(model, params).config_hash() for params in variations}
    assert len(hashes) == len(variations) and paper not in hashes
    assert AskLLM(TinyLM(scale=1.0)).config_hash() != paper  # the model's config is part of it


def test_bad_prompt_files_are_one_line_errors(tmp_path: Path) -> None:
    no_slot = tmp_path / "no-slot.txt"
    no_slot.write_text("Is this good? {document}")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 {text}".encode("latin-1"))
    cases = [(str(no_slot), "has no {text} placeholder"), (str(latin), "not valid UTF-8"),
             (str(tmp_path / "absent.txt"), "no such file"), (str(tmp_path), "is not a file")]
    for spec, message in cases:
        with pytest.raises(InputError) as info:
            load_template(spec)
        assert str(info.value).startswith(spec) and message in str(info.value) and "\n" not in str(info.value)


def test_perplexity_is_exp_of_mean_nll_and_nan_without_tokens() -> None:
    scorer = Perplexity(TinyLM(), PerplexityParams(max_tokens=2))
    scores = scorer.score(["one two three", "", "single"])
    np.testing.assert_allclose(scores.tokens, [2, 0, 1])
    np.testing.assert_allclose(scores.perplexity[[0, 2]], np.exp(1.5))
    assert np.isnan(scores.perplexity[1])
    assert scorer.config_hash() != Perplexity(TinyLM(), PerplexityParams()).config_hash()
