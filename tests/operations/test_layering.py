"""The algorithm packages never import the operations package (no import cycles, usable on their own),
and the built-in registries name only classes that exist, with the names they are registered under."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import datatrainer
from datatrainer.operations.base import Operation
from datatrainer.operations.registry import BUILTINS as OPERATIONS
from datatrainer.sampling.base import BUILTINS as SAMPLERS
from datatrainer.sampling.base import Sampler

PACKAGE = Path(datatrainer.__file__).parent
LIBRARIES = ("io", "quality", "sampling", "scoring")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at top level or inside functions (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_the_scanner_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    assert "datatrainer.operations.base" in imported_modules(PACKAGE / "operations" / "filter.py")
    assert "datatrainer.workspace" in imported_modules(PACKAGE / "operations" / "run.py")  # under TYPE_CHECKING


@pytest.mark.parametrize("library", LIBRARIES)
def test_algorithm_libraries_never_import_operations(library: str) -> None:
    offenders = {str(path.relative_to(PACKAGE)): sorted(m for m in imported_modules(path)
                                                        if m == "datatrainer.operations"
                                                        or m.startswith("datatrainer.operations."))
                 for path in sorted((PACKAGE / library).rglob("*.py"))}
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_sampler_base_does_not_import_its_implementations() -> None:
    implementations = {target.partition(":")[0] for target in SAMPLERS.values()}
    assert not implementations & imported_modules(PACKAGE / "sampling" / "base.py")


@pytest.mark.parametrize(("name", "target"), sorted(OPERATIONS.items()))
def test_builtin_operations_resolve_to_their_names(name: str, target: str) -> None:
    module, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module), attribute)
    assert issubclass(cls, Operation) and cls.name == name


@pytest.mark.parametrize(("name", "target"), sorted(SAMPLERS.items()))
def test_builtin_samplers_resolve_to_their_names(name: str, target: str) -> None:
    module, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module), attribute)
    assert issubclass(cls, Sampler) and cls.name == name
