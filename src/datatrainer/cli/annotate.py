"""`datatrainer users ...` and `datatrainer annotate ...` (the audit log's commands are in `cli/audit.py`).

The CLI runs with direct access to the workspace database, so it acts as the local administrator
(`local:<os user>` in the audit log); the server is where named users act.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datatrainer.annotation.types import TASK_STATES, local_admin
from datatrainer.cli.context import console, state
from datatrainer.cli.suggest import suggest_command
from datatrainer.compliance.exports import record_annotation_export
from datatrainer.errors import DatatrainerError
from datatrainer.progress import progress_bar
from datatrainer.security.keys_cleartext import allow_clear_export
from datatrainer.security.roles import ROLES, SCOPES

users_app = typer.Typer(help="Accounts for the annotation server: add, list, disable, tokens.", no_args_is_help=True)
annotate_app = typer.Typer(help="Annotation projects: create, members, status, export.", no_args_is_help=True)
annotate_app.command("suggest")(suggest_command)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Username.")],
    admin: Annotated[bool, typer.Option("--admin", help="Administrator of every project (same as --role admin).")
                     ] = False,
    role: Annotated[str | None, typer.Option("--role", help=f"Workspace role: {', '.join(ROLES)} (default: "
                                             "annotator).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (the password is hashed with Argon2id)."""
    password = _password(password_stdin)
    with state(ctx).open() as ws:
        user = ws.annotation.create_user(local_admin(), name, password, is_admin=admin, role=role)
    console.print(f"user [bold]{user.username}[/] created with role {user.role}")


@users_app.command("role")
def users_role(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Username.")],
    role: Annotated[str, typer.Argument(help=f"New workspace role: {', '.join(ROLES)}.")],
) -> None:
    """Change a user's workspace role; their sessions and tokens follow it on their next request."""
    with state(ctx).open() as ws:
        user = ws.annotation.set_role(local_admin(), name, role)
    console.print(f"user [bold]{user.username}[/] now has role {user.role}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every user."""
    with state(ctx).open() as ws:
        table = Table("user", "role", "disabled")
        for user in ws.annotation.list_users(local_admin()):
            table.add_row(user.username, user.role or "", "yes" if user.disabled else "")
        console.print(table)


@users_app.command("disable")
def users_disable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Username.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again instead.")] = False,
) -> None:
    """Disable a user: their sessions and tokens stop working at once."""
    with state(ctx).open() as ws:
        user = ws.annotation.set_disabled(local_admin(), name, disabled=not enable)
    console.print(f"user [bold]{user.username}[/] {'disabled' if user.disabled else 'enabled'}")


@users_app.command("token")
def users_token(  # nosec B107  # a label or help text, not a password
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Username the token acts as.")],
    token_name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
    scope: Annotated[list[str] | None, typer.Option("--scope", help=f"Narrow the token to this scope (repeat for "
                                                    f"several): {', '.join(SCOPES)}. Default: the user's role's.")
                     ] = None,
    expires_days: Annotated[int | None, typer.Option("--expires-days", min=1, help="Days until the token "
                                                     "stops working (default: never).")] = None,
) -> None:
    """Create an API token; it is printed once, only its SHA-256 is stored."""
    lifetime = timedelta(days=expires_days) if expires_days is not None else None
    with state(ctx).open() as ws:
        issued = ws.annotation.create_api_token(local_admin(), token_name, username=name, scopes=scope or None,
                                                lifetime=lifetime)
    print(issued.token)


@annotate_app.command("create")
def annotate_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    source: Annotated[str, typer.Option("--from", help="Dataset version to annotate, e.g. web@2.")],
    task: Annotated[str, typer.Option("--task", help="ner, classification, preference or correction.")],
    labels: Annotated[str, typer.Option("--labels", help="Comma-separated labels, e.g. PER,ORG,LOC.")] = "",
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Classification: several labels.")] = False,
    allow_overlap: Annotated[bool, typer.Option("--allow-overlap", help="NER: spans may overlap.")] = False,
    overlap: Annotated[int, typer.Option("--overlap", help="Annotators per record (k).")] = 1,
    ordering: Annotated[str, typer.Option("--ordering", help="sequential or uncertainty.")] = "sequential",
    guidelines: Annotated[Path | None, typer.Option("--guidelines", help="Markdown/text file of guidelines.")] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help="KEY=COLUMN, e.g. prompt=question.")] = None,
) -> None:
    """Create a project with one task per record of a dataset version."""
    fields: dict[str, str] = {}
    for item in field or []:
        key, sep, column = item.partition("=")
        if not sep or not key or not column:
            raise DatatrainerError(f"--field {item!r}: use KEY=COLUMN, e.g. --field text=body")
        fields[key] = column
    text = ""
    if guidelines is not None:
        try:
            text = guidelines.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DatatrainerError(f"{guidelines}: cannot read the guidelines: {exc}") from exc
    cli = state(ctx)
    with cli.open() as ws, progress_bar("tasks", ws.version(source).num_rows, cli.progress) as advance:
        project = ws.annotation.create_project(
            local_admin(), name, source, task, [label.strip() for label in labels.split(",") if label.strip()],
            multi_label=multi_label, allow_overlap=allow_overlap, overlap=overlap, ordering=ordering,
            guidelines=text, fields=fields, advance=advance)
        total = ws.annotation.progress(local_admin(), project.name).total
    console.print(f"project [bold]{project.name}[/] ({project.task_type}) from {project.source_ref}: {total:,} tasks, "
                  f"{project.overlap} annotator(s) each")


