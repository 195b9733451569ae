"""A populated annotation site for the server tests: users with every role, one project per task type.

Records are real news text (the Lee corpus in the gensim wheel); preference and correction records pair real
sentences as prompt and responses. Everything is created through the service as the local administrator, the
way `datatrainer users add` / `annotate create` do, so the server under test starts from an ordinary workspace.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import news_articles, write_jsonl
from datatrainer.workspace import Workspace

PASSWORD = "correct horse battery"
# username -> (workspace role, role in every project or None)
USERS: dict[str, tuple[str, str | None]] = {
    "root": ("admin", None),
    "padmin": ("annotator", "admin"),
    "rita": ("reviewer", "reviewer"),
    "ann": ("annotator", "annotator"),
    "bob": ("annotator", "annotator"),
    "olga": ("annotator", None),
    "cora": ("curator", None),
    "audrey": ("auditor", None),
}
LABELS = {"ner": ["PER", "ORG", "LOC"], "classification": ["politics", "sport", "other"],
          "preference": [], "correction": []}


@dataclass
class Site:
    url: str
    workspace: Path
    db_url: str | None
    projects: dict[str, int] = field(default_factory=dict)  # task type -> project id
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, username: str | None = None) -> httpx.Client:
        """A client logged in as `username` by cookie session, sending the CSRF header; None: anonymous.

        The site closes its clients when the test ends.
        """
        client = httpx.Client(base_url=self.url + "/api/v1", timeout=60)
        self.clients.append(client)
        if username is not None:
            login = client.post("/login", json={"username": username, "password": PASSWORD})
            login.raise_for_status()
            client.headers["X-CSRF-Token"] = client.cookies["dt_csrf"]
        return client


    def open_workspace(self) -> Workspace:
        """The same workspace, opened beside the server, as the CLI would."""
        return Workspace.open(self.workspace, self.db_url)

    def close(self) -> None:
        for client in self.clients:
            client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_subprocess(workspace: Path, *options: str, db_url: str | None = None
                     ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`datatrainer serve` as a user starts it, on a free port: yields (base URL, process) once the UI answers;
    terminates it on exit (the caller may stop it first to check how it stops)."""
    port = free_port()
    db = ["--db-url", db_url] if db_url else []
    server = subprocess.Popen([sys.executable, "-m", "datatrainer", "-w", str(workspace), *db, "serve",
                               "--port", str(port), *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(url + "/", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.terminate()
                    raise RuntimeError(f"the server did not start: {server.communicate(timeout=30)[1].decode()}") \
                        from None
                time.sleep(0.2)
        yield url, server
    finally:
        if server.poll() is None:
            server.terminate()
            server.communicate(timeout=30)


def _sentences(count: int) -> list[str]:
    out: list[str] = []
    for article in news_articles():
        out.extend(s.strip() + "." for s in article["text"].split(". ") if 40 < len(s) < 300)
        if len(out) >= count:
            break
    return out[:count]


def populate(ws: Workspace, tmp: Path, records: int = 12, overlap: int = 2) -> dict[str, int]:
    """Users, and a project per task type over `records` records; returns task type -> project id."""
    admin = local_admin()
    svc = ws.annotation
    for name, (role, _) in USERS.items():
        svc.create_user(admin, name, PASSWORD, role=role)
    news = [dict(a, text=a["text"][:400]) for a, _ in zip(news_articles(), range(records), strict=False)]
    write_jsonl(iter(news), tmp / "news.jsonl")
    ws.ingest(tmp / "news.jsonl", "news")
    s = _sentences(3 * records)
    pairs = [{"id": f"p{i}", "text": s[3 * i], "prompt": s[3 * i], "response_a": s[3 * i + 1],
              "response_b": s[3 * i + 2], "instruction": s[3 * i], "response": s[3 * i + 1]} for i in range(records)]
    write_jsonl(iter(pairs), tmp / "pairs.jsonl")
    ws.ingest(tmp / "pairs.jsonl", "pairs")
    projects: dict[str, int] = {}
    for task_type, labels in LABELS.items():
        source = "news" if task_type in ("ner", "classification") else "pairs"
        project = svc.create_project(admin, f"{task_type}-project", source, task_type, labels, overlap=overlap,
                                     allow_overlap=False, guidelines=f"Guidelines for {task_type}: be careful.")
        projects[task_type] = project.id
        for name, (_, role) in USERS.items():
            if role is not None:
                svc.add_member(admin, project.id, name, role)
    return projects
