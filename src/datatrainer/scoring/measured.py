"""What the quality-scoring benchmark measured for the stored quality scores, so that sampling can say when a
score is known to rank real text worse than the cheap C4 heuristic, or was never measured at all.

`measured.json` beside this file is written by `benchmarks/quality_scoring.py`: per scorer, its held-out
ROC-AUC with the 95% interval, and the best heuristic's ROC-AUC on the same examples. A stored config is
matched by what decides its ranking: the scorer, the model as the user named it, the prompt names and the
score kind (`logprob` ranks exactly as `pyes`; calibration with one prompt changes no ranking). Other
configs (another model, own prompts, changed truncation) were never measured, and sampling says so in one
line.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

from datatrainer.scoring.ask_llm import ASK_LLM
from datatrainer.scoring.configs import StoredConfig
from datatrainer.scoring.perplexity import PERPLEXITY

MEASURED_FILE = Path(__file__).with_name("measured.json")
REQUEST = "request"
DISTILLED_SUFFIX = "-distilled"
DEFAULT_DOC_TOKENS = 512


def is_quality_scorer(name: str) -> bool:
    """Scorers whose purpose is ranking text by quality (density, length etc. are not judged)."""
    return name in (ASK_LLM, PERPLEXITY) or name.endswith(DISTILLED_SUFFIX)


def key_of(config: StoredConfig) -> str | None:
    """The measured-results key of a stored config, or None when no measurement could apply to it."""
    params = config.params
    model = (params.get(REQUEST) or {}).get("model")
    if config.name == ASK_LLM:
        if params.get("score") == "student":
            return "ask-llm:student"
        if params.get("max_doc_tokens") != DEFAULT_DOC_TOKENS:
            return None
        kind = "pyes" if params.get("score") == "logprob" else params.get("score")
        return f"ask-llm:{model}:{'+'.join(params.get('prompt_names') or [])}:{kind}"
    if config.name == PERPLEXITY:
        return f"perplexity:{model}"
    if config.name.endswith(DISTILLED_SUFFIX):  # heuristic features make it another student, measured apart
        return "distilled:heuristics" if config.params.get("heuristics") else "distilled"
    return None


@cache
def measured() -> dict[str, Any]:
    if not MEASURED_FILE.is_file():
        return {"scores": {}}
    data: dict[str, Any] = orjson.loads(MEASURED_FILE.read_bytes())
    return data


def sampling_warning(config: StoredConfig) -> str | None:
    """One line when a quality score used for sampling measured below the best heuristic or was never measured;
    None when it measured at least as well, or is not a quality score."""
    if not is_quality_scorer(config.name):
        return None
    results = measured()
    key = key_of(config)
    found = results["scores"].get(key) if key is not None else None
    if found is None:
        return (f"{config.name} config {config.config_hash} was never evaluated on held-out real text; measure it "
                "on labelled data with benchmarks/quality_scoring.py --data FILE")
    baseline = found["baseline"]  # the best heuristic on the same examples
    if found["auc"] < baseline["auc"]:
        low, high = found["ci95"]
        return (f"{config.name} config {config.config_hash} ({found['name']}) measured ROC-AUC {found['auc']:.2f} "
                f"(95% CI {low:.2f}-{high:.2f}) on held-out real text, below the {baseline['name']} heuristic's "
                f"{baseline['auc']:.2f}; the default `score ask-llm` student measured "
                f"{results['scores'].get('ask-llm:student', {}).get('auc', float('nan')):.2f}")
    return None
