"""Validation of parameter models with one-line errors that name the offending parameter."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from datatrainer.errors import DatatrainerError

M = TypeVar("M", bound=BaseModel)


def validate_params(model: type[M], data: dict[str, Any], what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "parameters"
        raise DatatrainerError(f"{what}: {field.replace('_', '-')}: {first['msg']}") from None
