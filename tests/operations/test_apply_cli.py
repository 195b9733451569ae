"""`datatrainer apply`: any registered operation from the command line, parameters as KEY=VALUE or JSON."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.cli.operations import _parse_params
from datatrainer.errors import DatatrainerError
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace


def test_apply_runs_a_builtin_with_typed_parameters(sqlite_workspace: Workspace, source: DatasetVersion) -> None:
    result = CliRunner().invoke(app, ["--no-progress", "-w", str(sqlite_workspace.root), "apply", "sample",
                                      source.ref, "--param", "by=random", "--param", "budget=12",
                                      "--params", '{"seed": 5}', "-n", "picked"])
    assert result.exit_code == 0, result.output
    out = sqlite_workspace.version("picked@1")
    expected = sqlite_workspace.apply("sample", [source], {"by": "random", "budget": 12, "seed": 5}, name="api")
    assert out.num_rows == 12 and out.to_table().equals(expected.to_table())
    assert out.info.params["seed"] == 5


def test_parameters_parse_as_json_where_they_are_json() -> None:
    assert _parse_params(["min-words=3", "where=n > 1", "rules=[\"c4\"]", "flag=true"], '{"a": 1, "min_words": 2}') \
        == {"a": 1, "min_words": 3, "where": "n > 1", "rules": ["c4"], "flag": True}


@pytest.mark.parametrize(("pairs", "as_json", "message"), [
    (["novalue"], None, "--param 'novalue' is not KEY=VALUE"),
    (["=3"], None, "is not KEY=VALUE"),
    ([], "{bad", "--params is not valid JSON"),
    ([], "[1, 2]", "--params must be a JSON object"),
])
def test_bad_parameters_are_one_line_errors(pairs: list[str], as_json: str | None, message: str) -> None:
    with pytest.raises(DatatrainerError, match=message.replace("[", r"\[")) as error:
        _parse_params(pairs, as_json)
    assert "\n" not in str(error.value)


def test_an_unknown_operation_is_reported_before_the_inputs(sqlite_workspace: Workspace) -> None:
    result = CliRunner().invoke(app, ["-w", str(sqlite_workspace.root), "apply", "nope", "missing@1"])
    assert isinstance(result.exception, DatatrainerError)
    assert str(result.exception).startswith("unknown operation 'nope'; known: dedup, filter")
