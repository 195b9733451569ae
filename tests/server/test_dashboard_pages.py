"""The dashboard over HTTP on a real workspace (SQLite and PostgreSQL): what each role sees, the 404/403/401 pages,
the lineage layout, and that a new kind of result is one registered panel.

The workspace is built as a user builds one: real news text ingested, a quality filter that drops planted junk
with reasons, quality reports of both versions, density scores over stored embeddings, a density sample with
its coverage report, an annotation project two people annotated, and a model in the registry with evaluations.
Embeddings are synthetic vectors put in the embedding store (a model would add seconds, not coverage).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path

import httpx
import pytest

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import news_articles, write_jsonl
from datatrainer.errors import DatatrainerError
from datatrainer.quality.balance import measure_balance
from datatrainer.quality.report import build_report
from datatrainer.quality.report_html import fmt_count, fmt_rate
from datatrainer.sampling.coverage_report import CoverageReport, build_coverage_report, write_coverage_report
from datatrainer.sampling.coverage_report import default_paths as coverage_paths
from datatrainer.scoring.jobs import score_density
from datatrainer.scoring.race import RaceParams
from datatrainer.server.app import create_app
from datatrainer.server.dashboard.lineage import all_versions, layout, lineage_svg
from datatrainer.server.dashboard.registry import VERSION_PANELS, Context, Panel
from datatrainer.server.run import serve_in_thread
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.sampling.sampling_helpers import clustered_embeddings
from tests.sampling.stores import store_embeddings

PASSWORD = "dashboard password"
# username -> workspace role; project roles are set in `build_workspace`.
USERS = {"cora": "curator", "rita": "reviewer", "ann": "annotator", "audrey": "auditor"}
JUNK = [{"id": "junk-menu", "text": "Home | About us | Products | Services | Blog | Contact | Login"},
        {"id": "junk-spam", "text": "\n".join(["BUY CHEAP WATCHES ONLINE best price free shipping"] * 12)}]
MODEL, BASE_MODEL = "news-tiny", "org/base-model"
JOB_RUNNING = 1
COVERAGE_HTML, COVERAGE_JSON = "coverage-news-2-news-sample-1.html", "coverage-news-2-news-sample-1.json"


@dataclass(frozen=True)
class Built:
    url: str
    root: Path
    db_url: str | None
    project: int
    first_text: str  # the first record's text, which only roles with datasets:read may see


def build_workspace(ws: Workspace, tmp: Path) -> int:
    """Every kind of result the dashboard shows; returns the annotation project's id."""
    news = [a for a, _ in zip(news_articles(), range(40), strict=False)]
    write_jsonl(iter(news + JUNK), tmp / "news.jsonl")
    raw = ws.ingest(tmp / "news.jsonl", "news")
    clean = ws.apply("quality-filter", [raw], {"lang": "en"})
    for version in (raw, clean):  # measured and stored (the HTML report is the CLI's, and slow to draw)
        build_report(ws, version)
    store_embeddings(ws, clean, clustered_embeddings(clean.num_rows, clusters=6, seed=3)[0])
    measure_balance(ws, clean)
    score_density(ws, clean, ws.embeddings.resolve(clean, "minilm"), RaceParams())
    sample = ws.apply("sample", [clean], {"by": "density", "budget": "50%", "seed": 0}, name="news-sample")
    coverage = build_coverage_report(ws, clean, sample, clusters=6)
    write_coverage_report(coverage, *coverage_paths(ws, clean, sample))
    admin, svc = local_admin(), ws.annotation
    for name, role in USERS.items():
        svc.create_user(admin, name, PASSWORD, role=role)
    project = svc.create_project(admin, "news-people", sample.ref, "ner", ["PER", "ORG"], overlap=2)
    for name, role in (("ann", "annotator"), ("rita", "reviewer"), ("cora", "admin")):
        svc.add_member(admin, project.id, name, role)
    for name, start in (("ann", 0), ("rita", 0)):
        user = svc.get_user(name)
        for _ in range(3):
            task = svc.next_task(user, project.id)
            assert task is not None
            svc.submit(user, task.id, {"spans": [{"start": start, "end": 5, "label": "PER"}]})
    _register_model(ws, sample)
    _record_jobs(ws, clean)
    return project.id


