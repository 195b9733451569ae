"""The catalog on both backends: numbering, references, lineage, schemas, concurrency, migrations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import inspect, text

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.store.catalog import Catalog, VersionInfo
from datatrainer.workspace import Workspace

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()),
                    ("meta", pa.struct([("a", pa.int64()), ("tags", pa.list_(pa.string()))])),
                    ("collected_at", pa.timestamp("us", tz="UTC"))])


def _add(catalog: Catalog, dataset: str, key: str, parents: tuple[VersionInfo, ...] = (), rows: int = 3) -> VersionInfo:
    return catalog.add_version(dataset=dataset, storage_key=key, operation="test", params={"k": [1, "x"]},
                               code_version="t", row_count=rows, schema=SCHEMA, stats={"s": 1.5}, parents=parents)


def test_versions_are_numbered_per_dataset_and_resolve(workspace: Workspace) -> None:
    catalog = workspace.catalog
    first = _add(catalog, "web", "k1")
    second = _add(catalog, "web", "k2", parents=(first,))
    other = _add(catalog, "news", "k3")
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert catalog.resolve("web").storage_key == "k2"
    assert catalog.resolve("web@latest").storage_key == "k2"
    assert catalog.resolve("web@1").storage_key == "k1"
    assert catalog.dataset_names() == ["news", "web"]
    assert [v.number for v in catalog.versions_of("web")] == [1, 2]


def test_version_info_round_trips_schema_params_stats_and_lineage(workspace: Workspace) -> None:
    catalog = workspace.catalog
    a = _add(catalog, "a", "ka")
    b = _add(catalog, "b", "kb")
    merged = _add(catalog, "merged", "km", parents=(b, a), rows=7)
    again = catalog.resolve("merged@1")
    assert again.schema.equals(SCHEMA)
    assert again.params == {"k": [1, "x"]}
    assert again.stats == {"s": 1.5}
    assert again.row_count == 7
    assert again.parents == ("b@1", "a@1")  # order of parents is kept
    assert merged.created_at.tzinfo is not None


@pytest.mark.parametrize("ref", ["missing", "missing@1", "web@9", "web@x@y", "@3"])
def test_unknown_references_are_clear_errors(workspace: Workspace, ref: str) -> None:
    _add(workspace.catalog, "web", "k1")
    with pytest.raises(NotFoundError) as info:
        workspace.catalog.resolve(ref)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 201, "@at", "-lead"])
def test_invalid_dataset_names_are_refused(workspace: Workspace, name: str) -> None:
    with pytest.raises(DatatrainerError, match="invalid dataset name"):
        _add(workspace.catalog, name, "k1")
    assert workspace.catalog.dataset_names() == []


def _run_in_threads(target: Callable[[int], None], count: int) -> list[BaseException]:
    """Run `target(i)` in `count` threads at once; what they raised (a failure in a thread must fail the test)."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_writers_get_distinct_contiguous_numbers(workspace: Workspace) -> None:
    """Several threads (own connections) add versions of one dataset at once: no number is lost or reused."""

    def worker(index: int) -> None:
        for j in range(5):
            _add(workspace.catalog, "shared", f"key-{index}-{j}")

    assert _run_in_threads(worker, 6) == []
    numbers = [v.number for v in workspace.catalog.versions_of("shared")]
    assert numbers == list(range(1, 31))


def test_migrations_create_tables_and_reopen_is_idempotent(tmp_path: Path, catalog_url: str | None) -> None:
    ws = Workspace.init(tmp_path / "ws", catalog_url)
    _add(ws.catalog, "web", "k1")
    ws.close()
    reopened = Workspace.open(tmp_path / "ws", catalog_url)
    try:
        tables = set(inspect(reopened.catalog.engine).get_table_names())
        assert {"datasets", "versions", "version_parents", "version_metrics", "alembic_version"} <= tables
        with reopened.catalog.engine.connect() as connection:
            revision = connection.execute(text("select version_num from alembic_version")).scalar()
        migrations = Path(__file__).resolve().parents[2] / "src" / "datatrainer" / "store" / "migrations" / "versions"
        assert revision == max(path.name[:4] for path in migrations.glob("0*.py"))  # upgraded to the newest
        assert reopened.catalog.resolve("web").storage_key == "k1"
    finally:
        reopened.close()


def test_sqlite_catalog_is_a_file_in_the_workspace(sqlite_workspace: Workspace) -> None:
    assert sqlite_workspace.catalog.url.startswith("sqlite")
    assert (sqlite_workspace.root / "catalog.db").is_file()


def test_db_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv("DATATRAINER_DB_URL", f"sqlite:///{other}")
    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    assert other.is_file()
    assert not (tmp_path / "ws" / "catalog.db").exists()


def test_open_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(DatatrainerError, match="not a datatrainer workspace"):
        Workspace.open(tmp_path)


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(DatatrainerError, match="cannot open the catalog database") as info:
        Workspace.init(tmp_path / "ws", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    assert "secret" not in str(info.value)  # passwords are redacted


def test_workspaces_opened_at_once_in_threads_all_migrate(tmp_path: Path) -> None:
    """Alembic keeps its environment in one process-wide proxy: without a lock, threads opening fresh
    workspaces at the same moment fail inside each other's migrations."""
    barrier = threading.Barrier(6)

    def open_one(index: int) -> None:
        barrier.wait()
        with Workspace.init(tmp_path / f"ws{index}") as ws:
            assert ws.datasets.names() == []

    assert _run_in_threads(open_one, 6) == []
    for index in range(6):
        tables = set(inspect(Catalog(f"sqlite:///{tmp_path / f'ws{index}' / 'catalog.db'}").engine).get_table_names())
        assert {"datasets", "versions", "alembic_version"} <= tables
