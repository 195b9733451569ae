"""`datatrainer serve`: the annotation server and web UI on this workspace."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from datatrainer.cli.context import console, state


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    threads: Annotated[int | None, typer.Option(min=1, max=200, help="Requests served at once per worker "
                                                "(default: 4 on SQLite, 40 on PostgreSQL).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Server processes sharing the port (default: "
                                                "one per CPU core, at most 4).")] = None,
) -> None:
    """Serve the annotation web UI and REST API (/api/v1, OpenAPI at /api/v1/docs) until Ctrl-C."""
    from datatrainer.config import ENV_DB_URL, ENV_WORKSPACE
    from datatrainer.server.app import ENV_SERVER_THREADS, create_app
    from datatrainer.server.run import serve
    from datatrainer.server.workers import serve_workers

    cli = state(ctx)
    processes = workers or min(4, len(os.sched_getaffinity(0)))
    # Opened here even with workers: a bad path or database fails now, in one line, and migrations run once.
    app = create_app(cli.workspace, cli.db_url, threads)
    root = app.state.workspace.root
    console.print(f"annotation server on [bold]http://{host}:{port}/[/] (workspace {root}, {processes} "
                  f"worker process{'es' if processes > 1 else ''}); Ctrl-C stops it")
    if processes == 1:
        serve(app, host, port)
        return
    app.state.workspace.close()
    environment = {ENV_WORKSPACE: str(root), ENV_SERVER_THREADS: str(threads or "")}
    if cli.db_url:
        environment[ENV_DB_URL] = cli.db_url
    serve_workers(processes, host, port, environment)
