"""Operations: named, parameterised steps from input versions to a new version.

An operation is registered once by name (`operations.registry`: built-ins, `datatrainer.operations` entry
points, run-time registrations), so the CLI, the Python API, the server and the engines all run the same
code. Parameters are Pydantic models, validated before any work starts; the output version records the
operation's name, its parameters and its parents, which is the lineage `datasets show` prints. The
algorithms live in `io`, `quality` and `sampling`, which never import this package; the modules here adapt
them to the protocol.
"""

from datatrainer.operations.base import BatchOperation, Filtered, Operation, OperationContext, dropped_summary
from datatrainer.operations.registry import get_operation, operation_names, register
from datatrainer.operations.run import run_operation
from datatrainer.operations.staged import Decision, StagedOperation

__all__ = [
    "BatchOperation",
    "Decision",
    "Filtered",
    "Operation",
    "OperationContext",
    "StagedOperation",
    "dropped_summary",
    "get_operation",
    "operation_names",
    "register",
    "run_operation",
]
