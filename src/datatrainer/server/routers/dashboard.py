"""The dashboard's HTML pages under `/dashboard`: the same sessions, scopes and thread-pool hop as the REST API.

Each route declares the scope it needs like any API route (`DatasetsRead`, `Annotate`, ...), so the role x
endpoint matrix covers the pages too. Failures are pages, not JSON: not logged in gives the login form (401),
a missing scope a 403 page, a version, dataset, model, project, job or report that does not exist (or a
malformed id) a 404 page; the pages only read, so they need no CSRF token (the job buttons post to the jobs
API, which checks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from datatrainer.errors import DatatrainerError
from datatrainer.server.dashboard import pages  # the package registers the built-in panels
from datatrainer.server.dashboard.html import REPORTS_DIR, ROOT, error_page, login_page, shell
from datatrainer.server.dashboard.registry import Context
from datatrainer.server.deps import (
    Annotate,
    Api,
    AuditRead,
    Authenticated,
    Caller,
    DatasetsRead,
    JobsRead,
    ProjectId,
    Ws,
)
from datatrainer.server.schemas import MAX_ID
from datatrainer.workspace import Workspace

Name = Annotated[str, Path(min_length=1, max_length=300)]
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
_REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,250}\.html$")


class HtmlErrors(APIRoute):
    """Errors raised before a page is built (authentication, scope, a malformed path) as HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 401:
                    return HTMLResponse(login_page(str(exc.detail)), 401, headers=exc.headers)
                return HTMLResponse(error_page(exc.status_code, str(exc.detail)), exc.status_code)
            except RequestValidationError:
                return HTMLResponse(error_page(404, f"no dashboard page at {request.url.path}"), 404)

        return handle


router = APIRouter(prefix=ROOT, route_class=HtmlErrors, include_in_schema=False)


async def _page(api: Api, ws: Workspace, build: Callable[[Context], pages.Page]) -> HTMLResponse:
    """Authenticate, build the page as the caller in one thread-pool hop, and wrap it in the shell."""
    from datatrainer.server.app import status_of  # the app imports this router

    def work(caller: Caller) -> HTMLResponse:
        ctx = Context(ws, caller.user, caller.scopes)
        try:
            page = build(ctx)
        except DatatrainerError as exc:
            status = status_of(exc)
            return HTMLResponse(error_page(status, str(exc), caller.user, caller.scopes), status)
        return HTMLResponse(shell(page.title, page.body, caller.user, caller.scopes, page.refresh_s))

    return await api.run_as(work)


@router.get("", response_class=HTMLResponse)
async def overview(api: Authenticated, ws: Ws) -> HTMLResponse:
    """Datasets, lineage, models and projects: each part for those whose role may read it."""
    return await _page(api, ws, pages.overview)


@router.get("/datasets/{name}", response_class=HTMLResponse)
async def dataset(name: Name, api: DatasetsRead, ws: Ws) -> HTMLResponse:
    return await _page(api, ws, lambda ctx: pages.dataset(ctx, name))


@router.get("/versions/{ref}", response_class=HTMLResponse)
async def version(ref: Name, api: DatasetsRead, ws: Ws) -> HTMLResponse:
    return await _page(api, ws, lambda ctx: pages.version(ctx, ref))


@router.get("/models", response_class=HTMLResponse)
async def models(api: DatasetsRead, ws: Ws) -> HTMLResponse:
    return await _page(api, ws, pages.models)


@router.get("/models/{name:path}", response_class=HTMLResponse)
async def model(name: Name, api: DatasetsRead, ws: Ws) -> HTMLResponse:
    """A registered model, or any evaluated model name (Hugging Face ids such as `org/model` have a '/')."""
    return await _page(api, ws, lambda ctx: pages.model(ctx, name))


@router.get("/projects", response_class=HTMLResponse)
async def projects(api: Annotate, ws: Ws) -> HTMLResponse:
    return await _page(api, ws, pages.projects)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
async def project(project_id: ProjectId, api: Annotate, ws: Ws) -> HTMLResponse:
    return await _page(api, ws, lambda ctx: pages.project(ctx, project_id))


@router.get("/jobs", response_class=HTMLResponse)
async def jobs(api: JobsRead, ws: Ws) -> HTMLResponse:
    return await _page(api, ws, pages.jobs)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job(job_id: JobId, api: JobsRead, ws: Ws) -> HTMLResponse:
    """One job's progress, parameters and log, with Stop and Resume for those who may control it."""
    return await _page(api, ws, lambda ctx: pages.job(ctx, job_id))


@router.get("/audit", response_class=HTMLResponse)
async def audit(api: AuditRead, ws: Ws, after_seq: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                verify: bool = False) -> HTMLResponse:
    """The audit log (administrators and auditors), a page of entries at a time; `verify` walks the chain."""
    return await _page(api, ws, lambda ctx: pages.audit(ctx, after_seq, verify))


@router.get("/reports/{name}", response_class=HTMLResponse)
async def report(name: Name, api: DatasetsRead, ws: Ws) -> HTMLResponse:
    """A report file the CLI wrote into the workspace's `reports/` folder, by its bare file name only."""

    def read(_: Caller) -> HTMLResponse:
        path = ws.root / REPORTS_DIR / name
        if not _REPORT_NAME.match(name) or not path.is_file():
            return HTMLResponse(error_page(404, f"no report named {name!r}"), 404)
        return HTMLResponse(path.read_text(encoding="utf-8"))

    return await api.run_as(read)

