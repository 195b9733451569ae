"""Sessions, cookies, CSRF, bearer tokens, visibility of tasks, and error shapes against the live server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx
from sqlalchemy import update

from datatrainer.annotation.types import local_admin
from datatrainer.security.models import ApiTokenRow
from datatrainer.server.sessions import MAX_AGE
from tests.server.site import PASSWORD, Site


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, as sent (flags included)."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def test_login_sets_httponly_samesite_session_and_readable_csrf_cookie(sqlite_site: Site) -> None:
    response = httpx.post(sqlite_site.url + "/api/v1/login", json={"username": "ann", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["username"] == "ann"
    cookies = _set_cookies(response)
    session, csrf = SimpleCookie(cookies["dt_session"])["dt_session"], SimpleCookie(cookies["dt_csrf"])["dt_csrf"]
    assert session["httponly"] and session["samesite"].lower() == "strict" and session["path"] == "/"
    assert not csrf["httponly"] and csrf["samesite"].lower() == "strict"
    assert not session["secure"]  # plain http on localhost; https gets Secure (see sessions.set_session)
    assert session.value.split(".", 1)[1].startswith("dt_")


def test_login_accepts_an_html_form_and_rejects_wrong_or_malformed_credentials(sqlite_site: Site) -> None:
    url = sqlite_site.url + "/api/v1/login"
    assert httpx.post(url, data={"username": "rita", "password": PASSWORD}).status_code == 200
    wrong = httpx.post(url, json={"username": "rita", "password": "not the password"})
    unknown = httpx.post(url, json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong user name or password"}
    assert "set-cookie" not in wrong.headers
    missing = httpx.post(url, json={"username": "rita"})
    assert missing.status_code == 422 and missing.json()["detail"] == "login: password: Field required"
    garbage = httpx.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 422 and "body must be JSON" in garbage.json()["detail"]


def test_csrf_is_required_on_unsafe_cookie_requests_only(sqlite_site: Site) -> None:
    ann = sqlite_site.client("ann")
    project = sqlite_site.projects["classification"]
    token = ann.headers.pop("X-CSRF-Token")
    assert ann.get(f"/projects/{project}").status_code == 200  # safe method: no token needed
    missing = ann.post(f"/projects/{project}/tasks/next")
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = ann.post(f"/projects/{project}/tasks/next", headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    other = sqlite_site.client("bob").headers["X-CSRF-Token"]  # another session's token does not fit
    assert ann.post(f"/projects/{project}/tasks/next", headers={"X-CSRF-Token": other}).status_code == 403
    assert ann.post(f"/projects/{project}/tasks/next", headers={"X-CSRF-Token": token}).status_code == 200


def test_bearer_tokens_need_no_csrf_and_stop_working_when_revoked(sqlite_site: Site) -> None:
    ann = sqlite_site.client("ann")
    issued = ann.post("/tokens", json={"name": "script"}).json()
    bearer = httpx.Client(base_url=sqlite_site.url + "/api/v1", headers={"Authorization": f"Bearer {issued['token']}"})
    project = sqlite_site.projects["classification"]
    task = bearer.post(f"/projects/{project}/tasks/next")
    assert task.status_code == 200
    assert bearer.post(f"/tasks/{task.json()['id']}/submit", json={"result": {"labels": ["sport"]}}).status_code == 200
    assert ann.delete(f"/tokens/{issued['id']}").status_code == 204
    assert bearer.get("/me").status_code == 401
    assert httpx.get(sqlite_site.url + "/api/v1/me", headers={"Authorization": "Basic YTpi"}).status_code == 401
    bearer.close()


def test_logout_revokes_the_session_server_side(sqlite_site: Site) -> None:
    ann = sqlite_site.client("ann")
    stolen = dict(ann.cookies)
    assert ann.post("/logout").status_code == 204
    replay = httpx.get(sqlite_site.url + "/api/v1/me", cookies=stolen)
    assert replay.status_code == 401 and "log in again" in replay.json()["detail"]
    # A dead session is a 401 before any CSRF question, even on an unsafe method without the header.
    unsafe = httpx.post(sqlite_site.url + f"/api/v1/projects/{sqlite_site.projects['classification']}/tasks/next",
                        cookies=stolen)
    assert unsafe.status_code == 401 and "log in again" in unsafe.json()["detail"]


def test_disabled_user_loses_access_at_once(sqlite_site: Site) -> None:
    ann = sqlite_site.client("ann")
    assert ann.get("/me").status_code == 200
    with sqlite_site.open_workspace() as ws:  # what `datatrainer users disable ann` does
        ws.annotation.set_disabled(local_admin(), "ann")
    assert ann.get("/me").status_code == 401


def test_annotators_see_only_their_own_tasks(site: Site) -> None:
    ann, bob, rita = site.client("ann"), site.client("bob"), site.client("rita")
    project = site.projects["ner"]
    mine = ann.post(f"/projects/{project}/tasks/next").json()
    bobs = [bob.post(f"/projects/{project}/tasks/next").json()]
    bob.post(f"/tasks/{bobs[0]['id']}/submit", json={"result": {"spans": []}}).raise_for_status()
    bobs.append(bob.post(f"/projects/{project}/tasks/next").json())
    assert {t["id"] for t in ann.get(f"/projects/{project}/tasks").json()} == {mine["id"]}
    assert {t["id"] for t in bob.get(f"/projects/{project}/tasks").json()} == {t["id"] for t in bobs}
    not_mine = bobs[1]["id"]
    assert not_mine != mine["id"]
    denied = ann.get(f"/tasks/{not_mine}")
    assert denied.status_code == 403 and "not assigned to ann" in denied.json()["detail"]
    assert ann.post(f"/tasks/{not_mine}/submit", json={"result": {"spans": []}}).status_code == 403
    # Both annotated the shared first task: ann sees only her own annotation of it, the reviewer sees both.
    ann.post(f"/tasks/{mine['id']}/submit", json={"result": {"spans": []}}).raise_for_status()
    assert [a["username"] for a in ann.get(f"/tasks/{mine['id']}").json()["annotations"]] == ["ann"]
    assert sorted(a["username"] for a in rita.get(f"/tasks/{mine['id']}").json()["annotations"]) == ["ann", "bob"]
    assert len(rita.get(f"/projects/{project}/tasks").json()) == 12


def test_bad_requests_get_clear_4xx_messages(sqlite_site: Site) -> None:
    ann, root = sqlite_site.client("ann"), sqlite_site.client("root")
    project = sqlite_site.projects["ner"]
    task = ann.post(f"/projects/{project}/tasks/next").json()
    text_length = len(task["data"]["text"])
    cases = [
        (ann.post(f"/tasks/{task['id']}/submit", json={"result": {"spans": [{"start": 0, "end": text_length + 5,
                                                                              "label": "PER"}]}}), 422, "outside"),
        (ann.post(f"/tasks/{task['id']}/submit", json={"result": {"spans": [{"start": 0, "end": 3,
                                                                              "label": "CITY"}]}}), 422, "CITY"),
        (ann.post(f"/tasks/{task['id']}/submit", json={"result": "PER"}), 422, "body.result"),
        (ann.post(f"/tasks/{task['id']}/submit", json={"result": {}, "extra": 1}), 422, "body.extra"),
        (ann.get("/projects/not-a-number"), 422, "path.project_id"),
        (ann.get("/projects/999999"), 404, "999999"),
        (ann.get("/tasks/999999"), 404, "999999"),
        (root.post("/projects", json={"name": "x", "source": "no-such-dataset", "task_type": "ner",
                                      "labels": ["A"]}), 404, "no-such-dataset"),
        (root.post("/users", json={"username": "ann", "password": PASSWORD}), 409, "already exists"),
        (root.post("/users", json={"username": "shorty", "password": "short"}), 422, "at least"),
    ]
    for response, status, needle in cases:
        assert response.status_code == status, response.text
        detail = response.json()["detail"]
        assert isinstance(detail, str) and needle in detail and "\n" not in detail, detail


def test_ui_page_and_security_headers(sqlite_site: Site) -> None:
    page = httpx.get(sqlite_site.url + "/")
    assert page.status_code == 200 and '<script type="module" src="/static/app.js">' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(sqlite_site.url + "/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_nul_characters_and_huge_ids_are_422_on_every_backend(site: Site) -> None:
    """PostgreSQL text cannot hold NUL and its ids are 32-bit: both are refused at the edge, never a 500."""
    root = site.client("root")
    project = site.projects["ner"]
    task = root.post(f"/projects/{project}/tasks/next").json()
    responses = [
        root.delete(f"/projects/{project}/members/a%00b"),
        root.post("/projects", json={"name": "nul", "source": "news", "task_type": "ner", "labels": ["A"],
                                     "guidelines": "x\x00y"}),
        root.get(f"/projects/{project}/tasks", params={"state": "open\x00"}),
        root.post("/tokens", json={"name": "a\x00"}),
        root.get("/audit", params={"entity": "a\x00"}),
        root.post(f"/projects/{project}/export", json={"name": "a\x00"}),
        root.put(f"/projects/{project}/members", json={"username": "a\x00", "role": "annotator"}),
        root.post(f"/tasks/{task['id']}/submit", json={"result": {"spans": []}, "suggestion_id": 2**40}),
        root.get(f"/projects/{2**31}"),
        root.get(f"/tasks/{2**63}"),
    ]
    assert [r.status_code for r in responses] == [422] * len(responses), [r.text for r in responses]


def _expire(site: Site, token_id: int) -> None:
    """Move a token's expiry into the past, as 12 hours passing would."""
    with site.open_workspace() as ws, ws.catalog.engine.begin() as connection:
        connection.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id)
                           .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))


