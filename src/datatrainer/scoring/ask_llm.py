"""Ask-LLM (Sachdeva et al. 2024): how readily a proxy LM answers "yes" when asked whether a document is
informative enough to pre-train on.

Each document has every run of three or more `#` removed (they delimit it in the prompt), is cut to
`max_doc_tokens` of the model's tokens, put into the template in place of `{text}`, and wrapped in the model's
chat template (`format_prompt`). One forward pass gives the next-token distribution over the full vocabulary;
from it, per template:

- P(yes) = the sum of the probabilities of the "yes" variants (`yes`, ` yes`, `Yes`, ` Yes` by default) that
  are single tokens of the model's vocabulary, P(no) likewise. A tokenizer may spell the answer with or
  without a leading space or capital; summing the single-token variants counts each spelling once, and a
  variant that is several tokens is left out (its first token could be another word's start, or another
  variant).
- `pyes` = P(yes), the paper's score; `logprob` = log P(yes); `normalized` = P(yes) / (P(yes) + P(no)).

`normalized` divides out how much mass a small model puts on answering at all (on "yes" and "no" together),
which varies between documents for reasons that have little to do with quality. Measured on held-out
families of real text (`benchmarks/quality_scoring.py`), neither kind of the bundled 135M model ranks real
text above chance, which is why `score ask-llm` stores the quality student (`scoring.quality_student`) as its
default kind beside these three.

With `calibrate`, P(yes) and P(no) are divided by their mean over content-free documents ("", "N/A",
"[MASK]") in the same template (contextual calibration, Zhao et al. 2021). For one template this adds a
constant to every document's log-odds, so it changes no ranking (nor a top-k sample); it does move the
scores relative to a fixed threshold (0.5 then means "no more yes-leaning than an empty document") and
makes templates comparable before they are averaged. With calibration `pyes` is a ratio to the
content-free P(yes), no longer a probability.

With several templates (an ensemble, one forward pass per template): `normalized` is the logistic of the mean
log-odds log(P(yes) / P(no)) over templates, `logprob` the mean log P(yes), `pyes` the mean P(yes). For one
template these are exactly the definitions above.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import FloatArray, LanguageModel
from datatrainer.scoring.configs import config_hash
from datatrainer.scoring.prompts import DEFAULT_PROMPT, PromptTemplate, load_template

ASK_LLM = "ask-llm"
ScoreKind = Literal["normalized", "pyes", "logprob"]
SCORE_KINDS: tuple[ScoreKind, ...] = ("normalized", "pyes", "logprob")
CONTENT_FREE = ("", "N/A", "[MASK]")
DEFINITIONS = 1  # part of every config: raise it when the arithmetic changes, so old scores are not reused
_DELIMITER_RUNS = re.compile(r"#{3,}")

Variant = Annotated[str, Field(min_length=1)]


class AskLLMParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompts: tuple[str, ...] = Field((DEFAULT_PROMPT,), min_length=1,
                                     description="builtin prompt names or template files; several: an ensemble")
    max_doc_tokens: int = Field(512, ge=1, description="document tokens kept (the paper does not say; 512)")
    yes: tuple[Variant, ...] = Field(("yes", " yes", "Yes", " Yes"), min_length=1,
                                     description="spellings of the yes answer (single-token ones are summed)")
    no: tuple[Variant, ...] = Field(("no", " no", "No", " No"), min_length=1,
                                    description="spellings of the no answer (single-token ones are summed)")
    score: ScoreKind = Field("normalized", description="normalized P(yes)/(P(yes)+P(no)), pyes or logprob")
    calibrate: bool = Field(False, description="divide P(yes), P(no) by their content-free values")

    @model_validator(mode="after")
    def _disjoint_variants(self) -> Self:
        shared = sorted(set(self.yes) & set(self.no))
        if shared:
            raise ValueError(f"{shared!r} listed as both a yes and a no variant")
        return self

    def settings(self, templates: Sequence[PromptTemplate], kind: ScoreKind) -> dict[str, Any]:
        """Everything but the model that the `kind` scores depend on: the templates' text (not their names,
        so a renamed file keeps its scores and an edited one does not), truncation, variants, calibration."""
        return {"definitions": DEFINITIONS, "prompts": [template.text for template in templates],
                "max_doc_tokens": self.max_doc_tokens, "yes": list(self.yes), "no": list(self.no),
                "calibrate": self.calibrate, "score": kind}


@dataclass(frozen=True)
class AskLLMScores:
    """Per document: P(yes) and P(no) (means over templates; divided by content-free values when calibrated)
    and the two derived scores."""

    p_yes: FloatArray
    p_no: FloatArray
    normalized: FloatArray
    logprob: FloatArray

    def of(self, kind: ScoreKind) -> FloatArray:
        return {"normalized": self.normalized, "pyes": self.p_yes, "logprob": self.logprob}[kind]


class AskLLM:
    """Ask-LLM scores of documents under one model and one set of parameters."""

    def __init__(self, model: LanguageModel, params: AskLLMParams | None = None,
                 templates: Sequence[PromptTemplate] | None = None) -> None:
        self.model = model
        self.params = params or AskLLMParams()
        self.templates = list(templates) if templates is not None else [load_template(p) for p in self.params.prompts]
        self.yes = self._single_tokens(self.params.yes, "yes")
        self.no = self._single_tokens(self.params.no, "no")
        self._calibration: FloatArray | None = None

    def config(self, kind: ScoreKind | None = None) -> dict[str, Any]:
        return {"model": self.model.config(), **self.params.settings(self.templates, kind or self.params.score)}

    def config_hash(self, kind: ScoreKind | None = None) -> str:
        return config_hash(self.config(kind))

    def documents(self, texts: Sequence[str]) -> list[str]:
        """Documents as they go into the prompt: delimiter runs removed, then cut to the token budget."""
        return self.model.truncate([_DELIMITER_RUNS.sub("", text) for text in texts], self.params.max_doc_tokens)

    def prompts(self, template: PromptTemplate, documents: Sequence[str]) -> list[str]:
        return [self.model.format_prompt(template.render(document)) for document in documents]

    def score(self, texts: Sequence[str]) -> AskLLMScores:
        documents = self.documents(texts)
        log_yes, log_no = np.empty((len(self.templates), len(texts))), np.empty((len(self.templates), len(texts)))
        for i, template in enumerate(self.templates):
            log_yes[i], log_no[i] = self._log_yes_no(self.prompts(template, documents))
        if self.params.calibrate:
            offsets = self.calibration()
            log_yes -= offsets[:, :1]
            log_no -= offsets[:, 1:]
        with np.errstate(invalid="ignore"):  # -inf - -inf: neither answer in an HTTP backend's top-k
            log_odds = np.nan_to_num((log_yes - log_no).mean(axis=0), nan=0.0, posinf=np.inf, neginf=-np.inf)
        return AskLLMScores(p_yes=np.exp(log_yes).mean(axis=0), p_no=np.exp(log_no).mean(axis=0),
                            normalized=np.exp(-np.logaddexp(0.0, -log_odds)), logprob=log_yes.mean(axis=0))

    def calibration(self) -> FloatArray:
        """Per template, (log mean P(yes), log mean P(no)) over the content-free documents; computed once."""
        if self._calibration is None:
            offsets, count = np.empty((len(self.templates), 2)), np.log(len(CONTENT_FREE))
            for i, template in enumerate(self.templates):
                log_yes, log_no = self._log_yes_no(self.prompts(template, self.documents(CONTENT_FREE)))
                offsets[i] = np.logaddexp.reduce(log_yes) - count, np.logaddexp.reduce(log_no) - count
                if not np.isfinite(offsets[i]).all():
                    raise DatatrainerError(f"prompt {template.name}: {self.model.name} gives a content-free P(yes) "
                                           "or P(no) of 0 (outside the backend's top-k?), so it cannot calibrate")
            self._calibration = offsets
        return self._calibration

    def _log_yes_no(self, prompts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        logprobs = self.model.next_token_logprobs(prompts, [*self.yes, *self.no])
        return (np.logaddexp.reduce(logprobs[:, :len(self.yes)], axis=1),
                np.logaddexp.reduce(logprobs[:, len(self.yes):], axis=1))

    def _single_tokens(self, variants: Sequence[str], answer: str) -> list[str]:
        """The variants that are one token: cutting them to one token gives them back unchanged."""
        unique = list(dict.fromkeys(variants))
        kept = [v for v, cut in zip(unique, self.model.truncate(unique, 1), strict=True) if cut == v]
        if not kept:
            raise DatatrainerError(f"none of the {answer!r} variants {unique!r} is a single token of "
                                   f"{self.model.name}; give spellings that are (--yes / --no)")
        return kept
