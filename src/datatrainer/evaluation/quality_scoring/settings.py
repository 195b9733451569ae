"""The benchmark's frozen settings: one JSON file, written before any test score is computed.

Every prompt, feature set and hyper-parameter the benchmark evaluates is named in this file. The data file the
builder writes records the settings' SHA-256 and the time it was built; evaluating data built under other
settings, or built before the settings were frozen, is refused. Changing a setting after seeing results
therefore means building the data again and saying so, never quietly re-running the test column.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from datatrainer.errors import InputError
from datatrainer.evaluation.quality_scoring.builder import BuildParams
from datatrainer.evaluation.quality_scoring.fewshot import FewShotSettings


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "smollm2"
    max_doc_tokens: int = 512
    prompts: tuple[str, ...] = ("paper", "fewshot")
    perplexity_max_tokens: int = 512


class NgramSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ngram_range: tuple[int, int] = (1, 2)
    n_features: int = 2 ** 18
    C: float = 1.0


class StudentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    C: float = 1.0


class DistilledSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quantile: float = 0.2
    rounds: int = 1
    alpha: float = 1.0


class BootstrapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    draws: int = Field(1000, ge=10)
    seed: int = 0


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    frozen_at: datetime
    why: str = ""
    build: BuildParams = BuildParams()
    dev_build: BuildParams | None = Field(None, description="a development build whose source documents the "
                                                            "test build leaves out")
    exclude_builds: tuple[BuildParams, ...] = Field((), description="earlier test builds whose source documents "
                                                                    "the test build leaves out too")
    train_on_dev: bool = Field(False, description="fitted scorers also learn from the development build's "
                                                  "windows of the families they are not tested on")
    default_scorer: str = Field("n-gram classifier (DCLM-style)", description="the row shipped as the default "
                                "quality score, chosen on the development build (quality_scoring.py --dev)")
    llm: LLMSettings = LLMSettings()
    ngram: NgramSettings = NgramSettings()
    student: StudentSettings = StudentSettings()
    distilled: DistilledSettings = DistilledSettings()
    bootstrap: BootstrapSettings = BootstrapSettings()


def load_settings(path: Path) -> tuple[Settings, str]:
    """The settings and the SHA-256 of the file's bytes."""
    return _load(path, Settings)


Model = TypeVar("Model", bound=BaseModel)


def _load(path: Path, kind: type[Model]) -> tuple[Model, str]:
    try:
        raw = path.read_bytes()
        settings = kind.model_validate(orjson.loads(raw))
    except OSError as error:
        raise InputError(str(path), f"cannot read the settings file ({error.strerror})") from None
    except orjson.JSONDecodeError as error:
        raise InputError(str(path), f"not JSON ({error})") from None
    except ValidationError as error:
        first = error.errors()[0]
        raise InputError(str(path), f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    return settings, hashlib.sha256(raw).hexdigest()


def check_frozen(header: dict[str, object], settings: Settings, digest: str, data: Path) -> None:
    """Refuse data built under other settings, or before the settings were frozen."""
    if header.get("settings_sha256") != digest:
        recorded = str(header.get("settings_sha256"))[:12]
        raise InputError(str(data), f"built under other settings (sha256 {recorded}, now {digest[:12]}): settings "
                                    "changed after the test data was built; build it again (--rebuild) and report "
                                    "the change")
    built = datetime.fromisoformat(str(header.get("built_at")))
    if built < settings.frozen_at:
        raise InputError(str(data), f"built at {built.isoformat()}, before the settings were frozen "
                                    f"({settings.frozen_at.isoformat()})")


class ScalingModel(BaseModel):
    """One proxy model of the scaling table: a name `load_language_model` understands, and what it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    params: str = Field(description="parameter count, as the model card gives it")
    weights: str = Field(description="quantisation and provenance, for the table")
    prompts: tuple[str, ...] = ("paper", "fewshot")


class ScalingSettings(BaseModel):
    """An addendum to the frozen settings: rows added later, frozen on their own before their test scores.

    It names the SHA-256 of the settings file it extends; the data is still checked against that file alone
    (its build is unchanged), and this file's own SHA-256 is recorded with its results."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frozen_at: datetime
    why: str = ""
    extends_sha256: str = Field(description="SHA-256 of the settings file whose data these rows are scored on")
    backend: str = "xllamacpp"
    top_logprobs: int = 1000
    max_doc_tokens: int = 512
    every: int = Field(1, ge=1, description="rows on every Nth example of the test build (cost)")
    fewshot: FewShotSettings
    models: tuple[ScalingModel, ...]
    rows: str = Field("", description="which rows each model gets")
    combination: str = Field("student: heuristic signals + n-grams + the model's log P(yes), log P(no) under "
                             "every prompt", description="what the combination row is")


def load_scaling(path: Path, base_digest: str) -> tuple[ScalingSettings, str]:
    """The addendum and its own SHA-256; refused if it extends other settings than `base_digest`."""
    scaling, digest = _load(path, ScalingSettings)
    if scaling.extends_sha256 != base_digest:
        raise InputError(str(path), f"extends settings {scaling.extends_sha256[:12]}, but the settings file is "
                                    f"{base_digest[:12]}")
    return scaling, digest
