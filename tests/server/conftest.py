"""A real annotation server on a free port (uvicorn in a thread, or `datatrainer serve` with several worker
processes), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datatrainer.server.app import create_app
from datatrainer.server.run import serve_in_thread
from datatrainer.workspace import Workspace
from tests.server.site import Site, populate, serve_subprocess


@pytest.fixture
def site(tmp_path: Path, catalog_url: str | None) -> Iterator[Site]:
    with Workspace.init(tmp_path / "ws", db_url=catalog_url) as ws:
        projects = populate(ws, tmp_path)
    with serve_in_thread(create_app(tmp_path / "ws", catalog_url)) as url:
        running = Site(url, tmp_path / "ws", catalog_url, projects)
        yield running
        running.close()


@pytest.fixture
def workers_site(tmp_path: Path, catalog_url: str | None) -> Iterator[Site]:
    """Three server processes sharing one port and one catalog, started as a user would."""
    with Workspace.init(tmp_path / "ws", db_url=catalog_url) as ws:
        projects = populate(ws, tmp_path)
    with serve_subprocess(tmp_path / "ws", "--workers", "3", db_url=catalog_url) as (url, _):
        running = Site(url, tmp_path / "ws", catalog_url, projects)
        yield running
        running.close()


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    with Workspace.init(tmp_path / "ws") as ws:
        projects = populate(ws, tmp_path)
    with serve_in_thread(create_app(tmp_path / "ws")) as url:
        running = Site(url, tmp_path / "ws", None, projects)
        yield running
        running.close()
