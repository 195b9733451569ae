"""Reference pages of the documentation site, generated from the code so they cannot drift from it.

The MkDocs hook (`docs/hooks/generate.py`) calls these at build time; nothing here is written to disk by
hand. Each page is rendered from the one source of truth for its subject:

- the command line from the Typer app (every command, argument and option, with its help and default);
- each operation from its Pydantic parameter model (and, for `sample`, every sampler's own model);
- the REST API from the FastAPI app's OpenAPI schema;
- benchmark tables from result files (JSON) that record machine, date and the peer's version.

Where a parameter model gives a field no description, the operation's page falls back to the help of the CLI
option with the same name, so a user still reads what the field does.
"""

from __future__ import annotations

import html
import inspect
import json
import tempfile
import types
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from datatrainer.errors import DatatrainerError

OPERATIONS_DIR = "reference/operations"
CLI_PAGE = "reference/cli.md"
REST_PAGE = "reference/rest-api.md"
OPENAPI_FILE = "reference/openapi.json"
_CONSTRAINTS = (("ge", "≥ {}"), ("gt", "> {}"), ("le", "≤ {}"), ("lt", "< {}"), ("min_length", "at least {} long"),
                ("max_length", "at most {} long"), ("pattern", "matches `{}`"))


# ---------------------------------------------------------------------------------------------- helpers

class Raw(str):
    """Markdown or HTML already safe for a table cell (not escaped again)."""


def code(text: str) -> Raw:
    """Inline code for a table cell: HTML, because Markdown keeps `\\|` literally inside backticks."""
    return Raw("<code>" + html.escape(text).replace("|", "&#124;") + "</code>")


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes and angle brackets escaped."""
    if isinstance(text, Raw):
        return " ".join(text.split())
    flat = " ".join(str(text).split())
    return flat.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def type_name(annotation: Any) -> str:
    """A Python annotation as users write it: `int | None`, `list["c4" | "lang"]`, `Budget`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "None"
    if origin is Annotated:
        return type_name(args[0])
    if origin is Literal:
        return " | ".join(json.dumps(arg.value if isinstance(arg, Enum) else arg) for arg in args)
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin is not None:
        inner = ", ".join("..." if arg is Ellipsis else type_name(arg) for arg in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]" if inner else getattr(origin, "__name__", "")
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _value(value: Any) -> str:
    """A default as Python writes it (parameters are passed as Python values: `ws.apply(..., {"seed": 0})`)."""
    if isinstance(value, Enum):
        value = value.value
    return repr(str(value) if isinstance(value, Path) else value)


def _first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


# ---------------------------------------------------------------------------------------------- the CLI

def cli_root() -> Any:
    """The Click-style command tree behind `datatrainer` (Typer builds it from the app)."""
    import typer

    from datatrainer.cli.app import app

    return typer.main.get_command(app)


