"""`datatrainer datasets delete REF`: remove a dataset (`name`) or one version (`name@N`) for good.

What depends on the target (versions derived from it, annotation projects built on it, models trained on it)
would be left pointing at nothing, so deletion refuses while anything does, naming it, unless
`with_descendants` asks to delete those too. The catalog rows go in one transaction with their audit entry
(and, in an encrypted workspace, the versions' data keys: crypto-shredding); the folders are deleted after
it commits, so a crash in between leaves only unnamed folders, which `datatrainer gc` removes.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.compliance.annotations import delete_projects, projects_on
from datatrainer.compliance.erasure import erasure_lock, refuse_running_jobs
from datatrainer.compliance.lineage import Lineage
from datatrainer.compliance.models import ExportRow
from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.security.audit import current_actor
from datatrainer.store.models import DatasetRow, VersionMetricsRow, VersionParentRow, VersionRow
from datatrainer.store.writer import VERSIONS_DIR
from datatrainer.training.registry import ModelRow

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

_VERSION_REF = re.compile(r"^(?P<name>[^@]+)@(?P<number>\d+)$")


@dataclass(frozen=True)
class Deleted:
    versions: list[str]
    projects: list[str]
    models: list[str]


def _targets(ws: Workspace, ref: str) -> list[int]:
    exact = _VERSION_REF.match(ref.strip())
    if exact is not None:
        return [ws.version(ref).info.id]
    if "@" in ref:
        raise NotFoundError(f"invalid reference {ref!r}: delete NAME (every version) or NAME@N (one version)")
    return [version.info.id for version in ws.datasets.versions(ref.strip())]


def delete_dataset(ws: Workspace, ref: str, with_descendants: bool = False) -> Deleted:
    with erasure_lock(ws):
        refuse_running_jobs(ws)
        targets = set(_targets(ws, ref))
        sessions = sessionmaker(ws.catalog.engine)
        with sessions() as session:
            lineage = Lineage(session)
            doomed = lineage.descendants(targets)
            refs = _refs(session, doomed)
            projects = projects_on(session, doomed)
            models = list(session.execute(select(ModelRow.name, ModelRow.storage_key)
                                          .where(ModelRow.version_id.in_(sorted(doomed)))))
        derived = sorted(refs[i] for i in doomed - targets)
        if not with_descendants and (derived or projects or models):
            used = [*(f"version {r}" for r in derived), *(f"annotation project {n}" for _, n in projects),
                    *(f"model {name}" for name, _ in models)]
            raise DatatrainerError(f"{ref} is used by {', '.join(used)}; delete those first, or pass "
                                   f"--with-descendants to delete them too")
        keys = _delete_rows(ws, doomed, [pid for pid, _ in projects], refs)
        for key in keys:
            ws.data.delete(ws.data.path(VERSIONS_DIR, key))
        for _, folder in models:
            shutil.rmtree(ws.models.root / folder, ignore_errors=True)
        return Deleted(sorted(refs.values()), [name for _, name in projects], [name for name, _ in models])


def _refs(session: Session, version_ids: set[int]) -> dict[int, str]:
    query = (select(VersionRow.id, DatasetRow.name, VersionRow.number).join(DatasetRow)
             .where(VersionRow.id.in_(sorted(version_ids))))
    return {int(i): f"{name}@{number}" for i, name, number in session.execute(query)}


def _delete_rows(ws: Workspace, versions: set[int], projects: list[int], refs: dict[int, str]) -> list[str]:
    """Every catalog row of the doomed versions, in one transaction with the audit entry; returns the storage
    keys whose folders are to go."""
    ids = sorted(versions)
    with ws.audit.transaction() as session:
        keys = list(session.scalars(select(VersionRow.storage_key).where(VersionRow.id.in_(ids))))
        datasets = set(session.scalars(select(VersionRow.dataset_id).where(VersionRow.id.in_(ids))))
        delete_projects(session, projects)
        models = list(session.scalars(select(ModelRow.name).where(ModelRow.version_id.in_(ids))))
        session.execute(delete(ModelRow).where(ModelRow.version_id.in_(ids)))
        for model, column in ((ExportRow, ExportRow.version_id), (VersionMetricsRow, VersionMetricsRow.version_id),
                              (VersionParentRow, VersionParentRow.child_id)):
            session.execute(delete(model).where(column.in_(ids)))
        session.execute(delete(VersionRow).where(VersionRow.id.in_(ids)))
        for dataset_id in datasets:
            if session.scalar(select(VersionRow.id).where(VersionRow.dataset_id == dataset_id).limit(1)) is None:
                session.execute(delete(DatasetRow).where(DatasetRow.id == dataset_id))
        ws.keys.forget(session, keys)
        ws.audit.append(session, actor=current_actor(), action="dataset.delete", entity="dataset",
                        entity_id=sorted(refs.values())[0] if refs else "",
                        after={"versions": sorted(refs.values()), "projects": len(projects), "models": models,
                               "storage_keys": keys})
    return keys
