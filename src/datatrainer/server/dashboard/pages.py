"""The dashboard's pages: each builds its body from the workspace as the caller, then the registered panels.

A page function takes the `Context` (workspace, user, scopes) and returns its title and HTML body; it runs in
the server's thread pool (it reads the catalog and files). A subject that does not exist raises
`NotFoundError`, which the router turns into a 404 page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import TypeVar

from datatrainer.errors import NotFoundError
from datatrainer.jobs import JobInfo
from datatrainer.quality.report_html import fmt_count, html_table
from datatrainer.server.dashboard.html import clip, json_block, link, model_link, muted, section, url, version_link
from datatrainer.server.dashboard.lineage import all_versions, connected, lineage_svg
from datatrainer.server.dashboard.registry import (
    MODEL_PANELS,
    PROJECT_PANELS,
    VERSION_PANELS,
    Context,
    ModelSubject,
    PanelRegistry,
)

S = TypeVar("S")
DATA, ANNOTATE, JOBS, JOBS_WRITE = "datasets:read", "annotate", "jobs:read", "jobs:write"
RECENT_JOBS = 5
AUDIT_PAGE = 100
MAX_GRAPH = 150  # versions drawn in the overview's graph (a version page draws its whole lineage)
ACTIVE_REFRESH_S = 5


@dataclass(frozen=True)
class Page:
    title: str
    body: str
    refresh_s: int | None = None  # reload every so many seconds (a running job's progress)


def _panels(ctx: Context, registry: PanelRegistry[S], subject: S) -> str:
    """A contents line, then one section per panel with something to show."""
    shown = registry.render(ctx, subject)
    contents = " · ".join(link(f"#{panel.key}", panel.title) for panel, _ in shown)
    return f"<p class='toc'>{contents}</p>" + "".join(section(panel.key, panel.title, html, panel.heading)
                                                      for panel, html in shown)


def overview(ctx: Context) -> Page:
    """What the caller may look at: datasets and their lineage, models, annotation projects."""
    parts = []
    if ctx.may(DATA):
        versions = all_versions(ctx.ws)
        latest = {info.dataset: info for info in sorted(versions, key=lambda info: info.number)}
        counts = Counter(info.dataset for info in versions)
        rows = [[link(url("datasets", name), name), fmt_count(counts[name]), version_link(info.ref),
                 fmt_count(info.row_count), escape(info.operation), f"{info.created_at:%Y-%m-%d %H:%M}"]
                for name, info in sorted(latest.items())]
        parts.append(section("datasets", "Datasets", html_table(
            ["dataset", "versions", "latest", "records", "made by", "created (UTC)"], rows, numeric=(1, 3))
            if rows else muted("No datasets yet: `datatrainer ingest FILE NAME` adds one.")))
        if versions:
            shown = versions[-MAX_GRAPH:]
            which = "Every version" if len(shown) == len(versions) else f"The newest {len(shown)} versions"
            parts.append(section("lineage", "Lineage", f"<p>{which}, with an arrow from each parent to what was made "
                                 "from it; click a version to open it.</p>" + lineage_svg(shown)))
        parts.append(section("models", "Models", _models_table(ctx)))
    if ctx.may(JOBS):
        parts.append(section("jobs", "Recent jobs", _jobs_table(ctx, ctx.ws.jobs.list_jobs(limit=RECENT_JOBS))))
    if ctx.may(ANNOTATE):
        parts.append(section("projects", "Annotation projects", _projects_table(ctx)))
    if not parts:
        parts.append(muted(f"Your role ({ctx.user.role}) has no dashboard pages."))
    return Page("Workspace", "".join(parts))


def dataset(ctx: Context, name: str) -> Page:
    infos = ctx.ws.catalog.versions_of(name)  # NotFoundError for an unknown name
    every = all_versions(ctx.ws)
    related = {info.ref for own in infos for info in connected(every, own.ref)}
    rows = [[version_link(info.ref), fmt_count(info.row_count), escape(info.operation),
             ", ".join(version_link(parent) for parent in info.parents) or "-", f"{info.created_at:%Y-%m-%d %H:%M}"]
            for info in infos]
    body = (section("versions", "Versions", html_table(["version", "records", "made by", "parents", "created (UTC)"],
                                                       rows, numeric=(1,)))
            + section("lineage", "Lineage", lineage_svg([info for info in every if info.ref in related])))
    return Page(f"Dataset {name}", body)


def version(ctx: Context, ref: str) -> Page:
    found = ctx.ws.version(ref)  # NotFoundError for an unknown dataset or version
    graph = lineage_svg(connected(all_versions(ctx.ws), found.ref), current=found.ref)
    return Page(f"Version {found.ref}", section("lineage", "Lineage", graph) + _panels(ctx, VERSION_PANELS, found))


def _models_table(ctx: Context) -> str:
    registered = ctx.ws.models.list()
    evaluations = ctx.ws.models.evaluations()
    counts = Counter(record.model_name for record in evaluations)
    rows = [[model_link(m.name), version_link(m.dataset_ref), escape(m.base_model), escape(m.method),
             fmt_count(counts.get(m.name, 0)), f"{m.created_at:%Y-%m-%d %H:%M}"] for m in registered]
    names = {m.name for m in registered}
    rows += [[model_link(name), "-", "(not registered)", "-", fmt_count(count), "-"]
             for name, count in counts.items() if name not in names]
    if not rows:
        return muted("No model trained or evaluated yet: `datatrainer train VERSION` trains one.")
    return html_table(["model", "trained on", "base", "method", "evaluations", "created (UTC)"], rows, numeric=(4,))


def models(ctx: Context) -> Page:
    return Page("Models", _models_table(ctx))


def model(ctx: Context, name: str) -> Page:
    subject = ModelSubject(name, ctx.ws.models.find(name), ctx.ws.models.evaluations(name))
    if subject.model is None and not subject.evaluations:
        raise NotFoundError(f"no model named {name!r} is registered or evaluated")
    return Page(f"Model {name}", _panels(ctx, MODEL_PANELS, subject))


def _projects_table(ctx: Context) -> str:
    found = ctx.ws.annotation.list_projects(ctx.user)
    if not found:
        return muted("No annotation project you are a member of.")
    source = version_link if ctx.may(DATA) else escape
    return html_table(["project", "task type", "source", "created (UTC)"],
                      [[link(url("projects", p.id), p.name), escape(p.task_type), source(p.source_ref),
                        f"{p.created_at:%Y-%m-%d %H:%M}"] for p in found])


def projects(ctx: Context) -> Page:
    return Page("Annotation projects", _projects_table(ctx))


def project(ctx: Context, project_id: int) -> Page:
    found = ctx.ws.annotation.get_project(ctx.user, project_id)  # members only; NotFoundError if none
    source = version_link(found.source_ref) if ctx.may(DATA) else escape(found.source_ref)
    about = (f"<p>{escape(found.task_type)} project on {source}, {found.overlap} annotator(s) per task, "
             f"{escape(found.ordering)} order; {link('/#/p/' + str(found.id), 'open it in the annotation UI')}."
             f"</p><h3>Labels</h3>{json_block(found.label_schema.as_json())}")
    return Page(f"Project {found.name}", section("about", "About", about) + _panels(ctx, PROJECT_PANELS, found))


def _input(ctx: Context, ref: str) -> str:
    """A job's input version: a link, or marked deleted (why such a job cannot resume)."""
    if not ctx.may(DATA):
        return escape(ref)
    try:
        ctx.ws.catalog.resolve(ref)
    except NotFoundError:
        return f"{escape(ref)} <span class='muted'>(deleted)</span>"
    return version_link(ref)