def _register_model(ws: Workspace, version: DatasetVersion) -> None:
    """A model in the registry through its API (a folder of files, its lineage and loss history), evaluated twice."""
    key, folder = ws.models.new_folder()
    (folder / "model.safetensors").write_bytes(b"weights")
    history = [{"step": 10, "train_loss": 6.0}, {"step": 20, "train_loss": 5.1}, {"step": 20, "eval_loss": 5.4}]
    ws.models.publish(folder, key, name=MODEL, base_model="tiny-gpt", method="full", dataset_ref=version.ref,
                      config={"max_steps": 20}, config_hash="c0ffee", metrics={"final_train_loss": 5.1},
                      history=history)
    for perplexity in (220.0, 180.0):
        ws.models.record_evaluation(MODEL, "perplexity", {"perplexity": perplexity}, "news@1", {"max_tokens": 64})
    ws.models.record_evaluation(BASE_MODEL, "perplexity", {"perplexity": 95.0}, "news@1")  # evaluated, not trained


def _record_jobs(ws: Workspace, version: DatasetVersion) -> None:
    """Jobs as workers record them through the job service: a running embed (half done), a finished score, a
    failed job whose input version is gone, and a queued CLI job."""
    running = ws.jobs.create("embed", {"ref": version.ref}, {}, [version.ref], "cora", holder="worker-1",
                             lease_s=3600)
    ws.jobs.heartbeat(running.id, "worker-1", 3600, "embed minilm", 21, 42, ["embedded 21 of 42 records"])
    for kind, inputs, state in (("score density", [version.ref], "done"), ("train", ["gone@1"], "failed")):
        job = ws.jobs.create(kind, {"ref": inputs[0]}, {}, inputs, "cora", holder="worker-2")
        ws.jobs.finish(job.id, "worker-2", state, "killed" if state == "failed" else None, None, 1, 1, ["end"])
    ws.jobs.create("dedup", {"ref": version.ref}, {}, [version.ref], "local:someone")


@contextmanager
def serve_built(tmp_path: Path, db_url: str | None) -> Iterator[Built]:
    with Workspace.init(tmp_path / "ws", db_url=db_url) as ws:
        project = build_workspace(ws, tmp_path)
        first_text = ws.version("news@1").head(1)["text"][0].as_py()
    with serve_in_thread(create_app(tmp_path / "ws", db_url)) as url:
        yield Built(url, tmp_path / "ws", db_url, project, first_text)


def clients_for(built: Built, *usernames: str) -> dict[str | None, httpx.Client]:
    """A client per user, with an API token issued as `datatrainer users token` does (pages treat it like a
    session; the browser test logs in through the form), and an anonymous one (None)."""
    with Workspace.open(built.root, built.db_url) as ws:
        tokens = {name: ws.annotation.create_api_token(local_admin(), "dashboard", username=name).token
                  for name in usernames}
    clients: dict[str | None, httpx.Client] = {
        name: httpx.Client(base_url=built.url, timeout=60, headers={"Authorization": f"Bearer {token}"})
        for name, token in tokens.items()}
    return clients | {None: httpx.Client(base_url=built.url, timeout=60)}


@pytest.fixture
def built(tmp_path: Path, catalog_url: str | None) -> Iterator[Built]:
    with serve_built(tmp_path, catalog_url) as running:
        yield running


def _sections(html: str) -> set[str]:
    return set(re.findall(r'<section class="panel" id="([^"]+)"', html))


def _status(client: httpx.Client, path: str) -> int:
    return client.get(path).status_code


