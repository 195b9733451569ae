"""MkDocs hook: the reference pages are generated from the code at build time (see `datatrainer.docs_gen`).

- `reference/cli.md` from the Typer app, `reference/rest-api.md` (and `openapi.json`) from the FastAPI app,
  `reference/operations/*.md` from each operation's parameter model; the operation pages are added to the nav
  under the operations index, so a new operation gets its page without editing mkdocs.yml.
- `<!-- benchmark: NAME -->` on a line of its own in a page is replaced by the table of
  `docs/benchmarks/NAME.json`; a result file no page shows is a warning, so `mkdocs build --strict` fails.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

from datatrainer import docs_gen
from datatrainer.operations import operation_names

log = logging.getLogger("mkdocs.plugins.datatrainer")
_BENCHMARK = re.compile(r"^<!--\s*benchmark:\s*([\w.-]+)\s*-->[ \t]*$", re.MULTILINE)  # on a line of its own
_shown: set[str] = set()


def on_config(config: Any) -> Any:
    index = f"{docs_gen.OPERATIONS_DIR}/index.md"
    pages = [{name: f"{docs_gen.OPERATIONS_DIR}/{name}.md"} for name in operation_names()]

    def expand(items: list[Any]) -> bool:
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            ((title, value),) = item.items()
            if value == index:
                items[position] = {title: [index, *pages]}
                return True
            if isinstance(value, list) and expand(value):
                return True
        return False

    if not expand(config["nav"] or []):
        log.warning(f"datatrainer docs hook: {index} is not in the nav; the operation pages are not listed")
    _shown.clear()
    return config


def on_files(files: Files, config: Any) -> Files:
    names = operation_names()
    schema = docs_gen.openapi_schema()
    generated = {
        docs_gen.CLI_PAGE: docs_gen.cli_markdown(),
        docs_gen.REST_PAGE: docs_gen.rest_markdown(schema),
        docs_gen.OPENAPI_FILE: json.dumps(schema, indent=1),
        f"{docs_gen.OPERATIONS_DIR}/index.md": docs_gen.operations_index_markdown(names),
    }
    for name in names:
        generated[f"{docs_gen.OPERATIONS_DIR}/{name}.md"] = docs_gen.operation_markdown(name)
    for path, content in generated.items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    folder = Path(config["docs_dir"]) / "benchmarks"

    def table(match: re.Match[str]) -> str:
        name = match.group(1)
        _shown.add(name)
        return docs_gen.result_markdown(docs_gen.load_result(folder / f"{name}.json"))

    return _BENCHMARK.sub(table, markdown)


def on_post_build(config: Any) -> None:
    folder = Path(config["docs_dir"]) / "benchmarks"
    for path in sorted(folder.glob("*.json")):
        if path.stem not in _shown:
            log.warning(f"benchmark result {path} is shown on no page (add <!-- benchmark: {path.stem} -->)")
