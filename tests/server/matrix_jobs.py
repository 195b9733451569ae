"""Role x endpoint matrix rows for the jobs API: each caller acts on a job of its own, made through the workspace
as the CLI would (a queued one to stop; a stopped dedup of the site's news to resume)."""

from __future__ import annotations

from typing import Any

from tests.server.matrix_common import Ctx, Row, fixed


def _job(ctx: Ctx, action: str) -> tuple[str, Any]:
    with ctx.site.open_workspace() as ws:
        job = ws.jobs.create("dedup", {"ref": "news@1", "method": "exact"}, {"engine": "local"}, ["news@1"],
                             "local:matrix")
        if action == "resume":
            ws.jobs.request_stop(job.id)  # queued -> stopped: resumable
    return f"/jobs/{job.id}/{action}", None


def _first(ctx: Ctx, who: str | None) -> tuple[str, Any]:
    with ctx.site.open_workspace() as ws:
        jobs = ws.jobs.list_jobs(limit=1)
        job_id = jobs[0].id if jobs else ws.jobs.create("embed", {}, {}, [], "local:matrix").id
    return f"/jobs/{job_id}", None


MATRIX = {
    ("GET", "/api/v1/jobs"): Row(make=fixed("/jobs")),
    ("GET", "/api/v1/jobs/{job_id}"): Row(make=_first),
    ("POST", "/api/v1/jobs/{job_id}/stop"): Row(make=lambda ctx, who: _job(ctx, "stop")),
    ("POST", "/api/v1/jobs/{job_id}/resume"): Row(make=lambda ctx, who: _job(ctx, "resume")),
}
