"""The web pages over plain HTTP: headers, cookies, CSRF, the login limit, the archive's pages.

What a browser test cannot see cheaply: every header and cookie flag, each way a state-changing
request can come without its token or from another origin, and that no page shows a trace or
a path of the server.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from longplay.archive import Archive
from longplay.server import accounts
from longplay.server.web.headers import CSP
from longplay.server.web.session import COOKIE, CSRF_HEADER
from serverfixtures import OTHER, OTHER_PASSWORD, PASSWORD, USER, Live, start

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(base: str, user: str = USER, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A client logged in like a browser, and the session's CSRF token."""
    client = httpx.Client(base_url=base, timeout=30)
    token = csrf_of(client.get("/login").text)
    res = client.post("/login", data={"username": user, "password": password, "csrf": token})
    assert res.status_code == 303, res.text
    return client, csrf_of(client.get("/").text)


@contextlib.contextmanager
def small_server(root: Path, toml: str = "") -> Iterator[tuple[Archive, str]]:
    """A server over an archive with no catalog (enough for logins and the archive's pages),
    user dan with password pw; its archive and base URL."""
    from netutil import free_port, wait_for

    archive = Archive.init(root / "a")
    archive.toml_path.write_text(toml)
    archive = Archive.open(archive.root)
    accounts.add_user(archive, "dan", "pw", admin=True)
    port = free_port()
    server, thread = start(archive, port)
    wait_for("the server", lambda: server.started, 30, every=0.05)
    try:
        yield archive, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def browser_like(live: Live) -> Iterator[tuple[httpx.Client, str]]:
    client, token = login(live.base)
    yield client, token
    client.close()


def test_pages_carry_the_security_headers(live: Live) -> None:
    res = live.client.get(f"{live.base}/login")
    h = res.headers
    assert h["content-security-policy"] == CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    assert h["cache-control"] == "no-store"
    # Every script is a file of ours: no inline script or style anywhere in a page.
    assert "<script>" not in res.text and "style=" not in res.text
    assert "content-security-policy" in live.client.get(f"{live.base}/static/app.js").headers


def test_the_session_cookie_is_httponly_and_samesite_strict(live: Live) -> None:
    res = live.client.get(f"{live.base}/login")
    cookie = res.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http on loopback; https requests get Secure


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(live: Live) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1: what a TLS proxy in front of it sends.
    res = live.client.get(f"{live.base}/login", headers={"x-forwarded-proto": "https"})
    assert "secure" in res.headers["set-cookie"].lower()
    assert res.headers["strict-transport-security"].startswith("max-age=")


def test_a_login_without_its_csrf_token_is_refused(live: Live) -> None:
    with httpx.Client(base_url=live.base) as c:
        c.get("/login")
        res = c.post("/login", data={"username": USER, "password": PASSWORD})
        assert res.status_code == 403 and COOKIE in c.cookies
        assert c.get("/").headers["location"].endswith("/login")  # not logged in
        res = c.post("/login", data={"username": USER, "password": PASSWORD, "csrf": "forged"})
        assert res.status_code == 403


def test_a_wrong_password_is_refused_and_logins_are_counted(live: Live) -> None:
    with httpx.Client(base_url=live.base) as c:
        token = csrf_of(c.get("/login").text)
        res = c.post("/login", data={"username": USER, "password": "nope", "csrf": token})
        assert res.status_code == 401 and "Wrong user name or password" in res.text
        assert c.get("/", follow_redirects=False).status_code == 303


def test_the_api_takes_the_session_only_with_its_csrf_header(
    live: Live, browser_like: tuple[httpx.Client, str]
) -> None:
    client, token = browser_like
    params = {"f": "json", "v": "1.16.1", "c": "web"}
    ok = client.get("/rest/ping", params=params, headers={CSRF_HEADER: token}).json()
    assert ok["subsonic-response"]["status"] == "ok"
    for headers in (
        {},  # the cookie alone is what a cross-site request would carry
        {CSRF_HEADER: "forged"},
        {CSRF_HEADER: token, "origin": "http://evil.example"},
        {CSRF_HEADER: token, "sec-fetch-site": "cross-site"},
    ):
        body = client.get("/rest/star", params={**params, "id": "tr-1"}, headers=headers).json()
        assert body["subsonic-response"]["error"]["code"] == 40, headers
    # Media URLs may carry the token as a parameter (an <audio> cannot send headers) ...
    res = client.get("/rest/getCoverArt", params={**params, "id": "al-1", "csrf": token}).json()
    assert res["subsonic-response"]["error"]["code"] == 70  # authenticated, then not found
    # ... no other endpoint may.
    res = client.get("/rest/star", params={**params, "id": "tr-1", "csrf": token}).json()
    assert res["subsonic-response"]["error"]["code"] == 40


