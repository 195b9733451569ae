"""Dataset cards: a README.md that travels with every export and says where the data came from."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import pyarrow.compute as pc

from datatrainer.store.schema import LICENSE, SOURCE
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace


def lineage(workspace: Workspace, version: DatasetVersion) -> list[DatasetVersion]:
    """The version and all its ancestors, nearest first (breadth-first, each once)."""
    order: list[DatasetVersion] = []
    seen: set[str] = set()
    queue = [version]
    while queue:
        current = queue.pop(0)
        if current.ref in seen:
            continue
        seen.add(current.ref)
        order.append(current)
        queue.extend(workspace.version(parent) for parent in current.info.parents)
    return order


def value_counts(version: DatasetVersion, column: str) -> Counter[str]:
    """Records per value of a column (`(none)` for nulls), streamed over the column alone; empty if absent."""
    counts: Counter[str] = Counter()
    if column not in version.schema.names:
        return counts
    for batch in version.read_batches([column]):
        for item in pc.value_counts(batch.column(0).cast("string")).to_pylist():
            counts[item["values"] if item["values"] is not None else "(none)"] += item["counts"]
    return counts


def _listed(counts: Counter[str]) -> str:
    return ", ".join(f"{value} ({count:,})" for value, count in sorted(counts.items())).replace("|", "\\|") or "-"


def dataset_card(workspace: Workspace, version: DatasetVersion, fmt: str) -> str:
    info = version.info
    licenses = sorted({str(v.info.params["license"]) for v in lineage(workspace, version)
                       if v.info.params.get("license")})
    front = ["---", f"pretty_name: {json.dumps(version.ref)}"]
    if len(licenses) == 1:
        front.append(f"license: {json.dumps(licenses[0])}")
    front += [f"datatrainer_version: {json.dumps(version.ref)}", f"num_rows: {info.row_count}", "---", ""]
    lines = front + [
        f"# {version.ref}",
        "",
        f"Exported by {info.code_version} as `{fmt}`. {info.row_count:,} records.",
        "",
        "## Schema",
        "",
        "| column | type |",
        "|---|---|",
        *[f"| `{field.name}` | `{field.type}` |" for field in version.schema],
        "",
        "## Lineage",
        "",
        "Each version was made by one operation from its parents (nearest first).",
        "",
        "| version | rows | operation | parents | created | parameters |",
        "|---|---:|---|---|---|---|",
    ]
    for step in lineage(workspace, version):
        s = step.info
        params = json.dumps(s.params, sort_keys=True).replace("|", "\\|")
        lines.append(f"| `{step.ref}` | {s.row_count:,} | `{s.operation}` | {', '.join(s.parents) or '-'} | "
                     f"{s.created_at:%Y-%m-%d %H:%M UTC} | `{params}` |")
    if licenses:
        lines += ["", "## Licenses", "", *[f"- {name}" for name in licenses]]
    lines += ["", "## Sources and licenses", "", "Records per `source` and per `license` in every version of the "
              "lineage.", "", "| version | sources | licenses |", "|---|---|---|"]
    for step in lineage(workspace, version):
        lines.append(f"| `{step.ref}` | {_listed(value_counts(step, SOURCE))} | "
                     f"{_listed(value_counts(step, LICENSE))} |")
    return "\n".join(lines) + "\n"
