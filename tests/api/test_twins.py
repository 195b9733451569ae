"""Every CLI command has its Python twin (`datatrainer.api.twins`), and the twins do what the commands do."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import typer.main
from typer.testing import CliRunner

from datatrainer.api.twins import CLI_ONLY, TWINS
from datatrainer.cli.app import app
from datatrainer.workspace import Workspace
from tests.conftest import write_lines


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield " ".join(path)
        return
    for name, sub in subcommands.items():
        yield from _commands(sub, (*path, name))


def _resolve(ws: Workspace, target: str) -> Any:
    if target.startswith("ws."):
        found: Any = ws
        for part in target.split(".")[1:]:
            found = getattr(found, part)
        return found
    module, _, qualname = target.partition(":")
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def test_every_command_has_a_python_twin(sqlite_workspace: Workspace) -> None:
    commands = set(_commands(typer.main.get_command(app)))
    assert len(commands) > 40
    missing = commands - set(TWINS) - set(CLI_ONLY)
    assert not missing, f"commands without a Python twin in datatrainer.api.twins: {sorted(missing)}"
    assert not set(TWINS) & set(CLI_ONLY)
    assert not (set(TWINS) | set(CLI_ONLY)) - commands, "twins of commands that no longer exist"
    for command, target in TWINS.items():
        assert callable(_resolve(sqlite_workspace, target)), (command, target)


def test_the_twins_give_what_the_commands_give(tmp_path: Path) -> None:
    """The same work through the CLI and through the workspace's calls: equal versions."""
    texts = [f"record {i} about topic {i % 7}" for i in range(60)] + ["record 3 about topic 3"] * 3
    data = write_lines(tmp_path / "in.jsonl", *[json.dumps({"id": str(i), "text": t}) for i, t in enumerate(texts)])
    runner = CliRunner()
    for name in ("cli", "api"):
        Workspace.init(tmp_path / name).close()
    with Workspace.open(tmp_path / "api") as ws:
        source = ws.ingest(data, "web")
        deduped = ws.dedup(source, "exact")
        kept = ws.filter(deduped, "length(text) > 22")
        sampled = ws.sample(kept, by="random", budget="50%", seed=3)
        report = ws.quality_report(sampled)
        api_ids = [_ids(v) for v in (deduped, kept, sampled)]
        assert report.html.is_file() and report.report.summary.records == sampled.num_rows
    root = str(tmp_path / "cli")
    for args in (["ingest", str(data), "--name", "web"], ["dedup", "web@1", "--method", "exact"],
                 ["filter", "web@2", "--where", "length(text) > 22"],
                 ["sample", "web@3", "--by", "random", "--budget", "50%", "--seed", "3"]):
        result = runner.invoke(app, ["--workspace", root, "--no-progress", *args])
        assert result.exit_code == 0, result.output
    with Workspace.open(root) as ws:
        assert [_ids(ws.version(f"web@{n}")) for n in (2, 3, 4)] == api_ids
    assert len(api_ids[0]) == len(set(texts)) and 0 < len(api_ids[2]) < len(api_ids[1])  # copies went, half stayed


def _ids(version: Any) -> list[str]:
    return sorted(pc.cast(version.to_table(["id"])["id"], "string").to_pylist())