def test_a_forged_or_foreign_cookie_is_nobody(live: Live) -> None:
    with httpx.Client(base_url=live.base) as c:
        c.cookies.set(COOKIE, "eyJ1c2VyIjoiYW5uIn0.forged")
        assert c.get("/", follow_redirects=False).headers["location"].endswith("/login")


def test_logout_needs_the_token_and_ends_the_session(live: Live) -> None:
    client, token = login(live.base)
    with contextlib.closing(client):
        assert client.post("/logout", data={}).status_code == 403
        res = client.post("/logout", data={"csrf": token}, follow_redirects=False)
        assert res.status_code == 303 and COOKIE not in client.cookies
        assert client.get("/", follow_redirects=False).headers["location"].endswith("/login")


def test_a_new_password_ends_every_browser_session(tmp_path: Path) -> None:
    with small_server(tmp_path) as (archive, base):
        client, token = login(base, "dan", "pw")
        with contextlib.closing(client):
            params = {"f": "json"}
            ok = client.get("/rest/ping", params=params, headers={CSRF_HEADER: token}).json()
            assert ok["subsonic-response"]["status"] == "ok"
            accounts.set_password(archive, "dan", "new pw")
            gone = client.get("/rest/ping", params=params, headers={CSRF_HEADER: token}).json()
            assert gone["subsonic-response"]["error"]["code"] == 40
            assert client.get("/").headers["location"].endswith("/login")


def test_no_page_shows_a_trace_or_a_server_path(
    live: Live, browser_like: tuple[httpx.Client, str]
) -> None:
    client, token = browser_like
    root = str(live.archive.root)
    for path in ("/nope", "/static/../state.sqlite", "/admin/nope", "/coverage.png", "/torrents"):
        res = client.get(path) if "admin" not in path else client.post(path, data={"csrf": token})
        assert "Traceback" not in res.text and root not in res.text, path
    res = client.post("/admin/add-user", data={"csrf": token, "name": USER})
    assert res.status_code == 400 and "already exists" in res.text and root not in res.text


def test_admin_page_manages_users_and_keys(
    live: Live, browser_like: tuple[httpx.Client, str]
) -> None:
    client, token = browser_like
    page = client.get("/admin")
    assert page.status_code == 200 and OTHER in page.text
    res = client.post("/admin/add-user", data={"csrf": token, "name": "carol", "password": "pw1"})
    assert "carol" in res.text and "created" in res.text
    res = client.post("/admin/add-key", data={"csrf": token, "name": "carol", "label": "phone"})
    key = re.search(r"lp_[A-Za-z0-9_-]+", res.text)
    assert key, res.text
    assert live.get("ping", auth={"apiKey": key.group(0)})["subsonic-response"]["status"] == "ok"
    res = client.post("/admin/revoke-key", data={"csrf": token, "name": "carol", "key_id": "1"})
    assert res.status_code in (200, 400)  # key 1 may be another user's; the form says which
    assert client.post("/admin/add-user", data={"name": "mallory"}).status_code == 403
    res = client.post("/admin/delete-user", data={"csrf": token, "name": "carol"})
    assert "deleted" in res.text
    res = client.post("/admin/scan", data={"csrf": token})
    assert "Scan started" in res.text or "Nothing to scan" in res.text


def test_admin_page_is_for_admins_only(live: Live) -> None:
    client, token = login(live.base, OTHER, OTHER_PASSWORD)
    with contextlib.closing(client):
        assert client.get("/admin").status_code == 403
        res = client.post("/admin/add-user", data={"csrf": token, "name": "eve"})
        assert res.status_code == 403
        assert "Admin</a>" not in client.get("/").text


