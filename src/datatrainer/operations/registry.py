"""Operations by name: the built-ins, plugins from the `datatrainer.operations` entry-point group, and
operations registered at run time.

Built-ins are a table of "module:Class" strings, imported only when asked for, so that listing names
imports nothing and no algorithm module ever needs to import this package to be registered. A third-party
package adds an operation by declaring, in its pyproject.toml,

    [project.entry-points."datatrainer.operations"]
    my-op = "my_package.ops:MyOperation"

and is then run like a built-in (`ws.apply("my-op", ...)`, `datatrainer apply my-op ...`). A plugin that
cannot be loaded fails with one line naming its entry point; it never stops the built-ins from working.
"""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from datatrainer.errors import DatatrainerError
from datatrainer.operations.base import Operation

GROUP = "datatrainer.operations"

BUILTINS: dict[str, str] = {
    "ingest": "datatrainer.operations.ingest:IngestOperation",
    "filter": "datatrainer.operations.filter:FilterOperation",
    "quality-filter": "datatrainer.operations.quality_filter:QualityFilterOperation",
    "dedup": "datatrainer.operations.dedup:DedupOperation",
    "sample": "datatrainer.operations.sample:SampleOperation",
    "pii-redact": "datatrainer.operations.pii:PiiRedactOperation",
    "license-filter": "datatrainer.operations.license_filter:LicenseFilterOperation",
}

_REGISTERED: dict[str, Operation[Any]] = {}
_LOADED: dict[str, Operation[Any]] = {}
_LOCK = threading.Lock()


def register(operation: type[Operation[Any]]) -> type[Operation[Any]]:
    """Class decorator: make an operation runnable by name in this process (tests, notebooks). Packages
    should declare an entry point instead, so the CLI finds them too."""
    with _LOCK:
        if operation.name in _REGISTERED or operation.name in BUILTINS or operation.name in _plugins():
            raise ValueError(f"operation {operation.name!r} is registered twice")
        _REGISTERED[operation.name] = operation()
    return operation


def _plugins() -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=GROUP)}


def operation_names() -> list[str]:
    """Every operation name: built-in, plugin and registered (nothing is imported)."""
    return sorted({*BUILTINS, *_plugins(), *_REGISTERED})


def _load_builtin(name: str) -> type[Operation[Any]]:
    module, _, attribute = BUILTINS[name].partition(":")
    loaded: type[Operation[Any]] = getattr(importlib.import_module(module), attribute)
    return loaded


def _load_plugin(entry: EntryPoint) -> type[Operation[Any]]:
    where = f"entry point {entry.name!r} = {entry.value!r} (group {GROUP})"
    try:
        loaded = entry.load()
    except Exception as exc:  # a broken plugin: any import-time error is its own, report it in one line
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatatrainerError(f"cannot load operation plugin {where}: {detail}") from None
    if not (isinstance(loaded, type) and issubclass(loaded, Operation)):
        raise DatatrainerError(f"operation plugin {where} is not an Operation subclass")
    if getattr(loaded, "name", None) != entry.name:
        raise DatatrainerError(f"operation plugin {where} names itself {getattr(loaded, 'name', None)!r}")
    return loaded


def get_operation(name: str) -> Operation[Any]:
    """The operation called `name`, importing it on first use; an unknown name is a one-line error."""
    with _LOCK:
        if name in _REGISTERED:
            return _REGISTERED[name]
        if name in _LOADED:
            return _LOADED[name]
        if name in BUILTINS:
            cls = _load_builtin(name)
        else:
            plugin = _plugins().get(name)
            if plugin is None:
                raise DatatrainerError(f"unknown operation {name!r}; known: {', '.join(operation_names())}")
            cls = _load_plugin(plugin)
        _LOADED[name] = cls()
        return _LOADED[name]
