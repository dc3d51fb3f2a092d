"""The server under attack (issue 25, part 5): brute force, bad credentials on every endpoint,
oversized requests, slow and idle connections, and no path or trace in any answer.

`longplay serve` runs in a subprocess with the failure limit on (10 a minute) and a 3 s head
timeout; each scenario calls from its own loopback address (127.0.0.N), so the per-address
limit of one does not touch another. Every answer is searched for the archive's path and for
Python traces.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from loadclient import Served, load_archive, serving, token_auth
from longplay.archive import Archive
from longplay.server import accounts
from longplay.server.auth import RateLimiter
from longplay.server.endpoints import PUBLIC, SPEC_ENDPOINTS
from serverfixtures import OTHER, OTHER_PASSWORD, PASSWORD, USER

HEADER_TIMEOUT_S = 3
LEAKS = ["Traceback", 'File "', "/tmp/"]  # and the archive's path, added by the fixture


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, Served, str]]:
    archive = load_archive(tmp_path_factory.mktemp("attack"))
    LEAKS.append(str(archive.root))
    _, key = accounts.create_api_key(archive, USER, "attack tests")
    env = {
        "LONGPLAY_AUTH_ATTEMPTS_PER_MINUTE": "10",
        "LONGPLAY_SERVER_HEADER_TIMEOUT": str(HEADER_TIMEOUT_S),
    }
    with serving(archive, env) as server:
        yield archive, server, key


def client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def no_leak(text: str) -> None:
    """No filesystem path and no Python trace in an answer."""
    for mark in LEAKS:
        assert mark not in text, f"{mark!r} in an answer: {text[:300]}"


def call(c: httpx.Client, base: str, endpoint: str, /, **params: Any) -> dict[str, Any]:
    res = c.get(f"{base}/rest/{endpoint}", params={"f": "json", **params})
    no_leak(res.text)
    return res.json()["subsonic-response"]  # type: ignore[no-any-return]


def code(body: dict[str, Any]) -> int | None:
    return body["error"]["code"] if body["status"] == "failed" else None


def test_brute_force_is_locked_out_per_user_and_per_address(
    attacked: tuple[Archive, Served, str],
) -> None:
    _, server, _ = attacked
    base = server.base
    # Per user: ten wrong passwords for bob from ten addresses, then bob's right one is refused
    # from an eleventh; ann, from that same address, is not.
    for n in range(10):
        with client(f"127.0.0.{11 + n}") as c:
            assert code(call(c, base, "ping", u=OTHER, p=f"guess{n}")) == 40
    with client("127.0.0.30") as c:
        refused = call(c, base, "ping", **token_auth(OTHER, OTHER_PASSWORD))
        assert code(refused) == 40 and "Too many" in refused["error"]["message"]
        assert code(call(c, base, "ping", **token_auth(USER, PASSWORD))) is None
    # Per address: ten made-up names from one address, then a right password from it is refused.
    with client("127.0.0.40") as c:
        for n in range(10):
            assert code(call(c, base, "ping", u=f"nobody{n}", p="x")) == 40
        assert code(call(c, base, "ping", **token_auth(USER, PASSWORD))) == 40
    with client("127.0.0.41") as c:
        assert code(call(c, base, "ping", **token_auth(USER, PASSWORD))) is None


def test_the_limiter_keeps_only_names_with_recent_failures() -> None:
    limiter = RateLimiter(3, window_s=0.2, max_keys=1000)
    for n in range(20_000):  # asking about a name stores nothing
        assert not limiter.blocked(f"user:{n}", "addr:1.2.3.4")
    assert len(limiter) == 0
    for n in range(50_000):  # a flood of failing names stays under max_keys
        limiter.fail(f"user:{n}")
    assert len(limiter) <= 1000
    limiter.fail("user:x", "user:x", "user:x")
    assert limiter.blocked("user:x")
    time.sleep(0.25)  # aged out: no longer blocked, and forgotten when looked at
    assert not limiter.blocked("user:x")
    assert "user:x" not in limiter._failures


def test_every_protected_endpoint_refuses_bad_credentials(
    attacked: tuple[Archive, Served, str],
) -> None:
    _, server, key = attacked
    token = token_auth(USER, PASSWORD)
    cases = {
        "nothing": ({}, 10),
        "user without password": ({"u": USER}, 10),
        "token without salt": ({"u": USER, "t": token["t"]}, 10),
        "apiKey with u": ({"apiKey": key, "u": USER}, 43),
        "apiKey with t and s": ({"apiKey": key, "t": token["t"], "s": token["s"]}, 43),
        "p with t": ({**token, "p": PASSWORD}, 43),
        "unknown apiKey": ({"apiKey": "lp_nope"}, 44),
        "wrong password": ({"u": "mallory", "p": "wrong"}, 40),  # locks mallory, not ann
    }
    for k, (case, (params, want)) in enumerate(cases.items()):
        with client(f"127.0.1.{k + 1}") as c:
            for name in sorted(SPEC_ENDPOINTS - PUBLIC):
                body = call(c, server.base, name, **params)
                assert code(body) == want, (case, name, body)
    print(f"bad credentials: {len(cases)} kinds x {len(SPEC_ENDPOINTS - PUBLIC)} endpoints")


def test_oversized_requests_are_refused_and_others_still_served(
    attacked: tuple[Archive, Served, str],
) -> None:
    _, server, _ = attacked
    base, auth = server.base, {**token_auth(USER, PASSWORD), "f": "json"}
    with client("127.0.2.1") as c:
        query = urlencode({**auth, "query": "a" * (1 << 20)})  # httpx refuses to send it
        huge = raw(base, f"GET /rest/search3?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert huge.startswith(b"HTTP/1.1 431")
        ids = [("id", "tr-1")] * 10_000
        query = urlencode([*auth.items(), *ids])  # 80 kB: past what httptools parses
        long_url = raw(base, f"GET /rest/star?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert long_url.startswith(b"HTTP/1.1 414")
        start = time.monotonic()  # the same 10,000 ids as a form: handled, in bounded time
        form = {"content-type": "application/x-www-form-urlencoded"}
        many = c.post(f"{base}/rest/star", content=query, headers=form)
        assert many.json()["subsonic-response"]["status"] == "ok", many.text[:300]
        assert time.monotonic() - start < 10
        start = time.monotonic()
        body = c.post(f"{base}/rest/ping", data={**auth, "junk": "x" * (10 << 20)})
        assert body.status_code == 413 and time.monotonic() - start < 10

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused as it passes the limit
            yield "&".join(f"{k}={v}" for k, v in auth.items()).encode()
            for _ in range(10 * 16):
                yield b"&junk=" + b"x" * (64 << 10)

        chunked = c.post(f"{base}/rest/ping", content=chunks(), headers=form)
        assert chunked.status_code == 413
        for res in (many, body, chunked):
            no_leak(res.text)
        no_leak((huge + long_url).decode(errors="replace"))
        assert c.get(f"{base}/rest/ping", params=auth).json()["subsonic-response"]["status"] == "ok"
    assert server.peak_kb() < 600 * 1024


def raw(base: str, request: bytes) -> bytes:
    """Send ``request`` on a socket of its own; the answer until the server closes it."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        with contextlib.suppress(OSError):  # the server may answer before reading it all
            s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))


