"""What an annotation project's page shows: how far it has got, how well its annotators agree, and how often
they kept the pre-annotations.

The annotation service decides who sees what, as it does for the REST API: progress and suggestion
acceptance need the reviewer role in the project, agreement (which reads every annotator's answers) the
project's admin role. A panel the caller may not see is left out, so the page shows no number they could
not fetch through the API.
"""

from __future__ import annotations

from html import escape
from typing import Any

from datatrainer.annotation.types import ProjectInfo
from datatrainer.quality.report_html import fmt_count, fmt_rate, fmt_score, html_table
from datatrainer.quality.report_plots import bars_svg
from datatrainer.security.errors import PermissionDenied
from datatrainer.server.dashboard.registry import PROJECT_PANELS, Context
from datatrainer.server.routers.reports import _agreement as project_agreement  # the REST API's computation

AGREEMENT_TASKS = ("ner", "classification")


@PROJECT_PANELS.register("progress", "Progress", scope="annotate", order=10)
def progress(ctx: Context, project: ProjectInfo) -> str | None:
    try:
        found = ctx.ws.annotation.progress(ctx.user, project.id)
    except PermissionDenied:
        return None
    done = found.by_state.get("accepted", 0) + found.by_state.get("rejected", 0)
    annotated = done + found.by_state.get("annotated", 0) + found.by_state.get("in_review", 0)
    share = done / found.total if found.total else 0.0
    rows = [[escape(name), fmt_count(p.assigned), fmt_count(p.submitted), fmt_count(p.skipped)]
            for name, p in found.per_annotator.items()]
    return (f"<p>Of {fmt_count(found.total)} tasks, {fmt_count(annotated)} annotated and {fmt_count(done)} "
            f"reviewed ({fmt_rate(share)}).</p>"
            f"<div class='bar' title='{fmt_rate(share)}'><div style='width:{100 * share:.1f}%'></div></div>"
            + bars_svg({state: float(count) for state, count in found.by_state.items()}, "tasks")
            + "<h3>Per annotator</h3>"
            + html_table(["annotator", "assigned", "submitted", "skipped"], rows, numeric=(1, 2, 3)))


def _pair_rows(pairs: list[dict[str, Any]], task_type: str) -> list[list[str]]:
    if task_type == "ner":
        return [[escape(p["annotator"]), escape(p["other"]), fmt_count(p["items"]),
                 fmt_score(p["exact"]["micro"]["f1"]), fmt_score(p["overlap"]["micro"]["f1"])] for p in pairs]
    return [[escape(p["annotator"]), escape(p["other"]), fmt_count(p["items"]), fmt_score(p["kappa"])]
            for p in pairs]


@PROJECT_PANELS.register("agreement", "Agreement", scope="annotate", order=20)
def agreement(ctx: Context, project: ProjectInfo) -> str | None:
    if project.task_type not in AGREEMENT_TASKS:
        return None
    try:
        found = project_agreement(ctx.ws.annotation, ctx.user, project.id)
    except PermissionDenied:
        return None
    if found.spans is not None:
        result, head = found.spans, ["annotator", "other", "items", "span F1 (exact)", "span F1 (overlap)"]
        overall = ""
    else:
        assert found.classification is not None
        result, head = found.classification, ["annotator", "other", "items", "Cohen's kappa"]
        overall = (f"<p>Fleiss' kappa {fmt_score(result['fleiss_kappa'])}, Krippendorff's alpha "
                   f"{fmt_score(result['krippendorff_alpha'])}.</p>")
    if not result["items"]:
        return "<p class='muted'>No item has answers from two annotators yet.</p>"
    return (f"<p>{fmt_count(result['items'])} items answered by at least two of "
            f"{escape(', '.join(result['annotators']))}.</p>" + overall
            + "<h3>Per pair</h3>" + html_table(head, _pair_rows(result["pairs"], found.task_type),
                                                numeric=range(2, len(head)))
            + "<h3>Each annotator against the others</h3>"
            + html_table(head, _pair_rows(result["vs_others"], found.task_type), numeric=range(2, len(head))))


@PROJECT_PANELS.register("suggestions", "Pre-annotations kept", scope="annotate", order=30)
def suggestions(ctx: Context, project: ProjectInfo) -> str | None:
    try:
        found = ctx.ws.annotation.suggestion_acceptance(ctx.user, project.id)
    except PermissionDenied:
        return None
    if not found:
        return None
    return html_table(["source", "label", "suggested", "kept", "changed", "deleted"],
                      [[escape(a.source), escape(a.label), fmt_count(a.suggested), fmt_count(a.accepted),
                        fmt_count(a.changed), fmt_count(a.deleted)] for a in found], numeric=(2, 3, 4, 5))
