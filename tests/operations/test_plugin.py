"""A third-party operation, installed as a real package declaring a `datatrainer.operations` entry point,
runs through `ws.apply` and the CLI like a built-in; a broken entry point fails in one line naming it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.operations import get_operation, operation_names
from datatrainer.workspace import Workspace

PACKAGE = "datatrainer_plugin_probe"
MODULE = "dt_plugin_probe_ops"
BIN = Path(sys.executable).parent

PLUGIN = '''
"""A plugin operation: reverse the words of every text."""

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.operations import BatchOperation, Filtered


class ReverseParams(BaseModel):
    min_words: int = 1


class ReverseWords(BatchOperation[ReverseParams]):
    name = "probe-reverse-words"
    params_model = ReverseParams

    def transform(self, batch, params):
        table = pa.Table.from_batches([batch])
        words = pc.utf8_split_whitespace(table["text"])
        short = pc.less(pc.list_value_length(words), params.min_words).to_pylist()
        reversed_ = pa.array([" ".join(reversed(w)) for w in words.to_pylist()], pa.string())
        table = table.set_column(table.schema.get_field_index("text"), "text", reversed_)
        kept = table.filter(pc.invert(pa.array(short)))
        dropped = table.filter(pa.array(short)).select(["id"])
        return Filtered(kept, dropped.append_column("reason", pa.repeat(pa.scalar("too short"), dropped.num_rows)))
'''


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Build and install the plugin package (no network: no dependencies, no build isolation) into a folder
    of its own put on this process's path and the subprocesses' PYTHONPATH: installed into the shared
    environment, it would show up in tests other test workers run meanwhile."""
    root = tmp_path_factory.mktemp("plugin")
    site = tmp_path_factory.mktemp("plugin-site")
    (root / f"{MODULE}.py").write_text(PLUGIN)
    (root / "pyproject.toml").write_text(textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{PACKAGE}"
        version = "0.1"

        [tool.setuptools]
        py-modules = ["{MODULE}"]

        [project.entry-points."datatrainer.operations"]
        probe-reverse-words = "{MODULE}:ReverseWords"
        probe-broken = "{MODULE}_missing:Nothing"
        probe-not-an-operation = "{MODULE}:ReverseParams"
    '''))
    _pip("install", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(site), str(root))
    earlier = os.environ.get("PYTHONPATH")
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), earlier]))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        if earlier is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = earlier
        importlib.invalidate_caches()


def _source(ws: Workspace) -> str:
    with ws.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a", "b", "c"], "text": ["one two three", "solo", "x y"]}))
        return writer.commit(dataset="src", operation="test", params={}).ref


@pytest.mark.slow
def test_a_plugin_runs_through_the_api_and_the_cli(plugin: None, sqlite_workspace: Workspace) -> None:
    assert "probe-reverse-words" in operation_names()
    ref = _source(sqlite_workspace)
    out = sqlite_workspace.apply("probe-reverse-words", [ref], {"min_words": 2}, name="rev")
    assert out.to_table().to_pydict() == {"id": ["a", "c"], "text": ["three two one", "y x"]}
    assert out.artifact("dropped").to_pydict() == {"id": ["b"], "reason": ["too short"]}
    assert out.info.operation == "probe-reverse-words" and out.info.params == {"min_words": 2}

    env = {**os.environ, "DATATRAINER_WORKSPACE": str(sqlite_workspace.root), "COLUMNS": "200"}
    cli = [str(BIN / "datatrainer"), "--no-progress"]
    listed = subprocess.run([*cli, "operations"], env=env, capture_output=True, text=True, timeout=120)
    assert "probe-reverse-words" in listed.stdout, listed.stderr
    done = subprocess.run([*cli, "apply", "probe-reverse-words", ref, "--param", "min-words=3", "-n", "rev3"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sqlite_workspace.version("rev3@1").to_table()["id"].to_pylist() == ["a"]

    broken = subprocess.run([*cli, "apply", "probe-broken", ref], env=env, capture_output=True, text=True,
                            timeout=120)
    assert broken.returncode == 1
    assert broken.stderr.count("\n") == 1 and "entry point 'probe-broken'" in broken.stderr, broken.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("name", "message"), [
    ("probe-broken", r"cannot load operation plugin entry point 'probe-broken' = .*No module named"),
    ("probe-not-an-operation", r"entry point 'probe-not-an-operation' = .* is not an Operation subclass"),
])
def test_a_broken_plugin_is_a_one_line_error(plugin: None, name: str, message: str) -> None:
    with pytest.raises(DatatrainerError, match=message) as error:
        get_operation(name)
    assert "\n" not in str(error.value)
    assert get_operation("filter").name == "filter"  # the built-ins still work
