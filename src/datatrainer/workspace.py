"""`Workspace`: the root object. A directory holding the catalog database and every version's data."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datatrainer._version import __version__
from datatrainer.config import CONFIG_FILE, catalog_url, default_workspace_root
from datatrainer.errors import WorkspaceError
from datatrainer.store.catalog import Catalog
from datatrainer.store.collection import DatasetCollection
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.annotation.service import AnnotationService
    from datatrainer.engine.local import LocalEngine
    from datatrainer.io.ingest import IngestOptions
    from datatrainer.scoring import EmbeddingStore, ScoreStore
    from datatrainer.security.audit import AuditLog

CODE_VERSION = f"datatrainer {__version__}"
_DEFAULT_CONFIG = """\
# datatrainer workspace settings. Environment variables DATATRAINER_* and CLI flags take precedence.
[catalog]
# url = "postgresql+psycopg://user@host:5432/db"   # default: the SQLite file catalog.db in this folder
"""


class Workspace:
    """Everything is reached from here: `ws.datasets`, `ws.ingest(...)`, `ws.apply(...)`, `ws.export(...)`."""

    def __init__(self, root: Path, db_url: str | None = None) -> None:
        self.root = root
        self.catalog = Catalog(catalog_url(root, db_url))
        self.datasets = DatasetCollection(self.catalog, root, CODE_VERSION)

    @classmethod
    def init(cls, path: str | Path | None = None, db_url: str | None = None) -> Workspace:
        """Create (or re-open) a workspace folder; idempotent, so running it twice is harmless."""
        root = Path(path).resolve() if path is not None else default_workspace_root()
        try:
            for sub in ("versions", "tmp"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            config = root / CONFIG_FILE
            if not config.exists():
                config.write_text(_DEFAULT_CONFIG)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace at {root}: {exc.strerror or exc}") from exc
        return cls(root, db_url)

    @classmethod
    def open(cls, path: str | Path | None = None, db_url: str | None = None) -> Workspace:
        root = Path(path).resolve() if path is not None else default_workspace_root()
        if not (root / CONFIG_FILE).is_file():
            raise WorkspaceError(f"{root} is not a datatrainer workspace (run `datatrainer init {root}` first)")
        return cls(root, db_url)

    def close(self) -> None:
        if "audit" in self.__dict__:
            self.audit.writers.close()
        self.catalog.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @cached_property
    def scores(self) -> ScoreStore:
        """Per-record scores cached by (content hash, scorer config hash)."""
        from datatrainer.scoring import ScoreStore

        return ScoreStore(self)

    @cached_property
    def embeddings(self) -> EmbeddingStore:
        """Sentence embeddings cached by (content hash, model config)."""
        from datatrainer.scoring import EmbeddingStore

        return EmbeddingStore(self)

    @cached_property
    def audit(self) -> AuditLog:
        """The workspace's append-only, hash-chained audit log (in the catalog database)."""
        from datatrainer.security.audit import AuditLog

        return AuditLog(self.catalog.engine)

    @cached_property
    def annotation(self) -> AnnotationService:
        """Users, annotation projects, task queues, review and export."""
        from datatrainer.annotation.service import AnnotationService

        return AnnotationService(self)

    def version(self, ref: str | DatasetVersion) -> DatasetVersion:
        return self.datasets.get(ref)

    def ingest(self, path: str | Path, name: str, options: IngestOptions | None = None,
               engine: LocalEngine | None = None) -> DatasetVersion:
        """Read a file or folder into a new version of dataset `name` (see `datatrainer.io.ingest`)."""
        from datatrainer.io.ingest import IngestOptions, ingest

        return ingest(self, Path(path), name, options or IngestOptions(), engine)

    def apply(self, operation: str, inputs: Sequence[str | DatasetVersion], params: dict[str, Any],
              name: str | None = None, engine: LocalEngine | None = None) -> DatasetVersion:
        """Run a registered operation on input versions and return the version it writes."""
        from datatrainer.operations import run_operation

        return run_operation(self, operation, [self.version(ref) for ref in inputs], params, name, engine)

    def export(self, ref: str | DatasetVersion, out: str | Path, format: str = "hf",
               engine: LocalEngine | None = None, overwrite: bool = False) -> Path:
        """Write a version for training code, with a dataset card (see `datatrainer.io.export`)."""
        from datatrainer.io.export import export_version

        return export_version(self, self.version(ref), Path(out), format, engine, overwrite)

    def collect_garbage(self, min_age: float = 3600.0) -> list[Path]:
        """Remove leftovers of interrupted writes: temp folders and files (a score or embedding shard killed
        mid-write leaves a single file) and version folders no catalog entry points at.

        Only folders untouched for `min_age` seconds go, so a write in progress in another process (whose
        temp folder changes as parts land, and whose published folder is recorded in the catalog
        milliseconds after its rename) is never disturbed.
        """
        cutoff = time.time() - min_age
        stale_tmp = [p for p in (self.root / "tmp").iterdir() if p.stat().st_mtime <= cutoff]
        candidates = [p for p in (self.root / "versions").iterdir() if p.stat().st_mtime <= cutoff]
        known = self.catalog.storage_keys()  # read after listing: a version published meanwhile is known
        removed = stale_tmp + [folder for folder in candidates if folder.name not in known]
        for path in removed:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return removed
