"""`datatrainer serve`: the annotation server and web UI on this workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from datatrainer.cli.context import console, state


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    threads: Annotated[int | None, typer.Option(min=1, max=200, help="Requests served at once (default: 4 on "
                                                "SQLite, 40 on PostgreSQL).")] = None,
) -> None:
    """Serve the annotation web UI and REST API (/api/v1, OpenAPI at /api/v1/docs) until Ctrl-C."""
    from datatrainer.server.app import create_app
    from datatrainer.server.run import serve

    cli = state(ctx)
    app = create_app(cli.workspace, cli.db_url, threads)
    console.print(f"annotation server on [bold]http://{host}:{port}/[/] (workspace {app.state.workspace.root}); "
                  "Ctrl-C stops it")
    serve(app, host, port)
