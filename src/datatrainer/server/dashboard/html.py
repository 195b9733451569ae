"""The page shell and the small HTML pieces every dashboard page shares.

Pages are plain functions returning escaped HTML (no template engine), with the quality report's look: its
CSS, tables and number formats are imported, not copied. The shell adds the navigation, the logged-in user
and `dashboard.js` (log in, log out, job buttons); the Content-Security-Policy allows only our own scripts,
so nothing on a page is inline script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from datatrainer.annotation.types import UserInfo
from datatrainer.quality.report_html import CSS

ROOT = "/dashboard"
REPORTS_DIR = "reports"
CELL_CHARS = 120


@dataclass(frozen=True)
class NavEntry:
    path: str  # under ROOT
    label: str
    scope: str | None  # None: every logged-in user


NAV: tuple[NavEntry, ...] = (
    NavEntry("", "Overview", None),
    NavEntry("/models", "Models", "datasets:read"),
    NavEntry("/projects", "Annotation", "annotate"),
    NavEntry("/jobs", "Jobs", "jobs:read"),
    NavEntry("/audit", "Audit log", "audit:read"),
)


def url(*parts: str | int) -> str:
    """A dashboard URL; each part is percent-encoded but for '@' (version refs) and '/' (model ids such as
    `org/model`, which the model route takes as a path)."""
    return ROOT + "".join("/" + quote(str(part), safe="@/") for part in parts)


def link(href: str, text: str, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items())
    return f'<a href="{escape(href)}"{extra}>{escape(text)}</a>'


def version_link(ref: str) -> str:
    return link(url("versions", ref), ref)


def model_link(name: str) -> str:
    return link(url("models", name), name)


def report_link(path: Path, text: str) -> str:
    """A link to a report file the CLI wrote into the workspace's `reports/` folder (served by name)."""
    return link(url("reports", path.name), text)


def clip(value: Any, width: int = CELL_CHARS) -> str:
    """One table cell of a record: text on one line, other values as JSON, cut to `width` characters."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def json_block(value: Any) -> str:
    """Parameters and stats as indented JSON (keys sorted, so two versions compare by eye)."""
    return f"<pre>{escape(json.dumps(value, indent=2, sort_keys=True, default=str))}</pre>"


def folded(title: str, body: str) -> str:
    """A block the reader opens when wanted (long parameter and stats listings)."""
    return f"<details><summary>{escape(title)}</summary>{body}</details>"


def section(key: str, title: str, body: str, heading: bool = True) -> str:
    title_html = f"<h2>{escape(title)}</h2>" if heading else ""
    return f'<section class="panel" id="{escape(key)}">{title_html}{body}</section>'


def muted(text: str) -> str:
    return f'<p class="muted">{escape(text)}</p>'


def shell(title: str, body: str, user: UserInfo | None = None, scopes: frozenset[str] = frozenset(),
          refresh_s: int | None = None, logout: bool = False) -> str:
    """The whole page: navigation for what the user may open, then `body` (HTML); `refresh_s` reloads it.
    Without a user (an error before the caller was known), `logout` still offers the way out."""
    nav = ""
    button = '<button type="button" id="logout">Log out</button>'
    if user is not None:
        entries = [entry for entry in NAV if entry.scope is None or entry.scope in scopes]
        links = "".join(link(ROOT + entry.path, entry.label) for entry in entries)
        nav = (f'<nav class="dash-nav">{links}<a href="/">Annotate</a><span class="who" id="who">'
               f"{escape(user.username)}</span>{button}</nav>")
    elif logout:
        nav = f'<nav class="dash-nav">{link(ROOT, "Overview")}<span class="who"></span>{button}</nav>'
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            + (f"<meta http-equiv='refresh' content='{refresh_s}'>" if refresh_s else "")
            + f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(title)} · "
            f"datatrainer</title><link rel='icon' href='data:,'><style>{CSS}</style>"
            "<link rel='stylesheet' href='/static/dashboard.css'>"
            f"<script type='module' src='/static/dashboard.js'></script></head><body>{nav}"
            f"<main><h1>{escape(title)}</h1>{body}</main></body></html>")


def error_page(status: int, message: str, user: UserInfo | None = None,
               scopes: frozenset[str] = frozenset()) -> str:
    titles = {403: "Not allowed", 404: "Not found"}
    return shell(titles.get(status, "Cannot show this page"),
                 f'<p id="error" data-status="{status}">{escape(message)}</p><p>{link(ROOT, "Back to the overview")}'
                 "</p>", user, scopes, logout=user is None)


def login_page(message: str) -> str:
    """The form `dashboard.js` posts to the API's login route; the page reloads once the session is set."""
    return shell("Log in", f'<p class="muted" id="error" data-status="401">{escape(message)}</p>'
                 '<form id="login" class="login"><label>User <input id="username" name="username" '
                 'autocomplete="username" required></label><label>Password <input id="password" name="password" '
                 'type="password" autocomplete="current-password" required></label>'
                 '<button type="submit">Log in</button><p id="login-error" class="error" role="alert"></p></form>')