def _inputs(ctx: Context, refs: list[str]) -> str:
    return ", ".join(_input(ctx, ref) for ref in refs) or "-"


def _progress_bar(job: JobInfo) -> str:
    share = job.fraction
    bar = f"<div class='bar'><div style='width:{100 * share:.1f}%'></div></div>" if share is not None else ""
    return bar + f"<span class='muted'>{escape(job.progress_text())}</span>"


def _jobs_table(ctx: Context, found: list[JobInfo]) -> str:
    """Newest first; the `jobs:read` scope reads every job (the CLI's and other users')."""
    if not found:
        return muted("No jobs yet: long commands (embed, score, train, ...) are recorded as jobs when they run.")
    return html_table(["job", "command", "inputs", "state", "progress", "owner", "updated (UTC)"],
                      [[link(url("jobs", job.id), f"#{job.id}"), escape(job.kind), _inputs(ctx, job.inputs),
                        f"<span class='state {escape(job.state)}'>{escape(job.state)}</span>", _progress_bar(job),
                        escape(job.owner), f"{job.updated_at:%Y-%m-%d %H:%M:%S}"] for job in found])


def jobs(ctx: Context) -> Page:
    return Page("Jobs", _jobs_table(ctx, ctx.ws.jobs.list_jobs()))


def _controls(ctx: Context, job: JobInfo) -> str:
    """Stop and resume post to the jobs API from `dashboard.js` (with the CSRF header); the service says no
    (one line, shown on the page) where the job's state or inputs do not allow it."""
    if not ctx.may(JOBS_WRITE):
        return ""
    buttons = []
    if not job.ended:
        buttons.append(f'<button type="button" data-job="{job.id}" data-action="stop">Stop</button>')
    if job.state in ("stopped", "failed"):
        buttons.append(f'<button type="button" data-job="{job.id}" data-action="resume">Resume</button>')
    return f'<p class="job-controls">{"".join(buttons)}<span id="job-message" role="status"></span></p>'


