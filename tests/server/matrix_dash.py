"""Role x endpoint matrix rows for the dashboard's HTML pages (`/dashboard`, outside the API prefix).

The matrix's clients have the API's base URL, so each row gives an absolute URL. Pages whose subject the
site does not have yet (a model, a report file) create it first through the workspace, as the CLI would.
"""

from __future__ import annotations

from typing import Any

from tests.server.matrix_common import MEMBERS, Ctx, Make, Row

MODEL = "matrix-model"
REPORT = "matrix-report.html"


def _page(path: str) -> Make:
    return lambda ctx, who: (ctx.site.url + "/dashboard" + path, None)


def _project(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    return f"{ctx.site.url}/dashboard/projects/{ctx.project}", None


def _model(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    with ctx.site.open_workspace() as ws:
        if not ws.models.evaluations(MODEL):
            ws.models.record_evaluation(MODEL, "perplexity", {"perplexity": 12.5}, "news@1")
    return f"{ctx.site.url}/dashboard/models/{MODEL}", None


def _job(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    with ctx.site.open_workspace() as ws:
        found = ws.jobs.list_jobs(limit=1) or [ws.jobs.create("embed", {"ref": "news@1"}, {}, ["news@1"], "root")]
    return f"{ctx.site.url}/dashboard/jobs/{found[0].id}", None


def _report(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    folder = ctx.site.workspace / "reports"
    folder.mkdir(exist_ok=True)
    (folder / REPORT).write_text("<!DOCTYPE html><title>report</title><p>numbers</p>")
    return f"{ctx.site.url}/dashboard/reports/{REPORT}", None


MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/dashboard"): Row(_page("")),
    ("GET", "/dashboard/datasets/{name}"): Row(_page("/datasets/news")),
    ("GET", "/dashboard/versions/{ref}"): Row(_page("/versions/news@1")),
    ("GET", "/dashboard/models"): Row(_page("/models")),
    ("GET", "/dashboard/models/{name:path}"): Row(_model),
    ("GET", "/dashboard/projects"): Row(_page("/projects")),
    ("GET", "/dashboard/projects/{project_id}"): Row(_project, MEMBERS),
    ("GET", "/dashboard/jobs"): Row(_page("/jobs")),
    ("GET", "/dashboard/jobs/{job_id}"): Row(_job),
    ("GET", "/dashboard/audit"): Row(_page("/audit?verify=true")),
    ("GET", "/dashboard/reports/{name}"): Row(_report),
}