@annotate_app.command("list")
def annotate_list(ctx: typer.Context) -> None:
    """Every annotation project."""
    with state(ctx).open() as ws:
        table = Table("project", "task", "source", "overlap", "ordering", "labels")
        for p in ws.annotation.list_projects(local_admin()):
            table.add_row(p.name, p.task_type, p.source_ref, str(p.overlap), p.ordering,
                          ", ".join(p.label_schema.labels))
        console.print(table if table.row_count else "no annotation projects yet: `datatrainer annotate create`")


@annotate_app.command("add-member")
def annotate_add_member(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name.")],
    user: Annotated[str, typer.Argument(help="Username.")],
    role: Annotated[str, typer.Option("--role", help="annotator, reviewer or admin.")] = "annotator",
) -> None:
    """Give a user a role in a project (replaces an earlier role)."""
    with state(ctx).open() as ws:
        member = ws.annotation.add_member(local_admin(), project, user, role)
    console.print(f"{member.username} is {member.role} of {project}")


@annotate_app.command("remove-member")
def annotate_remove_member(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name.")],
    user: Annotated[str, typer.Argument(help="Username.")],
) -> None:
    """Take a user's role in a project away."""
    with state(ctx).open() as ws:
        ws.annotation.remove_member(local_admin(), project, user)
    console.print(f"{user} removed from {project}")


@annotate_app.command("status")
def annotate_status(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Tasks by state, each annotator's counts, and how often suggestions were accepted."""
    with state(ctx).open() as ws:
        progress = ws.annotation.progress(local_admin(), project)
        acceptance = ws.annotation.suggestion_acceptance(local_admin(), project)
    if as_json:
        payload = asdict(progress) | {"suggestions": [asdict(a) | {"acceptance_rate": a.acceptance_rate}
                                                       for a in acceptance]}
        console.print_json(json.dumps(payload))
        return
    states = Table(*TASK_STATES, "total", title=f"{progress.project}: tasks by state")
    states.add_row(*(f"{progress.by_state[s]:,}" for s in TASK_STATES), f"{progress.total:,}")
    console.print(states)
    people = Table("annotator", "assigned", "submitted", "skipped", title="annotators")
    for name, counts in progress.per_annotator.items():
        people.add_row(name, str(counts.assigned), str(counts.submitted), str(counts.skipped))
    console.print(people if people.row_count else "no assignments yet")
    if acceptance:
        table = Table("source", "label", "suggested", "accepted", "changed", "deleted", "acceptance",
                      title="suggestions")
        for a in acceptance:
            rate = f"{a.acceptance_rate:.1%}" if a.acceptance_rate is not None else "-"
            table.add_row(a.source, a.label, str(a.suggested), str(a.accepted), str(a.changed), str(a.deleted), rate)
        console.print(table)


@annotate_app.command("export")
def annotate_export(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name.")],
    name: Annotated[str | None, typer.Option("--name", help="Write a new version of this dataset.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Or write a file: jsonl, hf, conll, spacy, "
                                                             "label-studio (ner and classification).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File or folder for --format.")] = None,
    per_annotator: Annotated[bool, typer.Option("--per-annotator",
                                                help="--format: every annotator's result, not the final one.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out.")] = False,
    include_unannotated: Annotated[bool, typer.Option("--include-unannotated",
                                                      help="--name: keep records nobody annotated yet.")] = False,
    decrypt: Annotated[bool, typer.Option("--decrypt", help="--format, encrypted workspace: write the file in "
                                          "the clear, deliberately (recorded in the audit log).")] = False,
) -> None:
    """Write the final results (review, else consensus) as a new dataset version or an annotation file."""
    if (name is None) == (fmt is None) or (fmt is not None and out is None):
        raise DatatrainerError("annotate export: give either --name NEW, or --format FORMAT with --out PATH")
    with state(ctx).open() as ws:
        if name is not None:
            version = ws.annotation.export_version(local_admin(), project, name, include_unannotated)
            console.print(f"wrote [bold]{version.ref}[/] ({version.num_rows:,} records) from project {project}")
            return
        from datatrainer.annotation import formats

        assert fmt is not None and out is not None
        allow_clear_export(ws, f"project {project}", out, decrypt, local_admin().username)
        docs = ws.annotation.annotated_docs(local_admin(), project, per_annotator)
        report = formats.write(docs, fmt, out, overwrite=overwrite)
        record_annotation_export(ws.catalog.engine, project, out.resolve(), fmt, {"per_annotator": per_annotator})
    console.print(report.describe(), markup=False, highlight=False)


@annotate_app.command("import")
def annotate_import(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name.")],
    path: Annotated[Path, typer.Argument(help="Annotation file, e.g. a Label Studio JSON export.")],
    fmt: Annotated[str, typer.Option("--format", help="label-studio, jsonl, hf, conll or spacy.")] = "label-studio",
    as_annotations: Annotated[bool, typer.Option("--as-annotations", help="Store annotators' results as their "
                                                 "submitted annotations (they must be members).")] = False,
    source: Annotated[str, typer.Option("--source", help="Suggestion source name.")] = "label-studio",
) -> None:
    """Load an annotation file into a project, as suggestions (default) or as annotations."""
    from datatrainer.annotation import formats

    docs = formats.read(path, fmt)
    with state(ctx).open() as ws:
        report = ws.annotation.import_docs(local_admin(), project, docs, as_annotations, source)
    console.print(f"imported {report.suggestions} suggestions and {report.annotations} annotations "
                  f"({report.unannotated} records without annotations) into {project}")
