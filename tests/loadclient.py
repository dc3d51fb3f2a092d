"""The load tests' tools: `longplay serve` in a subprocess (so its RSS can be read) and wrk
keeping N connections busy with a mix of Subsonic requests (tests/wrk/mix.lua).

wrk, not an asyncio + httpx client: on this 2-core machine httpx's pool managed about 20
requests/s at 64 connections, so it measured itself, not the server. Every answer is checked
by the Lua script: a Range answer of exactly the asked bytes, anything else 200 with a
Subsonic envelope whose status is ok; socket errors (connect, read, write, timeout) count too.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat, ingest_synthetic
from longplay.server import accounts
from netutil import free_port, port_open, wait_for
from serverfixtures import OTHER, OTHER_PASSWORD, PASSWORD, USER


def token_auth(user: str, password: str) -> dict[str, str]:
    salt = "5a1t"
    token = hashlib.md5((password + salt).encode()).hexdigest()
    return {"u": user, "t": token, "s": salt, "v": "1.16.1", "c": "load"}


def load_archive(root: Path) -> Archive:
    """serverfixtures' archive, smaller: four 1-second clips held, 300 synthetic tracks."""
    archive = Archive.init(root / "archive")
    # The load tests authenticate correctly; the attack tests set the limit through the
    # environment of the server they start.
    archive.toml_path.write_text("auth_attempts_per_minute = 0\n")
    archive = Archive.open(archive.root)
    music = root / "music"
    samples.generate(music, 4, seed=0, seconds=1.0)
    ingest_synthetic(archive, 300, seed=4)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=1)
    accounts.add_user(archive, USER, PASSWORD, admin=True)
    accounts.add_user(archive, OTHER, OTHER_PASSWORD)
    return archive


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Served:
    """A running `longplay serve`: its base URL, process and RSS samples (kB)."""

    base: str
    proc: subprocess.Popen[bytes]
    log: Path
    rss_kb: list[int] = field(default_factory=list)

    def peak_kb(self) -> int:
        """The server's peak RSS so far (VmHWM), or the largest sample if it has exited."""
        try:
            return _status_kb(self.proc.pid, "VmHWM")
        except OSError:
            return max(self.rss_kb, default=0)


@contextmanager
def serving(archive: Archive, env: dict[str, str] | None = None) -> Iterator[Served]:
    """``longplay --archive A serve`` on a free 127.0.0.1 port until the block ends."""
    port = free_port()
    log = archive.root / f"serve-{port}.log"
    cmd = [sys.executable, "-m", "longplay", "--archive", str(archive.root), "serve"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            try:
                served.rss_kb.append(_status_kb(proc.pid, "VmRSS"))
            except OSError:
                return

    try:
        wait_for("longplay serve", lambda: proc.poll() is not None or port_open(port), 120)
        assert proc.poll() is None, log.read_text()[-2000:]
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        yield served
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


WRK_MIX = Path(__file__).parent / "wrk" / "mix.lua"
RANGE = 4096  # bytes asked by each Range request of the mix


@dataclass
class LoadResult:
    """What wrk saw: answers checked good and bad, socket errors, latency, a sample of bad."""

    ok: int
    bad: int
    socket_errors: dict[str, int]
    non_2xx: int
    p50_ms: float
    p99_ms: float
    rps: float
    sample: str
    output: str

    @property
    def errors(self) -> int:
        return self.bad + sum(self.socket_errors.values())


def mix(auth: dict[str, str], artists: list[str], albums: list[str], songs: list[str]) -> list[str]:
    """One round of the request mix: browse, search, Range streams, star/unstar, queue saves."""
    a = urlencode({**auth, "f": "json"})
    out: list[str] = []
    for i, album in enumerate(albums):
        song, artist = songs[i % len(songs)], artists[i % len(artists)]
        out += [
            f"/rest/getArtists?{a}",
            f"/rest/getAlbum?{a}&id={album}",
            f"/rest/getMusicDirectory?{a}&id={artist}",
            f"/rest/search3?{a}&query=a&songCount=20",
            f"R {RANGE} /rest/stream?{a}&id={song}",
            f"/rest/star?{a}&id={song}",
            f"/rest/unstar?{a}&id={song}",
            f"/rest/savePlayQueue?{a}&id={song}&id={songs[0]}&current={song}",
        ]
    return out


def run_wrk(
    base: str, paths: list[str], seconds: float, connections: int, workdir: Path
) -> LoadResult:
    """wrk with ``connections`` connections for ``seconds``, cycling through ``paths``."""
    listing = workdir / f"paths-{os.getpid()}-{time.monotonic_ns()}.txt"
    listing.write_text("\n".join(paths) + "\n")
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s"]
    cmd += ["-s", str(WRK_MIX), base, "--", str(listing)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    found = re.search(r"mix: ok=(\d+) bad=(\d+) p50_us=(\d+) p99_us=(\d+)", text)
    assert found, text
    sock = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    names = ("connect", "read", "write", "timeout")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    sample = re.search(r"mix-sample: (.*)", text)
    return LoadResult(
        ok=int(found[1]),
        bad=int(found[2]),
        socket_errors={n: int(sock[k + 1]) for k, n in enumerate(names)} if sock else {},
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        p50_ms=int(found[3]) / 1000,
        p99_ms=int(found[4]) / 1000,
        rps=float(rps[1]) if rps else 0.0,
        sample=sample[1] if sample else "",
        output=text,
    )


def discover(base: str, auth: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Artist, album and song ids of the Library folder (what the server holds files for)."""
    with httpx.Client(base_url=base, timeout=30) as c:
        params: dict[str, Any] = {**auth, "f": "json"}
        index = c.get("/rest/getArtists", params=params).json()["subsonic-response"]
        artists = [a["id"] for i in index["artists"]["index"] for a in i["artist"]]
        albums: list[str] = []
        songs: list[str] = []
        for artist in artists:
            body = c.get("/rest/getArtist", params={**params, "id": artist}).json()
            albums += [al["id"] for al in body["subsonic-response"]["artist"]["album"]]
        for album in albums:
            body = c.get("/rest/getAlbum", params={**params, "id": album}).json()
            songs += [s["id"] for s in body["subsonic-response"]["album"]["song"]]
    return artists, albums, songs
