"""The documentation: the site builds strictly, the README stays short and runs what CI runs, and every
command line the guides show is one the CLI accepts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from datatrainer import docs_gen
from datatrainer.operations import get_operation, operation_names

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
COMMANDS = [
    "bash scripts/bootstrap.sh && .venv/bin/datatrainer demo",
    "bash scripts/bootstrap.sh && bash scripts/test.sh",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mkdocs build --strict` into a temporary folder: any warning (broken link or anchor, a nav entry without
    a page, a benchmark result no page shows, a docstring mkdocstrings cannot render) fails the build."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return out


def _text(page: Path) -> str:
    return re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_site_builds_with_every_generated_reference_page(site: Path) -> None:
    cli = _text(site / "reference" / "cli" / "index.html")
    for path, command in docs_gen.cli_commands():
        assert f"datatrainer {' '.join(path)}".strip() in cli
        for param in command.params:
            if not getattr(param, "hidden", False) and param.name != "help":
                assert all(opt in cli for opt in param.opts if opt.startswith("--")), (path, param.opts)
    for name in operation_names():
        page = _text(site / "reference" / "operations" / name / "index.html")
        for field in get_operation(name).params_model.model_fields:
            assert field in page, (name, field)
    rest = _text(site / "reference" / "rest-api" / "index.html")
    schema = docs_gen.openapi_schema()
    for path, methods in schema["paths"].items():
        for method in methods:
            assert f"{method.upper()} {path}" in rest
    assert (site / "reference" / "openapi.json").is_file()
    api = _text(site / "reference" / "python-api" / "index.html")
    for member in ("Workspace", "ingest", "apply", "export", "DatasetVersion", "read_batches"):
        assert member in api


def test_readme_is_short_and_runs_what_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    first_block = text.split("```bash", 1)[1].split("```", 1)[0]
    assert [line for line in first_block.splitlines() if line and not line.startswith("#")] == COMMANDS
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    steps = [line.strip() for line in ci.splitlines() if line.strip().startswith("bash ")]
    assert steps == ["bash scripts/bootstrap.sh", "bash scripts/test.sh"], steps
    assert COMMANDS[1] == " && ".join(steps)


def test_readme_links_point_at_files() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (ROOT / target).exists(), target


def _cli_options() -> dict[tuple[str, ...], set[str]]:
    options: dict[tuple[str, ...], set[str]] = {}
    for path, command in docs_gen.cli_commands():
        options[tuple(path)] = {opt for p in command.params for opt in [*p.opts, *p.secondary_opts]}
    return options


def _command_lines() -> list[tuple[str, str]]:
    """(page, line) for every `datatrainer ...` line inside a fenced code block of the guides and README."""
    found = []
    for page in [README, *sorted((ROOT / "docs").rglob("*.md"))]:
        in_code = False
        for raw in page.read_text(encoding="utf-8").splitlines():
            if raw.lstrip().startswith("```"):
                in_code = not in_code
                continue
            line = raw.split(" #", 1)[0].strip()
            if in_code and re.match(r"^(\.venv/bin/)?datatrainer( |$)", line):
                found.append((page.relative_to(ROOT).as_posix(), line))
    return found


def test_every_command_line_in_the_docs_is_accepted_by_the_cli() -> None:
    """The independent reference is the Typer app itself: a renamed option or command fails here."""
    options = _cli_options()
    groups = {tuple(path) for path, command in docs_gen.cli_commands() if getattr(command, "commands", None)}
    lines = _command_lines()
    assert len(lines) > 50
    for page, line in lines:
        words = [w for w in re.split(r"[\s\[\]|]+", line.split("&&")[0]) if w]
        words = words[1:]
        while words and words[0].startswith("-"):  # global options and their values
            words = words[2:] if words[0] in ("-w", "--workspace", "--db-url") else words[1:]
        path: tuple[str, ...] = ()
        while words and (*path, words[0]) in options:
            path, words = (*path, words[0]), words[1:]
        assert path and path not in groups, f"{page}: no such command: {line}"
        allowed = options[path] | options[()]
        for word in words:
            flag = word.split("=", 1)[0]
            if re.fullmatch(r"--?[a-z][a-z0-9-]*", flag):
                assert flag in allowed, f"{page}: `datatrainer {' '.join(path)}` has no option {flag}: {line}"
