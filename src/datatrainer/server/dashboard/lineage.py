"""The lineage graph as server-rendered SVG: one box per version, an arrow from each parent to its child, and
every box a link to its version page.

Layout is the layered drawing of a DAG in its simplest form: a version's column is its longest path from a
root (so every arrow points right), and within a column versions sit in the order of their parents' rows
(one barycentre pass, which removes most crossings in lineage graphs: mostly chains with a few joins), ties
broken by creation order. Versions are created after their parents, so creation order is a topological order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from datatrainer.server.dashboard.html import url
from datatrainer.store.catalog import VersionInfo
from datatrainer.workspace import Workspace

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 170, 42, 56, 14, 8
MAX_LABEL = 22


def all_versions(ws: Workspace) -> list[VersionInfo]:
    """Every version of the workspace, oldest first."""
    found = [info for name in ws.catalog.dataset_names() for info in ws.catalog.versions_of(name)]
    return sorted(found, key=lambda info: (info.created_at, info.id))


def connected(versions: Sequence[VersionInfo], ref: str) -> list[VersionInfo]:
    """`ref` with its ancestors and descendants (what it came from and what was made from it)."""
    parents = {info.ref: info.parents for info in versions}
    children: dict[str, list[str]] = {}
    for info in versions:
        for parent in info.parents:
            children.setdefault(parent, []).append(info.ref)
    keep = {ref}
    for edges in (parents, children):
        pending = [ref]
        while pending:
            for nxt in edges.get(pending.pop(), ()):
                if nxt not in keep:
                    keep.add(nxt)
                    pending.append(nxt)
    return [info for info in versions if info.ref in keep]


def layout(versions: Sequence[VersionInfo]) -> dict[str, tuple[int, int]]:
    """ref -> (column, row) for versions given oldest first; parents outside the set are ignored."""
    column: dict[str, int] = {}
    for info in versions:
        column[info.ref] = 1 + max((column[p] for p in info.parents if p in column), default=-1)
    rows: dict[str, int] = {}
    columns: dict[int, list[VersionInfo]] = {}
    for info in versions:
        columns.setdefault(column[info.ref], []).append(info)
    for index in sorted(columns):
        members = columns[index]
        order = {info.ref: position for position, info in enumerate(members)}

        def barycentre(info: VersionInfo, order: dict[str, int] = order) -> tuple[float, int]:
            placed = [rows[p] for p in info.parents if p in rows]
            return (sum(placed) / len(placed) if placed else float("inf"), order[info.ref])

        for row, info in enumerate(sorted(members, key=barycentre)):
            rows[info.ref] = row
    return {ref: (column[ref], rows[ref]) for ref in column}


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _edges(versions: Iterable[VersionInfo], place: dict[str, tuple[int, int]]) -> str:
    paths = []
    for info in versions:
        for parent in info.parents:
            if parent not in place:
                continue
            (c0, r0), (c1, r1) = place[parent], place[info.ref]
            x0, y0 = PAD + c0 * (BOX_W + GAP_X) + BOX_W, PAD + r0 * (BOX_H + GAP_Y) + BOX_H / 2
            x1, y1 = PAD + c1 * (BOX_W + GAP_X), PAD + r1 * (BOX_H + GAP_Y) + BOX_H / 2
            bend = (x1 - x0) / 2
            paths.append(f'<path class="edge" data-from="{escape(parent)}" data-to="{escape(info.ref)}" '
                         f'd="M{x0:g},{y0:g} C{x0 + bend:g},{y0:g} {x1 - bend:g},{y1:g} {x1 - 4:g},{y1:g}" '
                         'marker-end="url(#arrow)"/>')
    return "".join(paths)


def lineage_svg(versions: Sequence[VersionInfo], current: str | None = None) -> str:
    """The graph of `versions` (oldest first); `current` is drawn highlighted."""
    if not versions:
        return ""
    place = layout(versions)
    width = PAD * 2 + (max(c for c, _ in place.values()) + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + (max(r for _, r in place.values()) + 1) * (BOX_H + GAP_Y) - GAP_Y
    nodes = []
    for info in versions:
        col, row = place[info.ref]
        x, y = PAD + col * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y)
        css = "node current" if info.ref == current else "node"
        nodes.append(f'<a class="{css}" href="{escape(url("versions", info.ref))}" data-ref="{escape(info.ref)}">'
                     f"<title>{escape(info.ref)}: {escape(info.operation)}, {info.row_count:,} rows</title>"
                     f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
                     f'<text x="{x + 8}" y="{y + 17}" class="ref">{escape(_short(info.ref))}</text>'
                     f'<text x="{x + 8}" y="{y + 33}" class="op">{escape(_short(info.operation))} · '
                     f"{info.row_count:,}</text></a>")
    return (f'<div class="lineage"><svg xmlns="http://www.w3.org/2000/svg" class="lineage-graph" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="lineage graph">'
            '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
            'orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>'
            f"{_edges(versions, place)}{''.join(nodes)}</svg></div>")
