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

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from datatrainer.errors import InputError
from datatrainer.evaluation.quality_scoring.builder import BuildParams


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
    llm: LLMSettings = LLMSettings()
    ngram: NgramSettings = NgramSettings()
    student: StudentSettings = StudentSettings()
    distilled: DistilledSettings = DistilledSettings()
    bootstrap: BootstrapSettings = BootstrapSettings()


def load_settings(path: Path) -> tuple[Settings, str]:
    """The settings and the SHA-256 of the file's bytes."""
    try:
        raw = path.read_bytes()
        settings = Settings.model_validate(orjson.loads(raw))
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
