"""Write a version and die by SIGKILL at one point of its commit (run by test_commit_crash.py as a process).

`after-rename`: the version folder has been renamed into `versions/`, the catalog transaction has not begun.
`in-transaction`: the catalog row is inserted but its transaction never commits.
"""

from __future__ import annotations

import os
import signal
import sys

import pyarrow as pa

from datatrainer.store.catalog import Catalog
from datatrainer.workspace import Workspace


def die(*_: object, **__: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(root: str, db_url: str, mode: str) -> None:
    ws = Workspace.open(root, db_url or None)
    if mode == "after-rename":
        Catalog.add_version = die  # type: ignore[method-assign]  # the crash point, not a stand-in
    with ws.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a", "b"], "text": ["first", "second"]}))
        writer.commit(dataset="crash", operation="test", params={},
                      also_record=die if mode == "in-transaction" else None)


if __name__ == "__main__":
    main(*sys.argv[1:4])