def test_dashboard_over_http(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """One workspace per database, several stories (building it is most of the cost)."""
    clients = clients_for(built, "cora", "rita", "audrey", "ann")
    try:
        each_role_sees_what_its_scopes_allow(built, clients)
        missing_subjects_are_404_pages(clients["cora"])
        a_new_kind_of_result_is_one_registered_panel(clients["cora"], clients["ann"], monkeypatch)
    finally:
        for client in clients.values():
            client.close()
    lineage_layout_points_every_arrow_right(built)


def each_role_sees_what_its_scopes_allow(built: Built, clients: dict[str | None, httpx.Client]) -> None:
    version, sample, project = "/dashboard/versions/news@2", "/dashboard/versions/news-sample@1", \
        f"/dashboard/projects/{built.project}"
    data_pages = ["/dashboard/datasets/news", version, sample, "/dashboard/models", f"/dashboard/models/{MODEL}",
                  f"/dashboard/models/{BASE_MODEL}",
                  f"/dashboard/reports/{COVERAGE_HTML}", "/dashboard/jobs", f"/dashboard/jobs/{JOB_RUNNING}"]
    anonymous = clients[None].get("/dashboard")
    assert anonymous.status_code == 401 and 'id="login"' in anonymous.text
    assert built.first_text[:40] not in anonymous.text
    for name in ("rita", "audrey"):  # other roles with datasets:read (the curator's walk is below)
        overview = clients[name].get("/dashboard").text
        assert {"datasets", "lineage", "models"} <= _sections(overview), name
        assert _status(clients[name], "/dashboard/datasets/news") == _status(clients[name], "/dashboard/models") \
            == 200
    curator = clients["cora"]
    pages = {path: curator.get(path) for path in data_pages}
    assert all(response.status_code == 200 for response in pages.values())
    page = pages[version].text
    assert {"overview", "head", "dropped", "quality", "balance-report", "scores", "lineage"} <= _sections(page)
    assert "Most over-represented" in page and "<h2>Balance</h2>" not in page  # the report's own heading only
    assert "gopher-quality: word_count 8 &lt; 50" in page and "junk-spam" in page  # dropped, with reasons
    assert html_escape(built.first_text[:60]) in page  # head
    assert 'data-scorer="density"' in page and "<svg" in page
    listed = pages["/dashboard/jobs"].text  # every job, the CLI's included
    assert all(f'href="/dashboard/jobs/{number}"' in listed for number in (1, 2, 3, 4)) and "local:someone" in listed
    running = pages[f"/dashboard/jobs/{JOB_RUNNING}"].text
    assert "embed minilm: 21 of 42 (50%)" in running and "embedded 21 of 42 records" in running
    assert 'data-action="stop"' in running and "http-equiv='refresh'" in running  # live while it runs
    assert "gone@1 <span class='muted'>(deleted)</span>" in listed
    reviewer_view = clients["rita"].get(f"/dashboard/jobs/{JOB_RUNNING}").text  # jobs:read, but not jobs:write
    assert "21 of 42" in reviewer_view and "data-action" not in reviewer_view
    assert f'href="/dashboard/models/{BASE_MODEL}"' in pages["/dashboard/models"].text
    linked = {href for response in pages.values() for href in re.findall(r'href="(/dashboard[^"#]*)"', response.text)}
    broken = {href: code for href in sorted(linked - set(pages)) if (code := _status(curator, href)) != 200}
    assert not broken, f"links that do not open: {broken}"
    assert "not in the model registry" in pages[f"/dashboard/models/{BASE_MODEL}"].text
    sampled = pages[sample].text
    assert {"coverage", "models"} <= _sections(sampled) and MODEL in sampled
    twin = CoverageReport.model_validate_json((built.root / "reports" / COVERAGE_JSON).read_text()).summary
    assert f"{fmt_count(twin.clusters_covered)} of {fmt_count(twin.clusters)} ({fmt_rate(twin.cluster_coverage)})" \
        in sampled
    # Project roles on top of the annotate scope: the project's admin sees agreement, its reviewer progress
    # only, its annotator neither; an auditor has no annotate scope at all.
    assert {"progress", "agreement"} <= _sections(curator.get(project).text)
    reviewer = clients["rita"].get(project).text
    assert "progress" in _sections(reviewer) and "agreement" not in _sections(reviewer)
    annotator = clients["ann"].get(project)
    assert annotator.status_code == 200 and not {"progress", "agreement"} & _sections(annotator.text)
    assert "rita" not in annotator.text  # whom else the project has is for reviewers
    assert _status(clients["audrey"], project) == 403 and _status(clients["audrey"], "/dashboard/projects") == 403
    # The audit log is for administrators and auditors: entries in chain order, and the chain verified on request.
    audit = clients["audrey"].get("/dashboard/audit", params={"verify": "true"}).text
    assert "The chain of" in audit and "is intact" in audit and "user.create" in audit
    assert _status(curator, "/dashboard/audit") == 403 and 'href="/dashboard/audit"' not in pages[version].text
    # An annotator's overview holds their projects and no data; data pages are 403 pages, not data.
    overview = clients["ann"].get("/dashboard").text
    assert _sections(overview) == {"projects"} and "news-people" in overview and "news@2" not in overview
    for page_path in data_pages:
        denied = clients["ann"].get(page_path)
        assert denied.status_code == 403 and 'data-status="403"' in denied.text, page_path
        assert built.first_text[:40] not in denied.text


def missing_subjects_are_404_pages(client: httpx.Client) -> None:
    for path in ("/dashboard/versions/news@99", "/dashboard/versions/nothing", "/dashboard/datasets/nothing",
                 "/dashboard/models/nothing", "/dashboard/projects/999", "/dashboard/projects/0",
                 "/dashboard/reports/nothing.html", "/dashboard/reports/catalog.db"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html") and 'data-status="404"' in response.text
        assert "Traceback" not in response.text
    assert "has no version 99" in client.get("/dashboard/versions/news@99").text


def a_new_kind_of_result_is_one_registered_panel(curator: httpx.Client, annotator: httpx.Client,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def rows(ctx: Context, version: DatasetVersion) -> str | None:
        return f"<p id='rows'>{version.num_rows} rows</p>" if version.info.dataset == "news" else None

    def broken(ctx: Context, version: DatasetVersion) -> str | None:
        raise DatatrainerError(f"{version.ref}: the stored report is damaged")

    for panel in (Panel("rows", "Rows", "datasets:read", 99, rows), Panel("broken", "Broken", "datasets:read", 98,
                                                                           broken)):
        monkeypatch.setitem(VERSION_PANELS._panels, panel.key, panel)  # what the decorator does, undone afterwards
    page = curator.get("/dashboard/versions/news@1").text
    assert "rows" in _sections(page) and f"<p id='rows'>{len(JUNK) + 40} rows</p>" in page
    assert 'href="#rows"' in page  # listed in the page's contents line
    assert "news@1: the stored report is damaged" in page and "overview" in _sections(page)  # the rest still shows
    assert "rows" not in _sections(curator.get("/dashboard/versions/news-sample@1").text)  # None: left out
    assert annotator.get("/dashboard/versions/news@1").status_code == 403


def lineage_layout_points_every_arrow_right(built: Built) -> None:
    """Longest-path layering: roots in column 0, every other version one column after its latest parent."""
    with Workspace.open(built.root, built.db_url) as ws:
        versions = all_versions(ws)
    place = layout(versions)
    for info in versions:
        columns = [place[parent][0] for parent in info.parents]
        assert place[info.ref][0] == (max(columns) + 1 if columns else 0)
    assert len(set(place.values())) == len(place)  # no two boxes in one place
    svg = ET.fromstring(lineage_svg(versions, current="news@2"))[0]
    links = {a.get("data-ref"): a for a in svg.iter("{http://www.w3.org/2000/svg}a")}
    assert set(links) == {info.ref for info in versions} and "current" in (links["news@2"].get("class") or "")
    edges = [(e.get("data-from"), e.get("data-to")) for e in svg.iter("{http://www.w3.org/2000/svg}path")
             if e.get("class") == "edge"]
    assert sorted(edges) == sorted((parent, info.ref) for info in versions for parent in info.parents)
