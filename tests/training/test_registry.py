"""The model registry on SQLite and PostgreSQL: migration 0004, publishing, lineage, evaluations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.workspace import Workspace
from tests.conftest import write_lines


def _version_ref(ws: Workspace, tmp_path: Path) -> str:
    source = write_lines(tmp_path / "in.jsonl", '{"id": "a", "text": "one"}', '{"id": "b", "text": "two"}')
    return ws.ingest(source, "corpus").ref


def _publish(ws: Workspace, name: str, ref: str, payload: bytes = b"weights") -> None:
    key, folder = ws.models.new_folder()
    (folder / "model.safetensors").write_bytes(payload)
    ws.models.publish(folder, key, name=name, base_model="tiny-gpt", method="full", dataset_ref=ref,
                      config={"seq_len": 8}, config_hash="abc123", metrics={"eval_loss": 2.5},
                      history=[{"step": 1, "train_loss": 3.0, "tokens": 8, "elapsed": 0.1}])


def test_migration_creates_the_registry_tables(workspace: Workspace) -> None:
    inspector = inspect(workspace.catalog.engine)
    assert {"models", "model_evaluations"} <= set(inspector.get_table_names())
    columns = {column["name"] for column in inspector.get_columns("models")}
    assert {"name", "storage_key", "base_model", "method", "version_id", "dataset_ref", "config", "config_hash",
            "metrics", "history", "created_at"} <= columns
    foreign = inspector.get_foreign_keys("models")
    assert [(key["referred_table"], key["constrained_columns"]) for key in foreign] == [("versions", ["version_id"])]
    assert not inspector.get_foreign_keys("model_evaluations")  # external models are evaluated too


def test_migration_downgrades_and_upgrades_again(workspace: Workspace) -> None:
    script_location = Path(__file__).resolve().parents[2] / "src" / "datatrainer" / "store" / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    with workspace.catalog.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert "models" not in inspect(workspace.catalog.engine).get_table_names()
    with workspace.catalog.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert "models" in inspect(workspace.catalog.engine).get_table_names()


def test_published_model_is_found_with_its_lineage(workspace: Workspace, tmp_path: Path) -> None:
    ref = _version_ref(workspace, tmp_path)
    _publish(workspace, "m1", ref)
    model = workspace.models.get("m1")
    assert (model.dataset_ref, model.base_model, model.method, model.config_hash) == (ref, "tiny-gpt", "full", "abc123")
    assert model.metrics == {"eval_loss": 2.5} and model.history[0]["train_loss"] == 3.0
    assert model.path.parent == workspace.root / "models"
    assert (workspace.models.path("m1") / "model.safetensors").read_bytes() == b"weights"
    assert not list((workspace.root / "tmp").glob("model-*"))  # the temporary folder was renamed, not copied
    assert [m.name for m in workspace.models.list()] == ["m1"]


def test_a_taken_name_is_refused_and_leaves_no_folder(workspace: Workspace, tmp_path: Path) -> None:
    ref = _version_ref(workspace, tmp_path)
    _publish(workspace, "m1", ref)
    with pytest.raises(DatatrainerError, match="already exists"):
        _publish(workspace, "m1", ref, b"other")
    assert len(list((workspace.root / "models").iterdir())) == 1
    assert (workspace.models.path("m1") / "model.safetensors").read_bytes() == b"weights"


def test_unknown_model_and_bad_name_are_one_line_errors(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        workspace.models.get("nope")
    assert workspace.models.find("nope") is None
    ref = _version_ref(workspace, tmp_path)
    with pytest.raises(DatatrainerError, match="invalid model name"):
        _publish(workspace, "bad name/..", ref)


def test_evaluations_are_kept_per_model_name(workspace: Workspace, tmp_path: Path) -> None:
    ref = _version_ref(workspace, tmp_path)
    _publish(workspace, "m1", ref)
    workspace.models.record_evaluation("m1", "perplexity", {"perplexity": 12.5}, ref, {"seq_len": 64})
    workspace.models.record_evaluation("m1", "perplexity", {"perplexity": 11.0}, ref, {"seq_len": 64})
    workspace.models.record_evaluation("/models/some-hf-folder", "multiple-choice", {"acc": 0.5})
    mine = workspace.models.evaluations("m1")
    assert [e.metrics["perplexity"] for e in mine] == [12.5, 11.0]
    assert mine[0].config_hash == mine[1].config_hash and mine[0].dataset_ref == ref
    external = workspace.models.evaluations("/models/some-hf-folder")
    assert external[0].suite == "multiple-choice" and external[0].dataset_ref is None
    assert external[0].config_hash != mine[0].config_hash
    assert len(workspace.models.evaluations()) == 3


def test_gc_removes_a_model_folder_whose_registration_never_committed(workspace: Workspace, tmp_path: Path) -> None:
    ref = _version_ref(workspace, tmp_path)
    _publish(workspace, "kept", ref)
    key, folder = workspace.models.new_folder()
    (folder / "model.safetensors").write_bytes(b"half")
    folder.rename(workspace.models.root / key)  # a crash after the rename, before the catalog commit
    assert workspace.collect_garbage(min_age=3600) == []  # too fresh: it may be a publish in progress
    removed = workspace.collect_garbage(min_age=0)
    assert removed == [workspace.models.root / key] and not (workspace.models.root / key).exists()
    assert workspace.models.path("kept").is_dir()
