"""Shared fixtures: workspaces on the embedded SQLite catalog and on a real PostgreSQL server.

PostgreSQL runs when DATATRAINER_TEST_PG_URL is set (scripts/test.sh sets it): each test gets a fresh
database on that server, dropped afterwards. If the URL is set but the server is unreachable the tests
fail loudly; only an explicitly empty URL skips them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from datatrainer.workspace import Workspace

PG_URL = os.environ.get("DATATRAINER_TEST_PG_URL", "")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATATRAINER_DB_URL", raising=False)
    monkeypatch.delenv("DATATRAINER_WORKSPACE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a brand-new PostgreSQL database."""
    if not PG_URL:
        pytest.skip("DATATRAINER_TEST_PG_URL is not set (scripts/test.sh sets it): PostgreSQL tests not run")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"dt_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None means the default embedded SQLite catalog inside the workspace."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def workspace(tmp_path: Path, catalog_url: str | None) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "ws", db_url=catalog_url)
    yield ws
    ws.close()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "ws")
    yield ws
    ws.close()


def write_lines(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"".join((line.encode() if isinstance(line, str) else line) + b"\n" for line in lines))
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, keep every test that needs the session's Ray instance on one worker.

    Two Ray instances on a 2-core machine would compete for the same cores and object-store memory.
    """
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "tests/engine/" in item.nodeid or "ray_engine" in fixtures:
            item.add_marker(pytest.mark.xdist_group("ray"))


def pytest_configure(config: pytest.Config) -> None:
    """Pin each xdist worker to its own core, so that torch, ONNX Runtime and llama.cpp in two workers do
    not each start one thread per core and thrash (their spinning thread pools slow down badly when
    oversubscribed); subprocesses the tests start inherit the pin."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    cores = sorted(os.sched_getaffinity(0))
    if worker.startswith("gw") and count > 1 and len(cores) <= count:
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})
