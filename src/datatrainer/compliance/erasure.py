"""Right to erasure: remove records from every version holding them, and every copy the workspace made.

An erasure is planned once, then carried out in steps recorded in its journal (the `erasures` row):

1. plan     find the matching records in every version (sandboxed DuckDB), widen to the versions connected
            to them through lineage (the same record in ancestors and descendants, by id, or by content
            hash), and find the annotation tasks and audit payloads holding them; the plan (ids and hashes,
            never text) is committed as the journal;
2. versions rewrite each version without the records and swap the new folder in (`rewrite`); the journal
            marks each version done in the swapping transaction, so no version is ever half-rewritten;
3. stores   rewrite the score and embedding shards holding the erased content hashes (`caches`);
4. records  in one transaction: delete the annotation tasks (annotations, suggestions, reviews), append the
            erasure's audit entry and blank the payloads that held the records;
5. exports  re-export every recorded export of a rewritten version in place;
6. cleanup  delete the old version folders (and destroy their data keys: crypto-shredding when encrypted);
7. receipt  write the receipt, reduce the journal to hashes; then VACUUM, so no freed database page or WAL
            frame keeps the text.

Every step is idempotent, so a run killed anywhere is finished by the next `datatrainer erase`, which
resumes unfinished journals before anything else.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.compliance.annotations import contains_any, delete_tasks, needle, source_versions, tasks_to_erase
from datatrainer.compliance.caches import erase_hashes
from datatrainer.compliance.exports import exports_of
from datatrainer.compliance.lineage import Lineage
from datatrainer.compliance.models import ErasureRow
from datatrainer.compliance.rewrite import rewrite_version
from datatrainer.compliance.select import Matches, Selector, applies_to, match
from datatrainer.errors import DatatrainerError
from datatrainer.progress import progress_bar
from datatrainer.security.audit import ERASE_ACTION, current_actor
from datatrainer.store.models import DatasetRow, JobRow, VersionRow
from datatrainer.store.schema import CONTENT_HASH, ID
from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import VERSIONS_DIR
from datatrainer.training.registry import ModelRow

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

KILL_ENV = "DATATRAINER_ERASE_KILL_AT"  # crash injection for the tests: SIGKILL this process at that step
RECEIPTS_DIR = "erasures"
STEPS = ("versions", "stores", "records", "exports", "cleanup", "receipt", "vacuum")
_TOUCHED_TABLES = ("versions", "version_metrics", "annotation_tasks", "annotations", "annotation_suggestions",
                   "annotation_reviews", "annotation_assignments", "audit_payloads", "erasures")


@dataclass
class ErasureResult:
    erasure_id: int | None
    records: int = 0
    versions: list[tuple[str, int]] = field(default_factory=list)
    tasks: int = 0
    payloads: int = 0
    shards: int = 0
    exports: int = 0
    receipt: Path | None = None
    resumed: list[int] = field(default_factory=list)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _crash_point(step: str) -> None:
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def erasure_lock(ws: Workspace) -> Iterator[None]:
    """One erasure (or dataset deletion) at a time per workspace; a second one fails at once, clearly."""
    path = ws.root / ".erase.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatatrainerError(f"another erasure or deletion is running on {ws.root}; wait for it to finish "
                                   f"(if it was killed, the next `datatrainer erase` finishes it)") from None
        yield
    finally:
        os.close(fd)


def refuse_running_jobs(ws: Workspace) -> None:
    """A job still writing (running, or stopping at its next checkpoint) could publish a version derived from
    what is being erased: refuse until it ends."""
    with sessionmaker(ws.catalog.engine)() as session:
        rows = session.execute(select(JobRow.id, JobRow.kind).where(JobRow.state.in_(("running", "stopping")),
                                                                    JobRow.lease_expires > datetime.now(UTC))).all()
    if rows:
        names = ", ".join(f"{kind} (job {job_id})" for job_id, kind in rows)
        raise DatatrainerError(f"jobs are writing to this workspace: {names}; wait for them or stop them "
                               f"(`datatrainer jobs stop ID`), then erase")


def erase(ws: Workspace, selector: Selector | None, progress: bool = False) -> ErasureResult:
    """Finish any interrupted erasure, then carry out this one (None: only finish interrupted ones).
    `progress` shows a bar while versions are rewritten (the long part)."""
    with erasure_lock(ws):
        resumed = [_finish(ws, erasure_id, progress) for erasure_id in _unfinished(ws)]
        if selector is None:
            return ErasureResult(None, resumed=[r.erasure_id for r in resumed if r.erasure_id is not None])
        refuse_running_jobs(ws)
        journal = _plan(ws, selector)
        if journal is None:
            return ErasureResult(None, resumed=[r.erasure_id for r in resumed if r.erasure_id is not None])
        erasure_id = _start(ws, selector, journal)
        _crash_point("planned")
        result = _finish(ws, erasure_id, progress)
        result.resumed = [r.erasure_id for r in resumed if r.erasure_id is not None]
        return result


# --- plan ------------------------------------------------------------------------------------------------------

def _all_versions(ws: Workspace) -> list[DatasetVersion]:
    return [version for name in ws.datasets.names() for version in ws.datasets.versions(name)]


def _plan(ws: Workspace, selector: Selector) -> dict[str, Any] | None:
    versions = {version.info.id: version for version in _all_versions(ws)}
    applicable: list[DatasetVersion] = []
    reasons: list[str] = []
    for version in versions.values():
        reason = applies_to(selector, version)
        if reason is None:
            applicable.append(version)
        else:
            reasons.append(reason)
    if versions and not applicable and selector.where is not None:
        raise DatatrainerError(f"invalid --where predicate {selector.where!r}: it fits no version ({reasons[0]})")
    found, matched = Matches(), set()
    for version in applicable:
        hits = match(selector, version)
        if hits.ids:
            matched.add(version.info.id)
            found.update(hits)
    sessions = sessionmaker(ws.catalog.engine)
    with sessions() as session:
        family = Lineage(session).family(matched) & set(versions)
    plans: list[dict[str, Any]] = []
    hashes = set(found.hashes)
    for version_id in sorted(family):
        drop, dropped_hashes = _to_drop(versions[version_id], found)
        hashes |= dropped_hashes  # a derived version may hold the record under another text (e.g. redacted)
        if drop:
            plans.append({"id": version_id, "ref": versions[version_id].ref,
                          "old_key": versions[version_id].info.storage_key, "drop": sorted(drop),
                          "pending_key": None, "new_key": None, "done": False})
    record_ids = {record for plan in plans for record in plan["drop"]}
    needles = [needle(t) for t in found.texts] + ([needle(selector.value)] if selector.value is not None else [])
    with sessions() as session:
        tasks = tasks_to_erase(session, family, record_ids, needles)
        payloads = [seq for seq, entity, entity_id, before, after in ws.audit.iter_payloads(session)
                    if (entity == "task" and entity_id.isdigit() and int(entity_id) in tasks)
                    or contains_any([before, after], needles)]
        rewritten = {plan["id"] for plan in plans}
        exports = [e.id for e in exports_of(session, rewritten | source_versions(session, tasks))
                   if e.version_id in rewritten or e.project is not None]
    if not plans and not tasks and not payloads:
        return None
    return {"step": STEPS[0], "versions": plans, "hashes": sorted(hashes), "tasks": sorted(tasks),
            "payloads": payloads, "exports": exports, "shards": 0, "export_results": [], "audit_seq": None}


def _to_drop(version: DatasetVersion, found: Matches) -> tuple[set[str], set[str]]:
    """Ids of the version's records that are erased (by id, or by content: the same text under another id),
    and those records' content hashes."""
    ids = pa.array(sorted(found.ids), pa.string())
    hashes = pa.array(sorted(found.hashes), pa.string())
    has_hash = CONTENT_HASH in version.schema.names
    drop: set[str] = set()
    dropped_hashes: set[str] = set()
    for batch in version.read_batches([ID, CONTENT_HASH] if has_hash else [ID]):
        hit = pc.is_in(batch.column(ID), value_set=ids)
        if has_hash:
            hit = pc.or_(hit, pc.is_in(batch.column(CONTENT_HASH), value_set=hashes))
            dropped_hashes.update(h for h in batch.column(CONTENT_HASH).filter(pc.fill_null(hit, False)).to_pylist()
                                  if h is not None)
        drop.update(batch.column(ID).filter(pc.fill_null(hit, False)).to_pylist())
    return drop, dropped_hashes


