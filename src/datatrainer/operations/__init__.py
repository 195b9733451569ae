"""Operations: named, parameterised steps from input versions to a new version.

An operation is registered once by name, so the CLI, the Python API, the server and (later) a Ray job all run
the same code. Parameters are Pydantic models, validated before any work starts; the output version records
the operation's name, its parameters and its parents, which is the lineage `datasets show` prints.
"""

from datatrainer.operations.base import (
    BatchOperation,
    Filtered,
    Operation,
    OperationContext,
    get_operation,
    operation_names,
    register,
    run_operation,
)

__all__ = [
    "BatchOperation",
    "Filtered",
    "Operation",
    "OperationContext",
    "get_operation",
    "operation_names",
    "register",
    "run_operation",
]