def cli_commands(root: Any | None = None) -> Iterator[tuple[list[str], Any]]:
    """Every visible command and group, depth first, as (path after `datatrainer`, command)."""
    root = root if root is not None else cli_root()

    def walk(path: list[str], command: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name, child in _children(command):
            yield from walk([*path, name], child)

    yield from walk([], root)


def _children(command: Any) -> list[tuple[str, Any]]:
    """A group's visible subcommands in registration order (what `--help` lists)."""
    return [(name, child) for name, child in getattr(command, "commands", {}).items()
            if not getattr(child, "hidden", False)]


def _is_option(param: Any) -> bool:
    return any(opt.startswith("-") for opt in param.opts)


def _visible(params: Iterable[Any]) -> list[Any]:
    return [p for p in params if not getattr(p, "hidden", False) and p.name != "help"]


def _param_default(param: Any) -> str:
    default = param.default
    if param.required or default is None or default is PydanticUndefined or repr(default).startswith("<"):
        return ""
    if getattr(param, "is_flag", False):
        if param.secondary_opts:
            return str(param.opts[0] if default else param.secondary_opts[0])
        return "on" if default else "off"
    if isinstance(default, list | tuple) and not default:
        return ""
    return _value(default)


def _param_type(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if getattr(param, "is_flag", False):
        return "flag"
    if annotation is None:
        return ""
    name = type_name(annotation)
    return f"{name}, repeatable" if getattr(param, "multiple", False) else name


def _param_names(param: Any) -> str:
    if not _is_option(param):
        return str(param.name).upper()
    return ", ".join([*param.opts, *param.secondary_opts])


def cli_usage(path: list[str], command: Any) -> str:
    args = []
    for param in _visible(command.params):
        if _is_option(param):
            continue
        name = param.name.upper() + ("..." if getattr(param, "nargs", 1) == -1 else "")
        args.append(name if param.required else f"[{name}]")
    tail = " COMMAND" if _children(command) else ""
    return " ".join(["datatrainer", *path, "[OPTIONS]", *args]) + tail


def option_help(path: list[str]) -> dict[str, str]:
    """The help of each parameter of the command at `path`, keyed by its Python name (`text_field`)."""
    commands = dict((tuple(p), c) for p, c in cli_commands())
    command = commands.get(tuple(path))
    if command is None:
        return {}
    return {p.name: p.help for p in _visible(command.params) if getattr(p, "help", None)}


def cli_markdown() -> str:
    """The command-line reference: one section per command, its usage, help and every parameter."""
    parts = ["# Command line reference",
             "",
             "Generated from the installed command-line app when the site is built: every command, argument and "
             "option, with its help and default. `datatrainer COMMAND --help` prints the same. The guides under "
             "*Commands* explain what the commands are for and show them together.",
             ""]
    for path, command in cli_commands():
        title = " ".join(["datatrainer", *path])
        parts += [f"## {title}", "", f"```\n{cli_usage(path, command)}\n```", ""]
        if command.help:
            parts += [command.help.strip(), ""]
        params = _visible(command.params)
        if params:
            rows = [(f"`{_param_names(p)}`", _param_type(p), _param_default(p),
                     ("required. " if p.required and _is_option(p) else "") + (getattr(p, "help", None) or "")
                     + (f" (env `{p.envvar}`)" if getattr(p, "envvar", None) else ""))
                    for p in params]
            parts += [table(["parameter", "type", "default", "meaning"], rows), ""]
        children = _children(command)
        if children:
            commands = [(f"[`{name}`](#{_slug(' '.join([title, name]))})", _first_paragraph(child.help))
                        for name, child in children]
            parts += [table(["command", "what it does"], commands), ""]
    return "\n".join(parts)


def _slug(title: str) -> str:
    """The anchor MkDocs' table of contents gives a heading made of words, spaces and hyphens."""
    return "-".join(title.lower().split())


# ---------------------------------------------------------------------------------------------- operations

def model_rows(model: type[BaseModel], fallback_help: Mapping[str, str] | None = None) -> list[tuple[str, ...]]:
    """(name, type, default, constraints and meaning) per field of a parameter model, in declaration order."""
    rows: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        default = "required" if info.is_required() else _value(info.get_default(call_default_factory=True))
        limits = [template.format(getattr(meta, attr)) for meta in info.metadata for attr, template in _CONSTRAINTS
                  if getattr(meta, attr, None) is not None]
        meaning = info.description or (fallback_help or {}).get(name, "")
        if limits:
            meaning = f"{meaning} ({', '.join(limits)})" if meaning else ", ".join(limits)
        rows.append((f"`{name}`", code(type_name(info.annotation)), default, meaning))
    return rows


def operation_markdown(name: str) -> str:
    """The page of one registered operation: what it does, how to call it, every parameter."""
    from datatrainer.operations import get_operation

    operation = get_operation(name)
    model = operation.params_model
    cli_path = name.split("-") if name not in option_help_paths() else option_help_paths()[name]
    fallback = option_help(cli_path)
    inputs = (f"{operation.min_inputs}" if operation.min_inputs == operation.max_inputs
              else f"{operation.min_inputs} to {operation.max_inputs}")
    example = ", ".join(f'"{field}": ...' for field, info in model.model_fields.items() if info.is_required())
    parts = [f"# Operation `{name}`", ""]
    doc = inspect.cleandoc(type(operation).__doc__ or "")
    if doc:
        parts += [doc, ""]
    parts += [f"Input versions: {inputs}. Parameter model: `{model.__module__}.{model.__qualname__}`.", ""]
    model_doc = inspect.cleandoc(model.__doc__ or "")
    if model_doc and not model_doc.startswith(("Usage docs:", "!!! abstract")):
        parts += [model_doc, ""]
    parts += ["```python",
              f'ws.apply("{name}", [{"" if operation.max_inputs == 0 else "version"}], {{{example}}})',
              "```", ""]
    if ("apply",) in dict((tuple(p), c) for p, c in cli_commands()):
        required = " ".join(f"-p {field}=..." for field, info in model.model_fields.items() if info.is_required())
        inputs_arg = "" if operation.max_inputs == 0 else " VERSION"
        parts += ["```bash", f"datatrainer apply {name}{inputs_arg} {required}".rstrip()
                  + "    # -p KEY=VALUE per parameter, or --params JSON", "```", ""]
    parts += ["## Parameters", "",
              "Generated from the parameter model when the site is built. Unknown parameters are refused; a "
              "value outside its limits is a one-line error naming the parameter.", ""]
    rows = model_rows(model, fallback)
    parts += [table(["parameter", "type", "default", "meaning"], rows) if rows else "It takes no parameters.", ""]
    for title, text in _extra_sections(name):
        parts += [f"## {title}", "", text, ""]
    return "\n".join(parts)


def option_help_paths() -> dict[str, list[str]]:
    """Operations whose CLI command is not spelled like the operation (`quality-filter` is `quality filter`)."""
    return {"quality-filter": ["quality", "filter"]}


def _extra_sections(name: str) -> list[tuple[str, str]]:
    if name != "sample":
        return []
    from datatrainer.sampling import sampler_class, sampler_names

    fallback = option_help(["sample"])
    sections = []
    for sampler in sampler_names():
        cls = sampler_class(sampler)
        if cls is None:
            continue
        needs = ", ".join(sorted(getattr(cls, "needs", ()))) or "nothing beyond the records"
        rows = model_rows(cls.params_model, fallback)
        body = [_first_paragraph(cls.__doc__), "", f"Reads: {needs}.", ""]
        body.append(table(["parameter", "type", "default", "meaning"], rows) if rows else "No options of its own.")
        sections.append((f"Sampler `{sampler}`", "\n".join(body)))
    return sections


def operations_index_markdown(names: list[str]) -> str:
    from datatrainer.operations import get_operation

    rows = [(f"[`{name}`]({name}.md)", _first_paragraph(type(get_operation(name)).__doc__)) for name in names]
    return "\n".join([
        "# Operations",
        "",
        "An operation is a named, parameterised step from input versions to a new version; the CLI, the Python "
        "API (`ws.apply(name, inputs, params)`) and the server run the same code, and the new version records "
        "the operation, its parameters and its parents. `datatrainer operations` lists them. Each page below is "
        "generated from the operation's parameter model when the site is built.",
        "",
        table(["operation", "what it does"], rows),
        "",
    ])


# ---------------------------------------------------------------------------------------------- REST API

def openapi_schema() -> dict[str, Any]:
    """The server's OpenAPI schema, from an app built on a throwaway workspace (nothing is served)."""
    from datatrainer.server.app import create_app
    from datatrainer.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="datatrainer-docs-") as folder:
        Workspace.init(folder).close()
        app = create_app(folder)
        try:
            return app.openapi()
        finally:
            app.state.workspace.close()


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def schema_type(schema: Mapping[str, Any], known: frozenset[str] = frozenset()) -> str:
    """A JSON schema as a short type: `SubmitIn` (linked when `known` has it), `integer | null`, `array of TaskOut`."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{name.lower()})" if name in known else f"`{name}`"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " \\| ".join(schema_type(part, known) for part in schema[key])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {schema_type(schema.get('items', {}), known)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {schema_type(schema['additionalProperties'], known)}"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _limits(schema: Mapping[str, Any]) -> str:
    parts = []
    for part in [schema, *schema.get("anyOf", [])]:
        for key, template in (("minimum", "≥ {:g}"), ("maximum", "≤ {:g}"), ("exclusiveMinimum", "> {:g}"),
                              ("exclusiveMaximum", "< {:g}"), ("minLength", "at least {} characters"),
                              ("maxLength", "at most {} characters"), ("pattern", "matches `{}`")):
            if key in part:
                parts.append(template.format(part[key]))
    return f" ({', '.join(parts)})" if parts else ""


def _body_cell(text: str) -> str:
    """A table cell that may hold Markdown links made by `schema_type` (so only newlines are flattened)."""
    return " ".join(text.split())


def rest_markdown(schema: Mapping[str, Any]) -> str:
    """The REST API reference: each route grouped by tag with parameters, body and responses; then schemas."""
    info = schema.get("info", {})
    parts = ["# REST API reference", "",
             f"Generated from the OpenAPI schema of **{info.get('title', 'the server')}** {info.get('version', '')} "
             "when the site is built. A running server serves the same schema at `/api/v1/openapi.json` and an "
             "interactive page at `/api/v1/docs`; the schema is also [downloadable here](openapi.json). "
             "[Annotation and the server](../commands/annotation.md) explains how the routes are used, the "
             "[security model](../security.md) how callers authenticate.", "",
             "Every route under `/api/v1` takes a bearer token (`Authorization: Bearer TOKEN`) or the session "
             "cookie of a logged-in browser; cookie requests that change something also need the `X-CSRF-Token` "
             "header. Errors are JSON with a one-line `detail`.", ""]
    known = frozenset(schema.get("components", {}).get("schemas", {}))

    def shape(part: Mapping[str, Any]) -> str:
        return _body_cell(schema_type(part, known))

    by_tag: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, route in methods.items():
            tag = (route.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, route))
    for tag, routes in by_tag.items():
        parts += [f"## {tag}", ""]
        for method, path, route in routes:
            parts += [f"### `{method} {path}`", ""]
            if route.get("description") or route.get("summary"):
                parts += [(route.get("description") or route["summary"]).strip(), ""]
            params = route.get("parameters", [])
            if params:
                rows = [(f"`{p['name']}`", p.get("in", ""), shape(p.get("schema", {})),
                         ("required. " if p.get("required") else "") + cell(p.get("description", ""))
                         + _limits(p.get("schema", {})))
                        for p in params]
                parts += ["| parameter | in | type | meaning |", "|---|---|---|---|"]
                parts += ["| " + " | ".join(row) + " |" for row in rows]
                parts.append("")
            body = route.get("requestBody", {}).get("content", {})
            if body:
                kinds = ", ".join(f"`{kind}` {shape(content.get('schema', {}))}" for kind, content in body.items())
                parts += [f"Request body: {kinds}", ""]
            responses = route.get("responses", {})
            if responses:
                parts += ["| status | meaning | body |", "|---|---|---|"]
                for status, response in responses.items():
                    content = response.get("content", {})
                    body_shape = " ".join(shape(c.get("schema", {})) for c in content.values()) if content else ""
                    parts.append(f"| {status} | {cell(response.get('description', ''))} | {body_shape} |")
                parts.append("")
    parts += ["## Schemas", ""]
    for name, model in sorted(schema.get("components", {}).get("schemas", {}).items()):
        parts += [f"### {name}", ""]
        if model.get("description"):
            parts += [model["description"].strip(), ""]
        props = model.get("properties", {})
        required = set(model.get("required", []))
        if props:
            parts += ["| field | type | meaning |", "|---|---|---|"]
            for field, spec in props.items():
                meaning = (("required. " if field in required else "") + cell(spec.get("description", ""))
                           + _limits(spec))
                parts.append(f"| `{field}` | {shape(spec)} | {meaning} |")
            parts.append("")
        elif model.get("enum"):
            parts += [f"One of {shape(model)}.", ""]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------- benchmarks

_RESULT_KEYS = ("title", "script", "command", "machine", "date", "peer", "peer_version", "columns", "rows")


def load_result(path: Path) -> dict[str, Any]:
    """A benchmark result file; a missing key is a one-line error naming the file and the key."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatatrainerError(f"{path}: cannot read benchmark result: {exc}") from None
    missing = [key for key in _RESULT_KEYS if key not in data]
    if missing:
        raise DatatrainerError(f"{path}: benchmark result lacks {', '.join(missing)}")
    for index, row in enumerate(data["rows"]):
        if len(row) != len(data["columns"]):
            raise DatatrainerError(f"{path}: row {index} has {len(row)} values for {len(data['columns'])} columns")
    return data


def result_markdown(data: Mapping[str, Any]) -> str:
    """One benchmark result as a caption (machine, date, peer and its version, command) and its table."""
    peer = f"{data['peer']} {data['peer_version']}" if data["peer"] else "none"
    caption = (f"*{data['machine']}; {data['date']}; peer: {peer}; "
               f"script `{data['script']}`.*")
    parts = [caption, "", f"```bash\n{data['command']}\n```", "",
             table(data["columns"], ([_number(v) for v in row] for row in data["rows"]))]
    if data.get("notes"):
        parts += ["", str(data["notes"])]
    return "\n".join(parts)


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}"


def machine_description() -> str:
    """The CPU model and core count, as result files name the machine (Linux `/proc/cpuinfo`; else the
    platform's processor string)."""
    import os
    import platform

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def write_result(path: Path, *, title: str, script: str, command: str, peer: str, peer_version: str,
                 columns: list[str], rows: list[list[object]], notes: str = "", machine: str | None = None) -> None:
    """Write a benchmark result file the documentation renders (`<!-- benchmark: NAME -->` on a page).

    Benchmark scripts call this with their table; the machine (unless given) and today's date are filled in,
    so every published number carries where and when it was measured and against which peer version.
    """
    from datetime import UTC, datetime

    data = {"title": title, "script": script, "command": command, "machine": machine or machine_description(),
            "date": datetime.now(UTC).date().isoformat(), "peer": peer, "peer_version": peer_version,
            "columns": columns, "rows": rows, "notes": notes}
    for index, row in enumerate(rows):
        if len(row) != len(columns):
            raise DatatrainerError(f"{path}: row {index} has {len(row)} values for {len(columns)} columns")
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    temporary.replace(path)
