"""Kept answers (server/answers.py): reused for callers without marks, exact for those with them."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from longplay import state
from longplay.server import accounts, auth
from longplay.server import library_state as ls
from longplay.server.answers import Answer, AnswerCache
from longplay.server.endpoints import ENDPOINTS, Endpoint
from longplay.server.observe import AccessLog
from serverfixtures import OTHER, OTHER_PASSWORD, PASSWORD, USER, Live, build_archive, start


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, Any]]:
    from netutil import free_port, wait_for

    archive = build_archive(tmp_path_factory.mktemp("answers"))
    port = free_port()
    uv, thread = start(archive, port)
    wait_for("the server", lambda: uv.started, 30, every=0.05)
    with httpx.Client(timeout=30) as client:
        yield Live(archive, f"http://127.0.0.1:{port}", "", client), uv.config.app.state.server
    uv.should_exit = True
    thread.join(15)


def _album(live: Live, **auth: Any) -> dict[str, Any]:
    wid = live.ok("getAlbumList2", type="alphabeticalByName", size=1)["albumList2"]["album"][0]
    return live.ok("getAlbum", id=wid["id"], **auth)["album"]  # type: ignore[no-any-return]


def test_marks_show_at_once_and_only_to_their_user(served: tuple[Live, Any]) -> None:
    live, server = served
    bob = live.auth(OTHER, OTHER_PASSWORD)
    first = _album(live)
    hits = server.answers.hits
    assert _album(live, auth=bob) == first  # bob has no marks: the kept answer
    assert server.answers.hits > hits
    song = first["song"][0]["id"]

    live.ok("star", id=song)
    mine = _album(live)
    assert mine["song"][0]["starred"]
    theirs = _album(live, auth=bob)
    assert "starred" not in theirs["song"][0] and theirs == first

    live.ok("scrobble", id=first["song"][1]["id"])
    assert _album(live)["song"][1]["playCount"] == 1
    live.ok("unstar", id=song)
    assert "starred" not in _album(live)["song"][0]
    live.ok("setRating", id=first["id"], rating=4)
    assert _album(live)["userRating"] == 4
    assert "userRating" not in _album(live, auth=bob)

    # A write by another connection (another process, say) shows in the next answer as well.
    bob_id = accounts.find_user(server.state(), OTHER).user_id  # type: ignore[union-attr]
    with state.connection(live.archive) as con:
        ls.star(con, bob_id, [first["id"]])
    assert _album(live, auth=bob)["starred"]
    assert "starred" not in _album(live, auth=live.auth(USER, PASSWORD))


def test_formats_and_lists_are_kept_apart(served: tuple[Live, Any]) -> None:
    live, server = served
    xml = live.get("getAlbumList2", f="xml", type="newest", size=3)
    assert xml.headers["content-type"].startswith("application/xml")
    again = live.get("getAlbumList2", f="xml", type="newest", size=3)
    assert again.content == xml.content
    json_list = live.ok("getAlbumList2", type="newest", size=3)["albumList2"]["album"]
    assert [a["id"] for a in json_list] == [
        a.split('"')[1] for a in xml.text.split("<album id=")[1:]
    ]
    two = live.ok("getAlbumList2", type="newest", size=2)["albumList2"]["album"]
    assert two == json_list[:2]
    # random is drawn anew each time: never kept. (The library holds two albums, so six draws
    # were all in one order once in 32 runs; forty fail by chance once in 2**39.)
    hits = server.answers.hits
    draws = {
        tuple(
            a["id"] for a in live.ok("getAlbumList2", type="random", size=5)["albumList2"]["album"]
        )
        for _ in range(40)
    }
    assert len(draws) > 1 and server.answers.hits == hits


def test_a_new_password_ends_a_cached_token_at_once(served: tuple[Live, Any]) -> None:
    live, server = served
    salt = "5a17"
    token = hashlib.md5((OTHER_PASSWORD + salt).encode()).hexdigest()
    creds = {"u": OTHER, "t": token, "s": salt, "v": "1.16.1", "c": "tests"}
    assert _album(live, auth=creds)  # the token is checked, then its user kept
    assert _album(live, auth=creds)
    wrong = {**creds, "t": "0" * 32}
    assert live.get("getAlbum", id="al-1", auth=wrong)["subsonic-response"]["error"]["code"] == 40
    accounts.set_password(live.archive, OTHER, "changed")
    server.auth.forget(OTHER)  # what the server's own password paths do
    body = live.get("getAlbum", id="al-1", auth=creds)["subsonic-response"]
    assert body["status"] == "failed" and body["error"]["code"] == 40
    accounts.set_password(live.archive, OTHER, OTHER_PASSWORD)
    server.auth.forget(OTHER)


def test_the_cache_keeps_to_its_budget_and_its_view() -> None:
    cache = AnswerCache(budget=8_000)
    view, other = object(), object()
    for i in range(20):
        cache.put(view, ("k", i), Answer(b"x" * 500, "application/json", frozenset({"tr-1"}), 0.0))
    assert cache.cache_bytes_used() <= 8_000 and 0 < len(cache) < 20
    assert cache.get(view, ("k", 19)) is not None and cache.get(view, ("k", 0)) is None
    cache.put(view, ("big",), Answer(b"x" * 2_000, "", frozenset(), 0.0))  # over budget / 8
    assert cache.get(view, ("big",)) is None
    assert cache.get(other, ("k", 19)) is None  # another view's answers are not its own
    cache.put(other, ("k", 1), Answer(b"y", "", frozenset(), 0.0))
    assert len(cache) == 1 and cache.get(view, ("k", 19)) is None


def test_access_lines_go_out_in_batches(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    log = AccessLog()
    with caplog.at_level(logging.INFO, logger="longplay.server.access"):
        log.add("10.0.0.1", "GET", "/rest/ping", "ping", 200, 1.25)  # no loop: written at once
        log.flush()
    lines = [r.getMessage() for r in caplog.records if r.name == "longplay.server.access"]
    assert len(lines) == 1 and lines[0].endswith("10.0.0.1 GET /rest/ping ping 200 1.2ms")


def test_streams_on_cached_credentials_still_check_them(served: tuple[Live, Any]) -> None:
    live, server = served
    song = live.ok("search3", query="", songCount=1)["searchResult3"]["song"][0]["id"]
    first = live.get("stream", f="raw", id=song)
    assert first.status_code == 200 and len(first.content) > 1000
    ranged = live.client.get(
        f"{live.base}/rest/stream",
        params={**live.auth(), "id": song},
        headers={"Range": "bytes=10-99"},
    )
    assert ranged.status_code == 206 and ranged.content == first.content[10:100]
    wrong = {**live.auth(), "t": "f" * 32}
    body = live.get("stream", auth=wrong, id=song)["subsonic-response"]
    assert body["error"]["code"] == 40
    bob = live.auth(OTHER, OTHER_PASSWORD)
    assert live.get("stream", f="raw", auth=bob, id=song).status_code == 200
    accounts.set_password(live.archive, OTHER, "another")
    server.auth.forget(OTHER)
    assert live.get("stream", auth=bob, id=song)["subsonic-response"]["error"]["code"] == 40
    accounts.set_password(live.archive, OTHER, OTHER_PASSWORD)
    server.auth.forget(OTHER)


def test_cached_pages_are_read_without_a_thread(tmp_path: Path) -> None:
    import os

    from longplay.server.files import read_cached

    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 10)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.pread(fd, 4096, 0)  # now in the page cache
        got = read_cached(fd, 100, 50)
        assert got is None or got == (bytes(range(256)) * 10)[50:150]
        assert read_cached(fd, 100, 2560) in (None, b"")  # at the end: nothing more
    finally:
        os.close(fd)


def test_cached_credentials_outlive_their_time_only_while_state_stands(
    served: tuple[Live, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, server = served
    monkeypatch.setattr(auth, "CACHE_S", 0.0)  # every credential is past its time at once
    creds = live.auth(OTHER, OTHER_PASSWORD)
    assert _album(live, auth=creds)  # checked in full, then kept
    assert server.auth.cached(creds, "127.0.0.1") is not None  # nothing committed since
    assert server.auth.cached({**creds, "t": "0" * 32}, "127.0.0.1") is None
    # Another process's new password (a commit to state.sqlite; no forget() here) ends it.
    accounts.set_password(live.archive, OTHER, "changed")
    assert server.auth.cached(creds, "127.0.0.1") is None
    body = live.get("getAlbum", id="al-1", auth=creds)["subsonic-response"]
    assert body["status"] == "failed" and body["error"]["code"] == 40
    accounts.set_password(live.archive, OTHER, OTHER_PASSWORD)
    assert _album(live, auth=creds)


def test_an_answer_asked_for_at_once_is_computed_once(
    served: tuple[Live, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, _ = served
    accounts.add_user(live.archive, "cara", "pw cara")  # no marks anywhere
    creds = live.auth("cara", "pw cara")
    live.ok("ping", auth=creds)  # her credentials are cached
    original = ENDPOINTS["getAlbumList2"]
    runs: list[int] = []

    def slow(call: Any) -> Any:
        runs.append(1)
        time.sleep(0.3)  # long enough for every request below to arrive meanwhile
        return original.handler(call)

    monkeypatch.setitem(ENDPOINTS, "getAlbumList2", Endpoint("getAlbumList2", slow, False))
    params = {**creds, "f": "json", "type": "alphabeticalByArtist", "size": "4"}

    def one(_: int) -> bytes:
        return httpx.get(f"{live.base}/rest/getAlbumList2", params=params, timeout=30).content

    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(one, range(16)))
    assert len(runs) == 1 and len(set(bodies)) == 1
    assert b'"status":"ok"' in bodies[0] and b'"album":[' in bodies[0]
