"""datatrainer: a workbench for preparing LLM training data.

The Python API is the primary interface; the CLI and the server are thin layers over it::

    import datatrainer as dt
    ws = dt.Workspace.init("my-ws")
    v1 = ws.ingest("data.jsonl", name="web")
    ws.export(v1, "out/", format="hf")
"""

from datatrainer._version import __version__
from datatrainer.errors import DatatrainerError, InputError, NotFoundError, WorkspaceError
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

__all__ = [
    "DatasetVersion",
    "DatatrainerError",
    "InputError",
    "NotFoundError",
    "Workspace",
    "WorkspaceError",
    "__version__",
]
