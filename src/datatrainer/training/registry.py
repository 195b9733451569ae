"""The model registry: which models were trained here, on what, how, and how they evaluate.

A model is published like a dataset version: its folder is written completely under `tmp/`, renamed into
`models/<storage key>/`, and only then recorded in the catalog in one transaction. Until that row commits no
reader sees the model, so an interrupted run never leaves a half-written model behind a name.

Evaluations are keyed by model *name* (a registered model, a Hugging Face folder or a bundled alias), so models
trained elsewhere are compared on the same footing.
"""

from __future__ import annotations

import builtins
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.scoring.configs import config_hash
from datatrainer.store.catalog import validate_dataset_name
from datatrainer.store.models import Base

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

MODELS_DIR = "models"


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    base_model: Mapped[str] = mapped_column(String(500))
    method: Mapped[str] = mapped_column(String(20))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    dataset_ref: Mapped[str] = mapped_column(String(220))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_hash: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    history: Mapped[builtins.list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelEvaluationRow(Base):
    __tablename__ = "model_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(500), index=True)
    suite: Mapped[str] = mapped_column(String(100))
    dataset_ref: Mapped[str | None] = mapped_column(String(220), nullable=True)
    config_hash: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class TrainedModel:
    """A registered model and its lineage. `path` is the folder transformers (or peft, for LoRA) loads."""

    name: str
    path: Path
    base_model: str
    method: str
    dataset_ref: str
    config: dict[str, Any]
    config_hash: str
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class EvaluationRecord:
    id: int
    model_name: str
    suite: str
    dataset_ref: str | None
    config_hash: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    created_at: datetime


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ModelRegistry:
    """`ws.models`: register, find and list trained models; record and read evaluations."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self.root = ws.root / MODELS_DIR
        self._sessions = sessionmaker(ws.catalog.engine, expire_on_commit=False)

    # --- reads -------------------------------------------------------------------------------------------

    def get(self, name: str) -> TrainedModel:
        with self._sessions() as session:
            row = session.scalar(select(ModelRow).where(ModelRow.name == name))
            if row is None:
                raise NotFoundError(f"no model named {name!r} (see `datatrainer models list`)")
            return self._info(row)

    def find(self, name: str) -> TrainedModel | None:
        """The model of that name, or None (for callers that accept other kinds of model reference)."""
        try:
            return self.get(name)
        except NotFoundError:
            return None

    def list(self) -> list[TrainedModel]:
        with self._sessions() as session:
            return [self._info(row) for row in session.scalars(select(ModelRow).order_by(ModelRow.created_at,
                                                                                         ModelRow.id))]

    def path(self, name: str) -> Path:
        return self.get(name).path

    def evaluations(self, model: str | None = None) -> builtins.list[EvaluationRecord]:
        """Stored evaluations, oldest first; of one model when `model` is given."""
        query = select(ModelEvaluationRow).order_by(ModelEvaluationRow.created_at, ModelEvaluationRow.id)
        if model is not None:
            query = query.where(ModelEvaluationRow.model_name == model)
        with self._sessions() as session:
            return [EvaluationRecord(row.id, row.model_name, row.suite, row.dataset_ref, row.config_hash,
                                     dict(row.config), dict(row.metrics), _utc(row.created_at))
                    for row in session.scalars(query)]

    # --- writes ------------------------------------------------------------------------------------------

    def record_evaluation(self, model: str, suite: str, metrics: dict[str, Any], dataset_ref: str | None = None,
                          config: dict[str, Any] | None = None) -> None:
        """Store one evaluation result (every run is kept: the history of a model's scores is the point)."""
        settings = dict(config or {})
        with self._sessions.begin() as session:
            session.add(ModelEvaluationRow(model_name=model, suite=suite, dataset_ref=dataset_ref,
                                           config_hash=config_hash({"suite": suite, **settings}), config=settings,
                                           metrics=dict(metrics), created_at=datetime.now(UTC)))

    def new_folder(self) -> tuple[str, Path]:
        """A fresh storage key and its private temporary folder to write a model into."""
        key = uuid.uuid4().hex
        folder = self._ws.root / "tmp" / f"model-{key}"
        folder.mkdir(parents=True)
        return key, folder

    def orphan_folders(self, cutoff: float) -> builtins.list[Path]:
        """Model folders last touched before `cutoff` that no registry row names: a crash between the rename
        into `models/` and the commit leaves one (`Workspace.collect_garbage` removes them)."""
        if not self.root.is_dir():
            return []
        candidates = [path for path in self.root.iterdir() if path.stat().st_mtime <= cutoff]
        with self._sessions() as session:  # read after listing: a model published meanwhile is known
            known = set(session.scalars(select(ModelRow.storage_key)))
        return [path for path in candidates if path.name not in known]

    def publish(self, folder: Path, key: str, *, name: str, base_model: str, method: str, dataset_ref: str,
                config: dict[str, Any], config_hash: str, metrics: dict[str, Any],
                history: builtins.list[dict[str, Any]]) -> TrainedModel:
        """Move a completely written model folder into `models/` and record it in one transaction."""
        validate_model_name(name)
        version = self._ws.catalog.resolve(dataset_ref)
        self.root.mkdir(exist_ok=True)
        final = self.root / key
        _sync_tree(folder)  # the files are on disk before any reader can find them by name
        folder.rename(final)
        try:
            with self._sessions.begin() as session:
                row = ModelRow(name=name, storage_key=key, base_model=base_model, method=method,
                               version_id=version.id, dataset_ref=version.ref, config=config,
                               config_hash=config_hash, metrics=metrics, history=history,
                               created_at=datetime.now(UTC))
                session.add(row)
                session.flush()
                return self._info(row)
        except IntegrityError:
            shutil.rmtree(final, ignore_errors=True)
            raise DatatrainerError(f"a model named {name!r} already exists: choose another --out") from None
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise

    def _info(self, row: ModelRow) -> TrainedModel:
        return TrainedModel(name=row.name, path=self.root / row.storage_key, base_model=row.base_model,
                            method=row.method, dataset_ref=row.dataset_ref, config=dict(row.config),
                            config_hash=row.config_hash, metrics=dict(row.metrics), history=list(row.history),
                            created_at=_utc(row.created_at))


def _sync_tree(folder: Path) -> None:
    for path in [*sorted(folder.rglob("*"), reverse=True), folder]:  # files before the folders holding them
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def validate_model_name(name: str) -> str:
    """Model names follow dataset names' rules: they appear in commands and reports."""
    try:
        return validate_dataset_name(name)
    except DatatrainerError:
        raise DatatrainerError(f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' "
                               "(at most 200 characters)") from None
