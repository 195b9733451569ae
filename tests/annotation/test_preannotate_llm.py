"""LLM-backed suggestions with the real bundled SmolLM2-135M-Instruct (loaded once for this module)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from datatrainer.annotation.preannotate.llm import (
    CLASSIFY_PROMPT,
    LLMClassifierSuggester,
    LLMNerSuggester,
    first_tokens,
)
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.errors import DatatrainerError
from datatrainer.models.lm import LanguageModel, load_language_model

pytestmark = pytest.mark.slow  # loads SmolLM2 (~20-50 s on 2 busy cores)

GOOD = AnnotatedDoc("good", "A wonderful, moving film. I loved every minute of it.")
BAD = AnnotatedDoc("bad", "A dreadful, boring film. I hated every minute of it.")


@pytest.fixture(scope="module")
def lm() -> Iterator[LanguageModel]:
    pytest.importorskip("transformers")
    yield load_language_model("smollm2", threads=2)


def test_classification_is_a_distribution_over_the_labels(lm: LanguageModel) -> None:
    suggester = LLMClassifierSuggester(lm, ["positive", "negative", "neutral"])
    suggestions = suggester.suggest([GOOD, BAD])
    for suggestion in suggestions:
        assert list(suggestion.probabilities) == ["positive", "negative", "neutral"]
        assert sum(suggestion.probabilities.values()) == pytest.approx(1.0)
        assert all(0.0 < p < 1.0 for p in suggestion.probabilities.values())
        assert suggestion.labels == (max(suggestion.probabilities, key=suggestion.probabilities.__getitem__),)
        assert 0.0 <= suggestion.uncertainty() <= 1.0  # type: ignore[operator]
        assert suggestion.source == "llm:SmolLM2-135M-Instruct.Q4_1"
    assert 0.0 < suggester._scorer.answer_mass.min() <= 1.0 + 1e-9


def test_prefers_the_obvious_label(lm: LanguageModel) -> None:
    good, bad = LLMClassifierSuggester(lm, ["positive", "negative"]).suggest([GOOD, BAD])
    assert good.probabilities["positive"] > bad.probabilities["positive"]
    assert good.labels == ("positive",) and bad.labels == ("negative",)


def test_uncalibrated_equals_the_full_vocabulary_reference(lm: LanguageModel) -> None:
    """Independent path: the backend's full next-token distribution and the tokenizer's own token ids."""
    labels = ["positive", "negative"]
    (suggestion,) = LLMClassifierSuggester(lm, labels, calibrate=False).suggest([GOOD])
    prompt = lm.format_prompt(CLASSIFY_PROMPT.format(answers="positive, negative", text=GOOD.text))
    full = np.exp(lm.next_token_distribution([prompt])[0].astype(np.float64))  # type: ignore[attr-defined]
    tokenizer = lm._tokenizer  # type: ignore[attr-defined]
    ids = [{tokenizer.encode(v, add_special_tokens=False)[0] for v in (label, label.capitalize())}
           for label in labels]
    mass = np.array([full[list(group)].sum() for group in ids])
    assert [suggestion.probabilities[label] for label in labels] == pytest.approx(list(mass / mass.sum()), abs=1e-5)


def test_multi_label_gives_independent_probabilities(lm: LanguageModel) -> None:
    (suggestion,) = LLMClassifierSuggester(lm, ["sports", "politics"], multi_label=True).suggest([GOOD])
    assert set(suggestion.probabilities) == {"sports", "politics"}
    assert all(0.0 < p < 1.0 for p in suggestion.probabilities.values())
    assert set(suggestion.labels) == {label for label, p in suggestion.probabilities.items() if p >= 0.5}


def test_labels_that_share_a_first_token_are_refused(lm: LanguageModel) -> None:
    assert all(len(tokens) >= 1 for tokens in first_tokens(lm, ["positive", "negative"]))
    with pytest.raises(DatatrainerError, match="'New York' and 'New Jersey' start with the same token"):
        LLMClassifierSuggester(lm, ["New York", "New Jersey"])


def test_ner_types_proper_noun_runs(lm: LanguageModel) -> None:
    doc = AnnotatedDoc("n", "Microsoft shares fell in New York after Bill Gates spoke.")
    (suggestion,) = LLMNerSuggester(lm, ["PER", "ORG", "LOC"]).suggest([doc])
    found = {doc.text[s.span.start:s.span.end]: s for s in suggestion.spans}
    assert set(found) <= {"Microsoft", "New York", "Bill Gates"}  # only proper-noun runs are candidates
    assert "Microsoft" in found and found["Microsoft"].span.label == "ORG"
    assert all(s.span.label in {"PER", "ORG", "LOC"} and 0.0 < s.confidence <= 1.0  # type: ignore[operator]
               for s in suggestion.spans)
    (empty,) = LLMNerSuggester(lm, ["PER"]).suggest([AnnotatedDoc("e", "nothing here has a name.")])
    assert empty.spans == ()


def test_ner_configuration_errors(lm: LanguageModel) -> None:
    with pytest.raises(DatatrainerError, match="descriptions for X: not project labels"):
        LLMNerSuggester(lm, ["PER"], descriptions={"X": "thing"})
    with pytest.raises(DatatrainerError, match="share the answer word"):
        LLMNerSuggester(lm, ["PER", "PERSON"])
    with pytest.raises(DatatrainerError, match="needs a spaCy pipeline with a tagger"):
        LLMNerSuggester(lm, ["PER"], spacy_model="blank:en")