# --- journal ---------------------------------------------------------------------------------------------------

def _start(ws: Workspace, selector: Selector, journal: dict[str, Any]) -> int:
    with sessionmaker(ws.catalog.engine).begin() as session:
        row = ErasureRow(actor=current_actor(), selector_sha256=selector.digest(), state="running", journal=journal,
                         created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        return int(row.id)


def _unfinished(ws: Workspace) -> list[int]:
    with sessionmaker(ws.catalog.engine)() as session:
        return list(session.scalars(select(ErasureRow.id).where(ErasureRow.state != "done").order_by(ErasureRow.id)))


def _save(session: Session, erasure_id: int, journal: dict[str, Any], state: str = "running") -> None:
    session.execute(update(ErasureRow).where(ErasureRow.id == erasure_id)
                    .values(journal=orjson.loads(orjson.dumps(journal)), state=state))


class _Journal:
    def __init__(self, ws: Workspace, erasure_id: int) -> None:
        self.ws, self.id = ws, erasure_id
        self.sessions = sessionmaker(ws.catalog.engine, expire_on_commit=False)
        with self.sessions() as session:
            row = session.get(ErasureRow, erasure_id)
            assert row is not None
            self.data: dict[str, Any] = dict(row.journal)
            self.actor, self.state, self.created = row.actor, row.state, row.created_at
            self.selector = row.selector_sha256
        self.progress = False

    def save(self, session: Session | None = None, state: str = "running") -> None:
        if session is not None:
            _save(session, self.id, self.data, state)
            return
        with self.sessions.begin() as own:
            _save(own, self.id, self.data, state)

    def advance(self, step: str, session: Session | None = None) -> None:
        self.data["step"] = step
        self.save(session)
        _crash_point(step)


# --- steps -----------------------------------------------------------------------------------------------------

def _finish(ws: Workspace, erasure_id: int, progress: bool = False) -> ErasureResult:
    journal = _Journal(ws, erasure_id)
    journal.progress = progress
    step = journal.data["step"]
    if STEPS.index(step) <= STEPS.index("versions"):
        _rewrite_versions(ws, journal)
        while _late_descendants(ws, journal):  # published from an erased version while this one ran
            _rewrite_versions(ws, journal)
        journal.advance("stores")
    if journal.data["step"] == "stores":
        hashes = journal.data["hashes"]
        journal.data["shards"] = sum(erase_hashes(store, hashes) for store in (ws.scores, ws.embeddings))
        journal.advance("records")
    if journal.data["step"] == "records":
        _erase_records(ws, journal)
        _crash_point("exports")
    if journal.data["step"] == "exports":
        _rewrite_exports(ws, journal)
        journal.advance("cleanup")
    if journal.data["step"] == "cleanup":
        _cleanup(ws, journal)
        journal.advance("receipt")
    receipt = ws.root / RECEIPTS_DIR / f"erasure-{erasure_id}.json"
    if journal.data["step"] == "receipt":
        summary = _write_receipt(ws, journal, receipt)
        journal.data = {"step": "vacuum", "summary": summary}
        with journal.sessions.begin() as session:
            _save(session, erasure_id, journal.data, "vacuum")
            session.execute(update(ErasureRow).where(ErasureRow.id == erasure_id)
                            .values(receipt=str(receipt), finished_at=datetime.now(UTC)))
        _crash_point("vacuum")
    vacuum(ws)
    journal.save(state="done")
    summary = journal.data["summary"]
    return ErasureResult(erasure_id, records=summary["records"],
                         versions=[(v["ref"], v["removed"]) for v in summary["versions"]], tasks=summary["tasks"],
                         payloads=summary["payloads"], shards=summary["shards"], exports=len(summary["exports"]),
                         receipt=receipt)


def _rewrite_versions(ws: Workspace, journal: _Journal) -> None:
    todo = [plan for plan in journal.data["versions"] if not plan["done"]]
    with progress_bar("erase: rewriting versions", len(todo), journal.progress, unit="versions") as advance:
        for plan in todo:
            _rewrite_one(ws, journal, plan)
            advance(1)


def _rewrite_one(ws: Workspace, journal: _Journal, plan: dict[str, Any]) -> None:
    if plan["pending_key"]:  # a rewrite killed before its swap committed: its files are garbage
        _delete_folder(ws, plan["pending_key"])
    try:
        version = ws.datasets.get(plan["ref"])
    except DatatrainerError:
        version = None
    if version is None or version.info.id != plan["id"]:
        plan["done"] = True  # deleted meanwhile: nothing left to rewrite
        journal.save()
        return

    def remember(key: str) -> None:
        plan["pending_key"] = key
        journal.save()

    def committed(session: Session, new_key: str) -> None:
        _crash_point("swap")  # the new folder is in place, the catalog still names the old one
        plan["done"], plan["new_key"], plan["pending_key"] = True, new_key, None
        journal.save(session)

    rewrite_version(ws, version, plan["drop"], journal.id, remember, committed)
    _crash_point("version")


def _late_descendants(ws: Workspace, journal: _Journal) -> bool:
    """Add to the plan any version derived from a planned one that the plan does not know (another process
    published it from the old records meanwhile) and that holds erased records; True if any was added."""
    planned = {plan["id"] for plan in journal.data["versions"]}
    with journal.sessions() as session:
        unknown = Lineage(session).descendants(planned) - planned
    if not unknown:
        return False
    erased = Matches(ids={r for plan in journal.data["versions"] for r in plan["drop"]},
                     hashes=set(journal.data["hashes"]))
    added = False
    for version in _all_versions(ws):
        if version.info.id not in unknown:
            continue
        drop, hashes = _to_drop(version, erased)
        if drop:
            journal.data["versions"].append({"id": version.info.id, "ref": version.ref,
                                             "old_key": version.info.storage_key, "drop": sorted(drop),
                                             "pending_key": None, "new_key": None, "done": False})
            journal.data["hashes"] = sorted(set(journal.data["hashes"]) | hashes)
            added = True
    journal.save()
    return added


def _erase_records(ws: Workspace, journal: _Journal) -> None:
    """Annotation tasks, the erasure's audit entry and the audit payloads, in one transaction."""
    data = journal.data
    with ws.audit.transaction() as session:
        tasks = delete_tasks(session, data["tasks"])
        entry = ws.audit.append(session, actor=journal.actor, action=ERASE_ACTION, entity="erasure",
                                entity_id=journal.id, after=_digest_summary(data, tasks))
        ws.audit.erase_payloads(session, data["payloads"], entry.seq)
        data["audit_seq"] = entry.seq
        data["step"] = "exports"
        journal.save(session)


def _digest_summary(data: dict[str, Any], tasks: int) -> dict[str, Any]:
    return {"versions": [{"id": p["id"], "ref": p["ref"], "removed": len(p["drop"])} for p in data["versions"]],
            "content_hashes": len(data["hashes"]), "tasks": tasks, "payloads": len(data["payloads"])}


def _rewrite_exports(ws: Workspace, journal: _Journal) -> None:
    """Write each recorded export again, in place, from the erased data: a version's from the rewritten
    version, an annotation project's from the tasks that remain."""
    from datatrainer.annotation import formats
    from datatrainer.annotation.types import local_admin
    from datatrainer.compliance.models import ExportRow

    results = []
    with journal.sessions() as session:
        rows = [row for row in (session.get(ExportRow, export_id) for export_id in journal.data["exports"]) if row]
    for row in rows:
        path = Path(row.path)
        state = "rewritten" if path.exists() else "gone"
        if state == "rewritten" and row.project is None:
            ws.export(_version(ws, row.version_id), path, row.format, overwrite=True, decrypt=True)
        elif row.project is not None and state == "rewritten":
            per_annotator = bool((row.options or {}).get("per_annotator"))
            docs = ws.annotation.annotated_docs(local_admin(), row.project, per_annotator)
            formats.write(docs, row.format, path, overwrite=True)
        results.append({"path": str(path), "format": row.format, "project": row.project, "state": state})
    journal.data["export_results"] = results


def _version(ws: Workspace, version_id: int) -> DatasetVersion:
    with sessionmaker(ws.catalog.engine)() as session:
        ref = session.execute(select(DatasetRow.name, VersionRow.number).join(VersionRow)
                              .where(VersionRow.id == version_id)).one()
    return ws.version(f"{ref[0]}@{ref[1]}")


def _delete_folder(ws: Workspace, key: str) -> None:
    """A version folder, published or still in staging (local workspaces stage under `tmp/`)."""
    ws.data.delete(ws.data.path(VERSIONS_DIR, key))
    if ws.data.is_local:
        ws.data.delete(ws.data.path("tmp", key))


def _cleanup(ws: Workspace, journal: _Journal) -> None:
    """Old folders go; in an encrypted workspace their data keys go too, so even a copy is unreadable."""
    from datatrainer.quality.report import default_paths  # heavy (plotting); only needed here

    old = [plan["old_key"] for plan in journal.data["versions"] if plan["done"] and plan["new_key"]]
    for key in old:
        _delete_folder(ws, key)
    for plan in journal.data["versions"]:  # quality reports quote records: the rewritten versions' are stale
        try:
            version = ws.version(plan["ref"])
        except DatatrainerError:
            continue
        for path in default_paths(ws, version):
            path.unlink(missing_ok=True)
    if old:
        with journal.sessions.begin() as session:
            ws.keys.forget(session, old)


def _write_receipt(ws: Workspace, journal: _Journal, path: Path) -> dict[str, Any]:
    data = journal.data
    encrypted = ws.keys.encrypted
    versions = [{"ref": p["ref"], "removed": len(p["drop"]),
                 "removed_id_sha256": [sha256(record) for record in p["drop"]],
                 "old_files": "deleted and data key destroyed" if encrypted else "deleted"}
                for p in data["versions"]]
    summary = {
        "erasure": journal.id, "who": journal.actor, "started": _iso(journal.created),
        "finished": datetime.now(UTC).isoformat(), "selector_sha256": journal.selector,
        "records": len({r for p in data["versions"] for r in p["drop"]}), "versions": versions,
        "stores": {"content_hashes_erased": len(data["hashes"]), "shards_rewritten": data["shards"]},
        "shards": data["shards"], "tasks": len(data["tasks"]), "payloads": len(data["payloads"]),
        "audit_entry": data["audit_seq"], "exports": data["export_results"],
        "models_trained_on_rewritten_versions": _models_on(journal, [p["id"] for p in data["versions"]]),
    }
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)
    return {**summary, "versions": [{k: v for k, v in item.items() if k != "removed_id_sha256"} for item in versions]}


def _models_on(journal: _Journal, version_ids: list[int]) -> list[str]:
    """Models trained on data that is now erased: the receipt names them, since only retraining forgets."""
    with journal.sessions() as session:
        return list(session.scalars(select(ModelRow.name).where(ModelRow.version_id.in_(version_ids))
                                    .order_by(ModelRow.name)))


def _iso(moment: datetime) -> str:
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).isoformat()


def vacuum(ws: Workspace) -> None:
    """Rebuild the database so freed pages (and, on SQLite, WAL frames) no longer hold what was deleted."""
    engine = ws.catalog.engine
    if engine.dialect.name == "sqlite":
        engine.dispose()  # pooled connections would keep the WAL from being truncated
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in _TOUCHED_TABLES:
            connection.exec_driver_sql(f"VACUUM FULL {table}")
