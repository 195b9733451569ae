"""Zero-shot suggestions from a language model's next-token distribution, so every suggestion has a real
probability over the project's labels (hence a real uncertainty), with no sampling and no output parsing.

The model reads a short prompt listing the possible answers and we read log P(first token of each answer)
at the first generated position (`LanguageModel.next_token_logprobs`). An answer's probability is the sum
over its spellings (as given, lower case, Capitalised) with distinct first tokens; a first token two answers
share says nothing about either and is dropped (an answer left with none is an error naming both answers).
Probabilities are renormalised over the answers: `answer_mass` reports how much of the model's next-token
mass they got, a check that the prompt is understood.

Small models lean towards some answers whatever the input. Contextual calibration (Zhao et al. 2021,
"Calibrate Before Use") divides each distribution by the one the model gives for content-free inputs
("N/A", "", "[MASK]") and renormalises; it is on by default. Measured on the 200 labelled movie-review
sentences of gensim's pang_lee_polarity with SmolLM2-135M-Instruct (benchmarks/preannotate.py --llm): without
calibration the model answers "positive" for every sentence (accuracy 0.50), with it 27% positive and
accuracy 0.53. A 135M model is a test double for the code path here, not a useful zero-shot classifier.

- Classification: one prompt per document; single-label projects get one distribution over the labels,
  multi-label projects one yes/no question per label (P(yes) per label, independent).
- NER typing: candidate spans (runs of proper nouns from a spaCy tagger) are each typed by the model over the
  project's labels plus "none"; a span is kept when a label beats "none", with that label's probability as
  its confidence. Answers are the labels' descriptions when given (`PER` -> "person"): tiny models know words
  better than tag names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from datatrainer.annotation.preannotate.base import ScoredSpan, Suggestion, check_labels, label_suggestions
from datatrainer.annotation.preannotate.pipelines import BATCH_SIZE, DEFAULT_MODEL, load_pipeline
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import LanguageModel

Matrix = np.ndarray[Any, np.dtype[np.float64]]

MAX_TEXT_TOKENS = 256  # of the document shown to the model: short prompts keep a CPU model usable
CONTENT_FREE = ("N/A", "", "[MASK]")
NONE_ANSWER = "none"
# Answers for common NER tag names: the words a small model reads more reliably than the tags themselves.
TAG_WORDS = {"PER": "person", "PERSON": "person", "ORG": "organization", "LOC": "location", "GPE": "country or city",
             "MISC": "miscellaneous", "DATE": "date", "TIME": "time", "MONEY": "money", "PRODUCT": "product",
             "EVENT": "event"}

CLASSIFY_PROMPT = "Classify the text as one of: {answers}.\n\nText: {text}\n\nAnswer with one of: {answers}."
YES_NO_PROMPT = "Text: {text}\n\nIs this text about \"{label}\"? Answer yes or no."
TYPE_PROMPT = ("Text: {text}\n\nWhat kind of entity is \"{span}\" in this text? Answer with one of: {answers}.")


class AnswerScorer:
    """P(answer | prompt) over a fixed answer list from first-token log-probabilities, optionally calibrated."""

    def __init__(self, lm: LanguageModel, answers: Sequence[str], calibrate: bool = True) -> None:
        self.lm = lm
        self.answers = tuple(answers)
        self.calibrate = calibrate
        self.tokens = first_tokens(lm, self.answers)
        self._candidates = [token for tokens in self.tokens for token in tokens]
        self._groups = np.repeat(np.arange(len(self.answers)), [len(tokens) for tokens in self.tokens])
        self.answer_mass: Matrix = np.empty(0)

    def distribution(self, messages: Sequence[str], content_free: Sequence[str] = ()) -> Matrix:
        """(len(messages), len(answers)) rows summing to 1; `content_free` are the calibration messages."""
        if not messages:
            return np.empty((0, len(self.answers)))
        probs = self._answer_probs([self.lm.format_prompt(m) for m in messages])
        self.answer_mass = probs.sum(axis=1)
        probs = probs / np.maximum(self.answer_mass[:, None], 1e-300)
        if self.calibrate and content_free:
            free = self._answer_probs([self.lm.format_prompt(m) for m in content_free])
            prior = (free / np.maximum(free.sum(axis=1, keepdims=True), 1e-300)).mean(axis=0)
            probs = probs / np.maximum(prior, 1e-12)
            probs = probs / probs.sum(axis=1, keepdims=True)
        return probs

    def _answer_probs(self, prompts: list[str]) -> Matrix:
        logprobs = self.lm.next_token_logprobs(prompts, self._candidates)
        out = np.zeros((len(prompts), len(self.answers)))
        np.add.at(out.T, self._groups, np.exp(logprobs).T)
        return out


class LLMClassifierSuggester:
    """Zero-shot classification suggestions with a probability for every label of the project."""

    def __init__(self, lm: LanguageModel, labels: Sequence[str], multi_label: bool = False, calibrate: bool = True,
                 max_text_tokens: int = MAX_TEXT_TOKENS) -> None:
        self.lm = lm
        self.labels = check_labels(labels, f"llm:{lm.name}")
        self.multi_label = multi_label
        self.max_text_tokens = max_text_tokens
        self._scorer = AnswerScorer(lm, ("yes", "no") if multi_label else self.labels, calibrate)

    @property
    def source(self) -> str:
        return f"llm:{self.lm.name}"

    def config(self) -> dict[str, Any]:
        return {"model": self.lm.config(), "task": "classification", "multi_label": self.multi_label,
                "prompt": YES_NO_PROMPT if self.multi_label else CLASSIFY_PROMPT,
                "calibrate": self._scorer.calibrate, "max_text_tokens": self.max_text_tokens}

    def suggest(self, docs: Sequence[AnnotatedDoc]) -> list[Suggestion]:
        if not docs:
            return []
        texts = self.lm.truncate([doc.text for doc in docs], self.max_text_tokens)
        probs = self._multi(texts) if self.multi_label else self._single(texts)
        return label_suggestions(docs, probs, self.labels, self.multi_label, self.source, self.config())

    def _single(self, texts: list[str]) -> Matrix:
        answers = ", ".join(self.labels)
        return self._scorer.distribution([CLASSIFY_PROMPT.format(answers=answers, text=t) for t in texts],
                                         [CLASSIFY_PROMPT.format(answers=answers, text=t) for t in CONTENT_FREE])

    def _multi(self, texts: list[str]) -> Matrix:
        out = np.empty((len(texts), len(self.labels)))
        for column, label in enumerate(self.labels):
            out[:, column] = self._scorer.distribution(
                [YES_NO_PROMPT.format(text=t, label=label) for t in texts],
                [YES_NO_PROMPT.format(text=t, label=label) for t in CONTENT_FREE])[:, 0]
        return out


class LLMNerSuggester:
    """Proper-noun runs found by a spaCy tagger, typed by the language model over the labels and "none"."""

    def __init__(self, lm: LanguageModel, labels: Sequence[str], descriptions: Mapping[str, str] | None = None,
                 calibrate: bool = True, spacy_model: str = DEFAULT_MODEL,
                 max_text_tokens: int = MAX_TEXT_TOKENS) -> None:
        self.lm = lm
        self.labels = check_labels(labels, f"llm:{lm.name}")
        given = dict(descriptions or {})
        unknown = sorted(set(given) - set(self.labels))
        if unknown:
            raise DatatrainerError(f"label descriptions for {', '.join(unknown)}: not project labels")
        self.descriptions = {label: given.get(label, TAG_WORDS.get(label, label)) for label in self.labels}
        self.spacy_model = spacy_model
        self.max_text_tokens = max_text_tokens
        self._nlp = load_pipeline(spacy_model)
        if not {"tagger", "morphologizer"} & set(self._nlp.pipe_names):
            raise DatatrainerError(f"LLM NER needs a spaCy pipeline with a tagger to find proper nouns; "
                                   f"{spacy_model!r} has: {', '.join(self._nlp.pipe_names) or 'none'}")
        self._answers = (*self.descriptions.values(), NONE_ANSWER)
        if len(set(self._answers)) != len(self._answers):
            raise DatatrainerError(f"LLM NER: two labels share the answer word ({', '.join(self._answers)}): "
                                   "give distinct descriptions")
        self._scorer = AnswerScorer(lm, self._answers, calibrate)

    @property
    def source(self) -> str:
        return f"llm-ner:{self.lm.name}"

    def config(self) -> dict[str, Any]:
        return {"model": self.lm.config(), "task": "ner", "prompt": TYPE_PROMPT, "answers": list(self._answers),
                "candidates": f"PROPN runs ({self.spacy_model})", "calibrate": self._scorer.calibrate,
                "max_text_tokens": self.max_text_tokens}

    def suggest(self, docs: Sequence[AnnotatedDoc]) -> list[Suggestion]:
        candidates = [self._candidates(parsed) for parsed in self._nlp.pipe([d.text for d in docs],
                                                                            batch_size=BATCH_SIZE)]
        flat = [(i, start, end, context) for i, spans in enumerate(candidates) for start, end, context in spans]
        contexts = self.lm.truncate([context for *_, context in flat], self.max_text_tokens) if flat else []
        answers = ", ".join(self._answers)
        messages = [TYPE_PROMPT.format(text=context, span=docs[i].text[start:end], answers=answers)
                    for (i, start, end, _), context in zip(flat, contexts, strict=True)]
        free = [TYPE_PROMPT.format(text=text, span=text, answers=answers) for text in CONTENT_FREE]
        probs = self._scorer.distribution(messages, free)
        spans: list[list[ScoredSpan]] = [[] for _ in docs]
        for (i, start, end, _), row in zip(flat, probs, strict=True):
            best = int(np.argmax(row))
            if best < len(self.labels):
                spans[i].append(ScoredSpan(Span(start, end, self.labels[best]), float(row[best])))
        config = self.config()
        return [Suggestion(doc.id, self.source, config, spans=tuple(found)) for doc, found in zip(docs, spans,
                                                                                                   strict=True)]

    @staticmethod
    def _candidates(parsed: Any) -> list[tuple[int, int, str]]:
        """(start char, end char, sentence text) of each maximal run of proper nouns."""
        runs: list[tuple[int, int, str]] = []
        run: list[Any] = []
        for token in [*parsed, None]:
            if token is not None and token.pos_ == "PROPN":
                run.append(token)
                continue
            if run:
                runs.append((run[0].idx, run[-1].idx + len(run[-1].text), run[0].sent.text))
            run = []
        return runs


def first_tokens(lm: LanguageModel, answers: Sequence[str]) -> list[tuple[str, ...]]:
    """Each answer's distinct first tokens over its spellings, without tokens another answer also starts with."""
    spellings = [list(dict.fromkeys((answer, answer.lower(), answer.capitalize()))) for answer in answers]
    firsts = [set(lm.truncate(variants, 1)) - {""} for variants in spellings]
    result = []
    for index, tokens in enumerate(firsts):
        shared = {t for other, others in enumerate(firsts) if other != index for t in others}
        unique = tuple(sorted(tokens - shared))
        if not unique:
            clash = next((answers[o] for o, others in enumerate(firsts) if o != index and tokens & others), "")
            raise DatatrainerError(f"answers {answers[index]!r} and {clash!r} start with the same token for "
                                   f"{lm.name}: rename one of the labels (or give it a description)")
        result.append(unique)
    return result
