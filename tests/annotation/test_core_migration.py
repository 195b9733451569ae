"""Migration 0003 upgrades an existing catalog at revision 0002 in place, keeping its datasets."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from datatrainer.store.catalog import make_engine
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(importlib.resources.files("datatrainer.store") / "migrations"))
    return config


def _alembic(url: str, revision: str, action: str = "upgrade") -> None:
    config = _config()
    engine = make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
    engine.dispose()


def test_upgrade_from_0002_keeps_data_and_adds_annotation(tmp_path: Path, catalog_url: str | None) -> None:
    root = tmp_path / "old-ws"
    root.mkdir()
    (root / "datatrainer.toml").write_text("")
    for sub in ("versions", "tmp"):
        (root / sub).mkdir()
    url = catalog_url or f"sqlite:///{root / 'catalog.db'}"
    _alembic(url, "0002")
    engine = make_engine(url)
    assert "users" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO datasets (name, created_at) VALUES ('legacy', CURRENT_TIMESTAMP)"))
    engine.dispose()
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "Ada Lovelace wrote the first program."}) + "\n")
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with Workspace.open(root, db_url=catalog_url) as ws:  # opening upgrades to head (0003 and every later one)
        names = set(inspect(ws.catalog.engine).get_table_names())
        assert {"users", "api_tokens", "audit_log", "audit_head", "annotation_projects", "annotation_tasks",
                "annotations", "annotation_reviews", "annotation_suggestions", "version_metrics"} <= names
        with ws.catalog.engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        assert ws.datasets.names() == ["legacy"]
        ws.ingest(data, "docs")
        ws.annotation.create_project(ADMIN, "p", "docs@1", "ner", ["PER"])
        assert ws.annotation.progress(ADMIN, "p").total == 1 and ws.audit.verify().ok


def test_downgrade_to_0002_and_back(tmp_path: Path, catalog_url: str | None) -> None:
    with Workspace.init(tmp_path / "ws", db_url=catalog_url) as ws:
        url = ws.catalog.url
        ws.audit.record(actor="a", action="x", entity="e", entity_id=1)
    _alembic(url, "0002", "downgrade")
    engine = make_engine(url)
    assert "audit_log" not in inspect(engine).get_table_names()
    engine.dispose()
    with Workspace.open(tmp_path / "ws", db_url=catalog_url) as ws:
        assert ws.audit.verify().ok and ws.audit.verify().entries == 0
