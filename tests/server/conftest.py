"""A real annotation server on a free port (uvicorn in a thread), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datatrainer.server.app import create_app
from datatrainer.server.run import serve_in_thread
from datatrainer.workspace import Workspace
from tests.server.site import Site, populate


@pytest.fixture
def site(tmp_path: Path, catalog_url: str | None) -> Iterator[Site]:
    with Workspace.init(tmp_path / "ws", db_url=catalog_url) as ws:
        projects = populate(ws, tmp_path)
    with serve_in_thread(create_app(tmp_path / "ws", catalog_url)) as url:
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
