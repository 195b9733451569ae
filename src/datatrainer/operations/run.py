"""`run_operation`: look an operation up, check its inputs and parameters, and run it on an engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from datatrainer.engine.base import Engine
from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.operations.base import OperationContext
from datatrainer.operations.registry import get_operation
from datatrainer.params import validate_params
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace


def run_operation(
    workspace: Workspace,
    name: str,
    inputs: Sequence[DatasetVersion],
    params: dict[str, Any],
    output_name: str | None = None,
    engine: Engine | None = None,
) -> DatasetVersion:
    """Validate everything before any work starts (inputs count, parameters), then run."""
    operation = get_operation(name)
    if not operation.min_inputs <= len(inputs) <= operation.max_inputs:
        raise DatatrainerError(
            f"operation {name!r} takes {operation.min_inputs}..{operation.max_inputs} input versions, "
            f"got {len(inputs)}"
        )
    parsed = validate_params(operation.params_model, params, f"operation {name!r}")
    ctx = OperationContext(
        workspace=workspace,
        engine=engine or LocalEngine(),
        output_name=output_name or operation.default_output_name(inputs, parsed),
    )
    return operation.run(ctx, inputs, parsed)