def test_coverage_and_torrents_pages(live: Live, browser_like: tuple[httpx.Client, str]) -> None:
    client, _ = browser_like
    page = client.get("/coverage")
    assert page.status_code == 200 and "coverage of gen-" in page.text
    png = client.get("/coverage.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    page = client.get("/torrents")
    assert page.status_code == 200 and "longplay pack" in page.text


def test_login_attempts_are_limited(tmp_path: Path) -> None:
    with (
        small_server(tmp_path, "auth_attempts_per_minute = 3\n") as (_, base),
        httpx.Client(base_url=base, timeout=30) as c,
    ):
        token = csrf_of(c.get("/login").text)
        codes = [
            c.post("/login", data={"username": "dan", "password": "x", "csrf": token}).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        # Even the right password waits out the minute.
        res = c.post("/login", data={"username": "dan", "password": "pw", "csrf": token})
        assert res.status_code == 429


def test_everything_lives_under_base_url(tmp_path: Path) -> None:
    with small_server(tmp_path, 'base_url = "/music"\n') as (_, base):
        client, token = login(base + "/music", "dan", "pw")
        with contextlib.closing(client):
            page = client.get("/")  # the client's base URL ends in /music
            assert page.status_code == 200
            assert 'src="/music/static/app.js"' in page.text
            assert 'name="base-url" content="/music"' in page.text
            assert client.get("/static/app.js").status_code == 200
            assert next(iter(client.cookies.jar)).path == "/music/"
            res = client.get("/rest/ping", params={"f": "json"}, headers={CSRF_HEADER: token})
            assert res.json()["subsonic-response"]["status"] == "ok"
            assert client.get(base + "/login").status_code == 404  # nothing outside the prefix


def test_not_held_songs_name_the_torrent_that_carries_them(
    live: Live, browser_like: tuple[httpx.Client, str]
) -> None:
    from longplay.pack.listing import ManifestRow, manifest_jsonl

    client, token = browser_like
    songs = live.ok("search3", query="", songCount=100, musicFolderId=2)["searchResult3"]["song"]
    missing = [s["id"] for s in songs if not s["held"]][:3]
    rows = [
        ManifestRow(f"A/B/{i}.opus", int(wid[3:]), None, None, 1, "0" * 64, None, "opus", 0, 0, 5)
        for i, wid in enumerate(missing[:2])
    ]
    live.archive.torrents_dir.mkdir(exist_ok=True)
    (live.archive.torrents_dir / "longplay-t3-0007.manifest.jsonl").write_bytes(
        manifest_jsonl(rows)
    )
    params = [("id", i) for i in [*missing, "tr-x", "../etc"]]
    res = client.get("/carriers", params=params, headers={CSRF_HEADER: token})
    assert res.json() == {missing[0]: "longplay-t3-0007", missing[1]: "longplay-t3-0007"}
    assert client.get("/carriers", params=params).status_code == 403  # no token


def test_sessions_are_signed_and_expire(tmp_path: Path) -> None:
    import dataclasses
    import time

    from longplay.server.web.session import LIFETIME_S, Sessions

    archive = Archive.init(tmp_path / "a")
    sessions = Sessions(archive)
    assert (archive.root / "web.key").stat().st_mode & 0o777 == 0o600
    s = sessions.new("ann")
    value = sessions.encode(s)
    assert sessions.decode(value) == s
    body, sig = value.rsplit(".", 1)
    assert sessions.decode(body[:-2] + "xx." + sig) is None  # edited: the signature fails
    old = dataclasses.replace(s, issued=int(time.time()) - LIFETIME_S - 1)
    assert sessions.decode(sessions.encode(old)) is None
    assert sessions.csrf_ok(s, sessions.csrf(s))
    assert not sessions.csrf_ok(sessions.new("ann"), sessions.csrf(s))  # per session
    assert Sessions(archive).decode(value) == s  # the key persists across restarts


def test_torrents_page_shows_tier_size_files_held_and_the_last_verify(tmp_path: Path) -> None:
    with small_server(tmp_path) as (archive, base):
        _torrents_page(archive, base)


def _torrents_page(archive: Archive, base: str) -> None:
    from longplay.mirror.verify import FileProblem, VerifyReport, record
    from longplay.pack.listing import Listing, ManifestRow, TorrentEntry, manifest_jsonl

    names = ["longplay-t0-0001", "longplay-t1-0001"]
    entries = [
        TorrentEntry(
            n,
            f"{n}.torrent",
            f"{i:040x}",
            None,
            "magnet:?",
            2_500_000,
            2,
            i,
            0,
            9,
            10,
            0.25,
            "2026-12-01",
            False,
            f"{n}.manifest.jsonl",
        )
        for i, n in enumerate(names)
    ]
    archive.torrents_dir.mkdir(exist_ok=True)
    (archive.torrents_dir / "torrents.json").write_bytes(
        Listing("longplay", "2026-12-01T00:00:00Z", tuple(entries)).to_json()
    )
    rows = [
        ManifestRow(f"A/{j}.opus", j, None, None, 1, "0" * 64, None, None, None, None, None)
        for j in range(2)
    ]
    for n in names:
        (archive.torrents_dir / f"{n}.manifest.jsonl").write_bytes(manifest_jsonl(rows))
    (archive.files_dir / names[0] / "A").mkdir(parents=True)
    (archive.files_dir / names[0] / "A" / "0.opus").write_bytes(b"x")
    report = VerifyReport(
        torrents=names, problems=[FileProblem(names[1], "A/1.opus", "missing", "")]
    )
    record(archive.root, report, "2026-12-05 04:00 UTC")
    client, _ = login(base, "dan", "pw")
    with contextlib.closing(client):
        page = client.get("/torrents").text
    first, second = (page.split(f"<td>{n}</td>", 1)[1].split("</tr>", 1)[0] for n in names)
    assert "2.50 MB" in first and "1 / 2" in first and "all well" in first
    assert "0 / 2" in second and "1 problem(s)" in second
