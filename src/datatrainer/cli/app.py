"""Entry point: global options, command registration, and one-line errors instead of tracebacks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from datatrainer._version import __version__
from datatrainer.cli import annotate, datasets, dedup, demo, embed, ingest, operations, quality, sample, scores, serve
from datatrainer.cli import keys as keys_cli
from datatrainer.cli.audit import app as audit_app
from datatrainer.cli.context import CliState, console
from datatrainer.cli.distill import distilled_command
from datatrainer.cli.erase import erase_command
from datatrainer.cli.evaluate import eval_command
from datatrainer.cli.experiment import app as experiment_app
from datatrainer.cli.jobs import app as jobs_app
from datatrainer.cli.jobs import wrap_long_commands
from datatrainer.cli.models import app as models_app
from datatrainer.cli.pii import app as pii_app
from datatrainer.cli.retention import app as retention_app
from datatrainer.cli.train import train_command
from datatrainer.config import ENV_DB_URL, ENV_WORKSPACE
from datatrainer.engine.select import BATCH_ROWS, ENV_BATCH_ROWS, ENV_ENGINE, ENV_RAY_ADDRESS
from datatrainer.errors import DatatrainerError
from datatrainer.workspace import Workspace

app = typer.Typer(
    name="datatrainer",
    help="Prepare LLM training data: ingest, inspect, filter and export versioned datasets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"datatrainer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[Path | None, typer.Option("--workspace", "-w", envvar=ENV_WORKSPACE,
                                                   help="Workspace folder (default: current folder).")] = None,
    db_url: Annotated[str | None, typer.Option("--db-url", envvar=ENV_DB_URL,
                                               help="Catalog database URL (default: SQLite in the workspace).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
    engine: Annotated[str, typer.Option("--engine", envvar=ENV_ENGINE, help="Where work runs: local (this "
                                        "process) or ray (a Ray cluster).")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", envvar=ENV_RAY_ADDRESS, help="With --engine "
                                                    "ray: auto, host:6379 or ray://host:10001 (default: start "
                                                    "a local Ray instance).")] = None,
    batch_rows: Annotated[int, typer.Option("--batch-rows", envvar=ENV_BATCH_ROWS, min=1, help="Most records "
                                            "per batch a worker holds (smaller: less memory).")] = BATCH_ROWS,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = CliState(workspace, db_url, progress, engine, ray_address, batch_rows)


@app.command("init")
def init_command(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="Folder to create (default: --workspace or here).")] = None,
    data_url: Annotated[str | None, typer.Option("--data-url", help="Keep the data at this URL, e.g. "
                                                 "s3://bucket/prefix (default: in the workspace folder).")] = None,
    db_url: Annotated[str | None, typer.Option("--db-url", help="Catalog database URL, kept in the settings "
                                               "without its password (default: SQLite in the workspace).")] = None,
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Encrypt every version, score and embedding file "
                                          "at rest (see `datatrainer keys`).")] = False,
    key_provider: keys_cli.ProviderOption = None,
    key_file: keys_cli.KeyFileOption = None,
    kms_client: keys_cli.KmsClientOption = None,
    kms_key_id: keys_cli.KmsKeyOption = None,
) -> None:
    """Create a workspace: a folder with the catalog database and the data files."""
    cli = ctx.find_root().obj
    with Workspace.init(path or cli.workspace, db_url or cli.db_url, data_url) as ws:
        console.print(f"workspace ready at [bold]{ws.root}[/] (catalog: {ws.catalog.url.split('://')[0]})")
        if encrypt:
            keys_cli.switch_on(ws, key_provider, key_file, kms_client, kms_key_id)


app.command("ingest")(ingest.ingest_command)
app.add_typer(datasets.app, name="datasets")
app.command("export")(datasets.export_command)
app.command("apply")(operations.apply_command)
app.command("filter")(operations.filter_command)
app.command("dedup")(dedup.dedup_command)
app.command("operations")(operations.list_command)
app.command("gc")(datasets.gc_command)
app.command("demo")(demo.demo_command)
app.add_typer(quality.app, name="quality")
app.command("embed")(embed.embed_command)
scores.score_app.command("distilled")(distilled_command)
app.add_typer(scores.score_app, name="score")
app.add_typer(scores.app, name="scores")
app.command("sample")(sample.sample_command)
app.command("coverage")(sample.coverage_command)
app.add_typer(annotate.users_app, name="users")
app.add_typer(annotate.annotate_app, name="annotate")
app.add_typer(audit_app, name="audit")
app.command("erase")(erase_command)
app.add_typer(retention_app, name="retention")
app.command("serve")(serve.serve_command)
app.command("eval")(eval_command)
app.command("train")(train_command)
app.add_typer(models_app, name="models")
app.add_typer(experiment_app, name="experiment")
app.command("encrypt")(keys_cli.encrypt_command)
app.add_typer(keys_cli.app, name="keys")
app.add_typer(jobs_app, name="jobs")
app.add_typer(pii_app, name="pii")
wrap_long_commands(app)  # after every registration: the long commands above run as jobs


def main() -> None:
    """Run the CLI; user errors print one line on stderr and exit 1, never a traceback.

    Typer's standalone mode handles usage errors (bad option values, missing arguments) and Ctrl-C itself;
    what reaches here are datatrainer's own errors and OS errors such as a full disk.
    """
    try:
        app()
    except DatatrainerError as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _fail("interrupted: nothing was published (partial work is discarded)", 130)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{where}{exc.strerror or exc}", 1)


def _fail(message: str, code: int) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)
