"""The reference generators against the objects they describe: every field, option and route appears with
its declared type and default; bad benchmark result files fail in one line naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from datatrainer import docs_gen
from datatrainer.errors import DatatrainerError
from datatrainer.operations import get_operation, operation_names


class Example(BaseModel):
    """A model written for this test."""

    method: Literal["exact", "minhash"] = "minhash"
    threshold: Annotated[float, Field(gt=0, le=1, description="similarity at | above which")] = 0.8
    bands: int | None = None
    names: list[str] = Field(default_factory=lambda: ["a"], min_length=1)
    path: str


def test_type_names_read_as_python() -> None:
    assert docs_gen.type_name(int | None) == "int | None"
    assert docs_gen.type_name(Literal["a", "b"]) == '"a" | "b"'
    assert docs_gen.type_name(list[Literal["c4", "lang"]]) == 'list["c4" | "lang"]'
    assert docs_gen.type_name(tuple[str, ...]) == "tuple[str, ...]"
    assert docs_gen.type_name(Annotated[float, "meta"]) == "float"


def test_model_rows_give_every_field_with_default_limits_and_meaning() -> None:
    rows = {row[0].strip("`"): row for row in docs_gen.model_rows(Example, {"bands": "from the CLI help"})}
    assert list(rows) == list(Example.model_fields)
    assert rows["method"][2] == "'minhash'"
    assert rows["threshold"][3] == "similarity at | above which (> 0, ≤ 1)"
    assert rows["bands"][2] == "None" and rows["bands"][3] == "from the CLI help"
    assert rows["names"][2] == "['a']" and "at least 1 long" in rows["names"][3]
    assert rows["path"][2] == "required"
    table = docs_gen.table(["p", "t", "d", "m"], docs_gen.model_rows(Example))
    assert "at \\| above" in table and "int &#124; None" in table  # pipes cannot split a row


def test_each_operation_page_lists_its_parameters() -> None:
    for name in operation_names():
        page = docs_gen.operation_markdown(name)
        model = get_operation(name).params_model
        for field, info in model.model_fields.items():
            assert f"| `{field}` |" in page, (name, field)
            if not info.is_required():
                assert repr(info.get_default(call_default_factory=True)) in page, (name, field)


def test_rest_page_has_every_route_and_schema() -> None:
    schema = docs_gen.openapi_schema()
    page = docs_gen.rest_markdown(schema)
    for path, methods in schema["paths"].items():
        for method in methods:
            assert f"### `{method.upper()} {path}`" in page
    for name in schema["components"]["schemas"]:
        assert f"\n### {name}\n" in page


def _result(tmp_path: Path, **changes: object) -> Path:
    data = {"title": "t", "script": "benchmarks/x.py", "command": "python benchmarks/x.py", "machine": "m",
            "date": "2026-12-07", "peer": "p", "peer_version": "1.0", "columns": ["a", "b"], "rows": [[1, 2.5]]}
    path = tmp_path / "x.json"
    path.write_text(json.dumps({**data, **changes}))
    return path


def test_benchmark_results_render_and_bad_files_fail_in_one_line(tmp_path: Path) -> None:
    text = docs_gen.result_markdown(docs_gen.load_result(_result(tmp_path)))
    assert "m; 2026-12-07; peer: p 1.0" in text and "| 1 | 2.5 |" in text
    with pytest.raises(DatatrainerError, match=r"x\.json: row 0 has 1 values for 2 columns"):
        docs_gen.load_result(_result(tmp_path, rows=[[1]]))
    path = _result(tmp_path)
    data = json.loads(path.read_text())
    del data["peer_version"]
    path.write_text(json.dumps(data))
    with pytest.raises(DatatrainerError, match=r"x\.json: benchmark result lacks peer_version"):
        docs_gen.load_result(path)


def test_published_benchmark_results_are_valid() -> None:
    folder = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"
    results = sorted(folder.glob("*.json"))
    assert results
    for path in results:
        data = docs_gen.load_result(path)
        assert data["machine"] and data["date"] and data["command"]


def test_written_results_load_back_with_machine_and_date(tmp_path: Path) -> None:
    path = tmp_path / "dedup.json"
    docs_gen.write_result(path, title="t", script="benchmarks/dedup.py", command="python benchmarks/dedup.py",
                          peer="rensa", peer_version="0.5.0", columns=["method", "docs/s"],
                          rows=[["ours", 174739], ["rensa", 107373]])
    data = docs_gen.load_result(path)
    assert data["rows"] == [["ours", 174739], ["rensa", 107373]] and data["peer_version"] == "0.5.0"
    assert data["machine"].endswith("logical cores") and len(data["date"]) == 10
    assert "| ours | 174,739 |" in docs_gen.result_markdown(data)
    with pytest.raises(DatatrainerError, match="row 1 has 1 values"):
        docs_gen.write_result(path, title="t", script="s", command="c", peer="", peer_version="",
                              columns=["a", "b"], rows=[[1, 2], [3]])