def test_slow_and_idle_connections_do_not_starve_others(
    attacked: tuple[Archive, Served, str],
) -> None:
    _, server, _ = attacked
    _raise_open_files()
    port = int(server.base.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2000)]
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    stop = threading.Event()

    def dribble() -> None:  # slowloris: a header byte per connection per second
        for s in slow:
            s.sendall(b"GET /rest/ping?u=ann HTTP/1.1\r\nHost: x\r\nX-a: ")
        while not stop.wait(1.0):
            for s in slow:
                try:
                    s.sendall(b"a")
                except OSError:
                    continue

    dribbler = threading.Thread(target=dribble, daemon=True)
    dribbler.start()
    try:
        params = {**token_auth(USER, PASSWORD), "f": "json"}
        with client("127.0.3.1") as c:
            album = call(c, server.base, "getAlbumList2", type="newest", size=1, **params)
            album_id = album["albumList2"]["album"][0]["id"]
            worst = 0.0
            for _ in range(20):
                start = time.monotonic()
                assert code(call(c, server.base, "getAlbum", id=album_id, **params)) is None
                worst = max(worst, time.monotonic() - start)
                time.sleep(0.1)
        assert worst < 2.0, f"a normal request took {worst:.2f} s beside the attack"
        print(f"2,000 idle + 200 slowloris connections: worst getAlbum of 20 {worst * 1000:.0f} ms")
        time.sleep(HEADER_TIMEOUT_S + 1)
        # Past the head timeout the slow ones got 408 and the idle ones were closed.
        slow[0].settimeout(5)
        assert slow[0].recv(200).startswith(b"HTTP/1.1 408")
        idle[0].settimeout(5)
        assert idle[0].recv(200).startswith(b"HTTP/1.1 408")
    finally:
        stop.set()
        dribbler.join(5)
        for s in idle + slow:
            s.close()


def test_no_answer_leaks_a_path_or_a_trace(attacked: tuple[Archive, Served, str]) -> None:
    archive, server, _ = attacked
    params = {**token_auth(USER, PASSWORD), "f": "json"}
    hostile = [
        ("stream", {"id": "../../../../etc/passwd"}),
        ("stream", {"id": "tr-99999999999999999999999"}),
        ("getCoverArt", {"id": "/etc/passwd", "size": "-1"}),
        ("getCoverArt", {"id": "al-1", "size": "999999999"}),
        ("download", {"id": "tr-%00"}),
        ("getMusicDirectory", {"id": str(archive.root)}),
        ("search3", {"query": '"((( AND OR NOT :*'}),
        ("getAlbumList2", {"type": "byYear", "fromYear": "x", "toYear": "1e999"}),
        ("savePlayQueue", {"id": "tr-1", "current": "tr-2", "position": "-1"}),
    ]
    with client("127.0.4.1") as c:
        for endpoint, extra in hostile:
            for f in ("json", "xml"):
                res = c.get(f"{server.base}/rest/{endpoint}", params={**params, **extra, "f": f})
                no_leak(res.text)
                assert res.status_code in (200, 206, 400, 404, 416), (endpoint, res.status_code)
        bad_range = c.get(
            f"{server.base}/rest/stream",
            params={**params, "id": "tr-1"},
            headers={"Range": "bytes=99999999999-1"},
        )
        no_leak(bad_range.text)
