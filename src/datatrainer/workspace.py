"""`Workspace`: the root object. A directory holding the catalog database and every version's data."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from datatrainer._version import __version__
from datatrainer.config import CONFIG_FILE, catalog_url, data_url, default_workspace_root, read_workspace_config
from datatrainer.errors import WorkspaceError
from datatrainer.security.keys_ring import KeyRing
from datatrainer.store.catalog import Catalog
from datatrainer.store.collection import DatasetCollection
from datatrainer.store.location import DataLocation, is_remote
from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import VERSIONS_DIR

if TYPE_CHECKING:
    from datatrainer.annotation.service import AnnotationService
    from datatrainer.api.curation import ReportFiles
    from datatrainer.api.scoring import Scored
    from datatrainer.engine.base import Engine
    from datatrainer.evaluation.runner import EvalRun
    from datatrainer.io.ingest import IngestOptions
    from datatrainer.jobs import JobService
    from datatrainer.scoring import EmbeddingStore, ScoreStore
    from datatrainer.security.audit import AuditLog
    from datatrainer.training.registry import ModelRegistry
    from datatrainer.training.run import TrainResult

CODE_VERSION = f"datatrainer {__version__}"
_DEFAULT_CONFIG = """\
# datatrainer workspace settings. Environment variables DATATRAINER_* and CLI flags take precedence.
[catalog]
{catalog}
[storage]
{storage}
"""
_NO_CATALOG = '# url = "postgresql+psycopg://user@host:5432/db"   # default: the SQLite file catalog.db in this folder'
_NO_STORAGE = ('# data_url = "s3://bucket/prefix"   # default: this folder; credentials come from the AWS_* '
               'variables, never from here')


class Workspace:
    """Everything is reached from here: `ws.datasets`, `ws.ingest(...)`, `ws.apply(...)`, `ws.export(...)`."""

    def __init__(self, root: Path, db_url: str | None = None, data: str | None = None) -> None:
        self.root = root
        self.data = DataLocation(data_url(root, data))
        self.data.check()
        self.catalog = Catalog(catalog_url(root, db_url), {"audit_key": self._new_audit_key})
        self.keys = KeyRing(self.catalog.engine, str(root))  # encryption keys; idle until encrypted
        self.datasets = DatasetCollection(self.catalog, self.data, self._staging_dir, CODE_VERSION, self.keys)

    @property
    def _staging_dir(self) -> Path:
        """Where local versions are written before their rename (beside `versions/`, so the rename is
        atomic); also the scratch folder for object-storage workspaces."""
        return Path(self.data.path("tmp")) if self.data.is_local else self.root / "tmp"

    @classmethod
    def init(cls, path: str | Path | None = None, db_url: str | None = None,
             data_url: str | None = None) -> Workspace:
        """Create (or re-open) a workspace folder; idempotent, so running it twice is harmless.

        The folder always holds the settings (and the SQLite catalog unless `db_url` names another). With
        `data_url` (e.g. `s3://bucket/prefix`) the data lives there instead, shareable by a cluster: both
        URLs are written to the settings file, a catalog URL only without its password (give that through
        `DATATRAINER_DB_URL` or `PGPASSWORD`), object-storage credentials never.
        """
        root = Path(path).resolve() if path is not None else default_workspace_root()
        config = root / CONFIG_FILE
        if config.exists() and data_url is not None:
            stored = read_workspace_config(root).get("storage", {}).get("data_url")
            if (stored or str(root)) != data_url:
                raise WorkspaceError(f"{root} already keeps its data at {stored or root}, not {data_url}")
        if data_url is not None:
            DataLocation(data_url).check()  # before anything is created: a typo leaves no half workspace
        try:
            folders = [root] if data_url is None or is_remote(data_url) else [root, Path(data_url).resolve()]
            for folder in folders:
                for sub in ("versions", "tmp"):
                    (folder / sub).mkdir(parents=True, exist_ok=True)
            if not config.exists():
                config.write_text(_settings(db_url, data_url))
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace at {root}: {exc.strerror or exc}") from exc
        return cls(root, db_url, data_url)

    @classmethod
    def open(cls, path: str | Path | None = None, db_url: str | None = None,
             data_url: str | None = None) -> Workspace:
        root = Path(path).resolve() if path is not None else default_workspace_root()
        if not (root / CONFIG_FILE).is_file():
            raise WorkspaceError(f"{root} is not a datatrainer workspace (run `datatrainer init {root}` first)")
        return cls(root, db_url, data_url)

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
        """The workspace's append-only audit log (in the catalog database), chained with a key kept outside it."""
        from datatrainer.security.audit import AuditLog

        return AuditLog(self.catalog.engine, self._audit_key)

    def _audit_key(self) -> bytes:
        """The chain key; a missing key is created only while the log is empty (else nothing could verify)."""
        from datatrainer.security.audit_key import load_chain_key

        return load_chain_key(self.root, create=self.audit.is_empty())

    def _new_audit_key(self) -> bytes:
        """For the migration that keys an existing log: the key is created if this workspace has none yet."""
        from datatrainer.security.audit_key import load_chain_key

        return load_chain_key(self.root)

    @cached_property
    def annotation(self) -> AnnotationService:
        """Users, annotation projects, task queues, review and export."""
        from datatrainer.annotation.service import AnnotationService

        return AnnotationService(self)

    @cached_property
    def models(self) -> ModelRegistry:
        """Trained models with their lineage (dataset version, base model, config) and evaluations."""
        from datatrainer.training.registry import ModelRegistry

        return ModelRegistry(self)

    @cached_property
    def jobs(self) -> JobService:
        """Long-running jobs (embed, score, train, ...): list, show, stop and resume them."""
        from datatrainer.jobs import JobService

        return JobService(self)

    def version(self, ref: str | DatasetVersion) -> DatasetVersion:
        return self.datasets.get(ref)

    def ingest(self, path: str | Path, name: str, options: IngestOptions | None = None,
               engine: Engine | None = None) -> DatasetVersion:
        """Read a file or folder into a new version of dataset `name` (see `datatrainer.io.ingest`)."""
        from datatrainer.io.ingest import IngestOptions, ingest

        return ingest(self, path, name, options or IngestOptions(), engine)

    def apply(self, operation: str, inputs: Sequence[str | DatasetVersion], params: dict[str, Any],
              name: str | None = None, engine: Engine | None = None) -> DatasetVersion:
        """Run a registered operation on input versions and return the version it writes."""
        from datatrainer.operations import run_operation

        return run_operation(self, operation, [self.version(ref) for ref in inputs], params, name, engine)

    def export(self, ref: str | DatasetVersion, out: str | Path, format: str = "hf",
               engine: Engine | None = None, overwrite: bool = False, decrypt: bool = False) -> Path:
        """Write a version for training code, with a dataset card (see `datatrainer.io.export`); from an
        encrypted workspace only with `decrypt=True` (audited)."""
        from datatrainer.compliance.exports import record_export
        from datatrainer.io.export import export_version

        version = self.version(ref)
        path = export_version(self, version, Path(out), format, engine, overwrite, decrypt)
        record_export(self.catalog.engine, version.info.id, path, format)  # erasure must reach it too
        return path

    # --- one call per command (the CLI calls these too; `datatrainer.api.twins` maps commands to them) ----------

    def embed(self, ref: str | DatasetVersion, model: str = "minilm", backend: str = "st",
              **options: Any) -> Scored:
        """Embed every record not embedded yet with this model (`datatrainer embed`)."""
        from datatrainer.api.scoring import embed

        return embed(self, ref, model, backend, **options)

    def score(self, scorer: str, ref: str | DatasetVersion, **options: Any) -> Scored:
        """Score every record: `ws.score("ask-llm", "web@2", model="smollm2")`; also "perplexity", "density",
        "distilled" (`datatrainer score SCORER`). Only texts without a stored score are computed."""
        from datatrainer.api.scoring import score

        return score(self, scorer, ref, **options)

    def sample(self, ref: str | DatasetVersion, by: str, budget: str | int | float,
               **options: Any) -> DatasetVersion:
        """A budgeted sample as a new version: `ws.sample(v, by="density", budget="20%")` (`datatrainer sample`)."""
        from datatrainer.api.curation import sample

        return sample(self, ref, by, budget, **options)

    def dedup(self, ref: str | DatasetVersion, method: str = "minhash", **options: Any) -> DatasetVersion:
        """Exact or near-duplicates removed, as a new version (`datatrainer dedup`)."""
        from datatrainer.api.curation import dedup

        return dedup(self, ref, method, **options)

    def filter(self, ref: str | DatasetVersion, where: str, **options: Any) -> DatasetVersion:
        """The records matching a SQL condition, as a new version (`datatrainer filter`)."""
        from datatrainer.api.curation import filter as filter_version

        return filter_version(self, ref, where, **options)

    def quality_report(self, ref: str | DatasetVersion, **options: Any) -> ReportFiles:
        """Measure a version and write its HTML quality report and JSON (`datatrainer quality report`)."""
        from datatrainer.api.curation import quality_report

        return quality_report(self, ref, **options)

    def train(self, ref: str | DatasetVersion, model: str, out: str, **config: Any) -> TrainResult:
        """Train a model on a version and register it as `out` (`datatrainer train`)."""
        from datatrainer.api.models import train

        return train(self, ref, model, out, **config)

    def evaluate(self, model: str, suite: str, data: str | None = None, **options: Any) -> EvalRun:
        """Evaluate a model with one suite; the metrics are stored with it (`datatrainer eval`)."""
        from datatrainer.api.models import evaluate

        return evaluate(self, model, suite, data, **options)

    def collect_garbage(self, min_age: float = 3600.0) -> list[PurePath]:
        """Remove leftovers of interrupted writes: temp folders and files (a score or embedding shard killed
        mid-write leaves a single file), version and model folders no catalog entry points at, on local disk and
        on object storage (where an unpublished version is a prefix of parts with no catalog row).

        Only leftovers untouched for `min_age` seconds go, so a write in progress in another process (whose
        staging folder changes as parts land, and whose version is recorded in the catalog milliseconds
        after its last part) is never disturbed.
        """
        cutoff = time.time() - min_age
        stale_tmp = [p for p in self._staging_dir.iterdir() if p.stat().st_mtime <= cutoff]
        candidates = self._version_folders(cutoff)
        known = self.catalog.storage_keys()  # read after listing: a version published meanwhile is known
        orphans = [folder for folder in candidates if folder.name not in known]
        for path in stale_tmp:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        companions = [*self._orphan_companions(cutoff), *self.models.orphan_folders(cutoff)]
        for folder in [*orphans, *companions]:
            if isinstance(folder, Path):
                shutil.rmtree(folder, ignore_errors=True) if folder.is_dir() else folder.unlink(missing_ok=True)
            else:
                self.data.delete(str(folder))
        return [*stale_tmp, *orphans, *companions]

    def _orphan_companions(self, cutoff: float) -> list[PurePath]:
        """On object storage, cache shards are uploaded companion first (`.npy`), index last: a run killed
        between the two leaves a companion no index names. (Locally those stay in `tmp/`.)"""
        if self.data.is_local:
            return []
        found: list[PurePath] = []
        for top in ("scores", "embeddings"):
            entries = [e for e in self.data.list(self.data.path(top), recursive=True) if e.is_file]
            indexed = {e.path[: -len(".parquet")] for e in entries if e.path.endswith(".parquet")}
            found += [PurePosixPath(e.path) for e in entries if e.path.endswith(".npy")
                      and e.path[: -len(".npy")] not in indexed and e.mtime is not None
                      and e.mtime.timestamp() <= cutoff]
        return found

    def _version_folders(self, cutoff: float) -> list[PurePath]:
        """Version folders last written before `cutoff`. A prefix on object storage has no time of its own:
        its newest object's counts, so a version still receiving parts is young."""
        versions = self.data.path(VERSIONS_DIR)
        if self.data.is_local:
            return [p for p in Path(versions).iterdir() if p.stat().st_mtime <= cutoff]
        newest: dict[str, float] = {}
        for entry in self.data.list(versions, recursive=True):
            if entry.is_file and entry.mtime is not None:
                key = entry.path[len(versions) + 1:].split("/", 1)[0]
                newest[key] = max(newest.get(key, 0.0), entry.mtime.timestamp())
        return [PurePosixPath(versions, key) for key, written in sorted(newest.items()) if written <= cutoff]


def _settings(db_url: str | None, data: str | None) -> str:
    """The settings file's text, holding the URLs given at `init` but no secret."""
    catalog = _NO_CATALOG
    if db_url is not None:
        parsed = make_url(db_url)
        if parsed.password is None:
            catalog = f"url = {json.dumps(db_url)}"
    storage = f"data_url = {json.dumps(data)}" if data is not None else _NO_STORAGE
    return _DEFAULT_CONFIG.format(catalog=catalog, storage=storage)