def job(ctx: Context, job_id: int) -> Page:
    found = ctx.ws.jobs.get_job(job_id)  # NotFoundError for a job that does not exist
    when = [("created", found.created_at), ("started", found.started_at), ("updated", found.updated_at),
            ("finished", found.finished_at)]
    rows = [["state", f"<span class='state {escape(found.state)}' id='job-state'>{escape(found.state)}</span>"
             + (" (stop requested)" if found.stop_requested and not found.ended else "")],
            ["progress", _progress_bar(found)], ["inputs", _inputs(ctx, found.inputs)],
            ["owner", escape(found.owner)],
            ["worker", escape(f"pid {found.pid} on {found.host}") if found.pid else "-"],
            ["attempts", fmt_count(found.attempts)],
            *([name, f"{moment:%Y-%m-%d %H:%M:%S} UTC"] for name, moment in when if moment is not None)]
    error = f"<p class='error' id='job-error'>Error: {escape(found.error)}</p>" if found.error else ""
    body = (_controls(ctx, found) + error + section("about", "Job", html_table(["job", f"#{found.id}"], rows)
                                                      + f"<h3>Parameters</h3>{json_block(found.params)}")
            + section("log", "Log", f"<pre id='job-log'>{escape(found.log) or '(empty)'}</pre>"))
    return Page(f"Job #{found.id}: {found.kind}", body, refresh_s=ACTIVE_REFRESH_S if not found.ended else None)


def audit(ctx: Context, after_seq: int, verify: bool) -> Page:
    """The audit log in chain order, a page at a time; verifying walks the whole chain, so it is asked for."""
    entries = ctx.ws.audit.entries(after_seq, AUDIT_PAGE)
    rows = [[str(e.seq), f"{e.at:%Y-%m-%d %H:%M:%S}", escape(e.actor), escape(e.action),
             escape(f"{e.entity} {e.entity_id}"), "(erased)" if e.erased else escape(clip(e.after) if e.after else "")]
            for e in entries]
    if verify:
        report = ctx.ws.audit.verify()
        state = (f"<p id='audit-verify' class='ok'>The chain of {fmt_count(report.entries)} entries is intact.</p>"
                 if report.ok else f"<p id='audit-verify' class='error'>Broken at entry {report.broken_seq}: "
                 f"{escape(report.reason)}</p>")
    else:
        state = f"<p>{link(url('audit') + f'?after_seq={after_seq}&verify=true', 'Verify the whole chain')}</p>"
    more = (f"<p>{link(url('audit') + f'?after_seq={entries[-1].seq}', 'Later entries')}</p>"
            if len(entries) == AUDIT_PAGE else "")
    table = html_table(["seq", "at (UTC)", "actor", "action", "entity", "after"], rows, numeric=(0,)) if rows \
        else muted("No entries after this one.")
    return Page("Audit log", state + table + more)