def test_sessions_expire_server_side_whatever_header_carries_them(sqlite_site: Site) -> None:
    ann = sqlite_site.client("ann")
    session_id, session_token = ann.cookies["dt_session"].split(".", 1)
    tokens = {t["id"]: t for t in ann.get("/tokens").json()}
    expires = datetime.fromisoformat(tokens[int(session_id)]["expires_at"])
    created = datetime.fromisoformat(tokens[int(session_id)]["created_at"])
    assert (expires - created).total_seconds() == MAX_AGE
    # A live session's token is only good inside its own cookie: never as a bearer token.
    as_bearer = httpx.get(sqlite_site.url + "/api/v1/me", headers={"Authorization": f"Bearer {session_token}"})
    assert as_bearer.status_code == 401
    _expire(sqlite_site, int(session_id))
    assert ann.get("/me").status_code == 401
    assert httpx.get(sqlite_site.url + "/api/v1/me",
                     headers={"Authorization": f"Bearer {session_token}"}).status_code == 401


def test_a_cookie_must_pair_a_session_id_with_that_sessions_own_token(sqlite_site: Site) -> None:
    ann = sqlite_site.client("ann")
    script = ann.post("/tokens", json={"name": "script"}).json()
    session_id, session_token = ann.cookies["dt_session"].split(".", 1)
    other_session = sqlite_site.client("ann").cookies["dt_session"]
    for forged in (f"{session_id}.{script['token']}",  # a live session id with another token of the user
                   f"{script['id']}.{session_token}",  # the session's token with another token's id
                   f"{other_session.split('.')[0]}.{session_token}"):  # with another session's id
        assert httpx.get(sqlite_site.url + "/api/v1/me", cookies={"dt_session": forged}).status_code == 401
    assert ann.get("/me").status_code == 200


def test_expiring_api_tokens_stop_working(sqlite_site: Site) -> None:
    ann = sqlite_site.client("ann")
    issued = ann.post("/tokens", json={"name": "a day", "expires_in_days": 1}).json()
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert httpx.get(sqlite_site.url + "/api/v1/me", headers=bearer).status_code == 200
    _expire(sqlite_site, issued["id"])
    assert httpx.get(sqlite_site.url + "/api/v1/me", headers=bearer).status_code == 401
    reserved = ann.post("/tokens", json={"name": "web session"})
    assert reserved.status_code == 422 and "reserved" in reserved.json()["detail"]
