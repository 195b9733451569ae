"""`create_app`: the workspace server, a thin HTTP edge over datasets, `ws.annotation` and `ws.audit`.

Routes are `async def` and hand their blocking database work, authentication included, to the thread pool in
one hop (`deps.Api.run`), so one slow request never stalls the event loop. Every datatrainer error maps to a status
with its one-line message as `detail`; nothing a client sends can produce a traceback or a 500.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datatrainer._version import __version__
from datatrainer.annotation.errors import AnnotationValidationError, ConflictError
from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.security.errors import AuthenticationError, PermissionDenied
from datatrainer.security.throttle import LoginLocked
from datatrainer.server.api_docs import add_api_docs
from datatrainer.server.body_limit import BodyLimit
from datatrainer.server.login_gate import LoginGate
from datatrainer.server.routers import (
    audit,
    auth,
    dashboard,
    datasets,
    export,
    imports,
    jobs,
    projects,
    reports,
    review,
    tasks,
    users,
)
from datatrainer.workspace import Workspace

API_PREFIX = "/api/v1"
ENV_SERVER_THREADS = "DATATRAINER_SERVER_THREADS"
SQLITE_THREADS = 4
DEFAULT_THREADS = 40  # anyio's own default
# Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[DatatrainerError], int], ...] = (
    (LoginLocked, 429),
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (AnnotationValidationError, 422),
    (DatatrainerError, 422),
)


def status_of(error: DatatrainerError) -> int:
    return next(code for cls, code in _STATUS if isinstance(error, cls))


async def _datatrainer_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatatrainerError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, LoginLocked) else None
    return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """One line naming the field (like the CLI), plus the structured list for programs."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"]) or "request"
    return JSONResponse({"detail": f"{where}: {first['msg']}", "errors": _jsonable(errors)}, status_code=422)


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    """The database refused a value the edge let through (out of range, NUL in text): the client's input."""
    assert isinstance(exc, DataError)
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
    return JSONResponse({"detail": f"a value does not fit the database: {reason}"}, status_code=422)


def _jsonable(errors: object) -> object:
    """Pydantic error details may hold the raised exception (`ctx.error`) and raw body bytes."""
    return jsonable_encoder(errors, custom_encoder={BaseException: str, bytes: lambda b: b.decode("latin-1")})


def create_app(workspace_path: str | Path | None = None, db_url: str | None = None,
               db_threads: int | None = None) -> FastAPI:
    """The app for one workspace (default: `DATATRAINER_WORKSPACE`, else here).

    The workspace is opened now, so a bad path or database fails before the server listens, and it closes
    (with its database engine) when the server stops. `db_threads` caps the routes running at once (default:
    4 on SQLite, 40 on PostgreSQL): SQLite takes one writer at a time (the others queue on the audit log's
    in-process lock) and one interpreter lock runs the Python, so more threads only add switching; requests
    beyond the cap queue in order on the event loop. 2 and 4 threads measured the same with 50 annotators.
    """
    ws = Workspace.open(workspace_path, db_url)
    threads = db_threads or (SQLITE_THREADS if ws.catalog.url.startswith("sqlite") else DEFAULT_THREADS)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        ws.close()

    app = FastAPI(title="datatrainer server", version=__version__, lifespan=lifespan,
                  docs_url=None, openapi_url=f"{API_PREFIX}/openapi.json", redoc_url=None)
    app.state.workspace = ws
    # Password checks may take half the threads: the other half always serves everyone else.
    app.state.login_gate = LoginGate(hashing=max(1, threads // 2))
    app.add_exception_handler(DatatrainerError, _datatrainer_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    # The annotator's loop (tasks/next, submit) first: a request is matched against the routes in order, and
    # those two are most of the traffic (no two routers share a path, so the order changes nothing else).
    for module in (tasks, auth, users, datasets, projects, review, reports, export, imports, audit, jobs):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(dashboard.router)  # HTML pages at /dashboard
    add_api_docs(app, f"{API_PREFIX}/docs")

    web = Path(str(files("datatrainer.server") / "web"))
    app.mount("/static", StaticFiles(directory=web), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(web / "index.html", headers={"Cache-Control": "no-cache"})

    app.add_middleware(BodyLimit, larger=[(re.compile(f"^{API_PREFIX}/projects/[^/]+/import/"), imports.MAX_BYTES)])
    app.add_middleware(SecurityHeaders)
    return app


def app_from_environment() -> FastAPI:
    """The app one worker process of `datatrainer serve --workers N` builds: workers are spawned (a fresh
    interpreter each), so the workspace, database URL and thread count come from the environment
    (`DATATRAINER_WORKSPACE`, `DATATRAINER_DB_URL`, `DATATRAINER_SERVER_THREADS`) set by the parent."""
    from datatrainer.server.run import freeze_startup_objects

    threads = os.environ.get(ENV_SERVER_THREADS)
    app = create_app(None, None, int(threads) if threads else None)
    freeze_startup_objects()
    return app


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # Inline styles and data: images: Swagger UI (the API docs page) sets both; scripts stay ours only.
    (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                 b"frame-ancestors 'none'"),
]


class SecurityHeaders:
    """No framing (clickjacking), no sniffing, and a CSP that allows only our own scripts and styles.

    A plain ASGI middleware that edits the response's first message: Starlette's `BaseHTTPMiddleware` wraps
    every response in a task group and a stream, which cost a fifth of the event loop's time per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()),
                                      *((name, value) for name, value in _SECURITY_HEADERS if name not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
