"""Benchmark: `longplay serve` under wrk, with its peers measured in the same run.

    python bench/server.py                  # 1M-track catalog, 64 and 256 connections, 20 s
    python bench/server.py --quick          # 20k tracks, 256 connections, 5 s
    python bench/server.py --tracks 10000000 --connections 256 --seconds 20

Three servers, each in its own process, wrk (Debian) on the same machine:
- longplay over a large synthetic catalog (the Catalog folder, musicFolderId=2) plus 300
  one-second clips it holds (streamed with a Range request);
- the floor: a bare Starlette app answering a fixed 1 kB JSON body on the same uvicorn
  settings (the Python stack's ceiling);
- supysonic 0.7.9 (gunicorn, 2 workers) over the same 300 clips, and longplay over only those
  clips, for the like-for-like ratio (feeding supysonic a million tracks means a million audio
  files for its scanner: not practical here).
Per endpoint: req/s, p50 and p99 latency, errors (socket errors + non-2xx), and the ratios the
issue's goals name. Then, on the large archive: 1,000 listeners at once (bench/_streams.py:
each on its own connection, a raw stream every ``--play-seconds``), their time to first byte;
and the first byte of Opus transcodes over HTTP. Goals (issue 21): >= 50x supysonic on
search3, getAlbum, getAlbumList2; getAlbum >= 0.25x the floor; p99 < 50 ms at 256 connections
with zero errors; 1,000 concurrent raw streams with p99 time to first byte < 50 ms; Opus first
byte < 300 ms.

Both archives get a search index (`longplay index`), as a deployment would: search3 then goes
through it, and its answers are kept per generation (docs/serve.md, Kept answers). wrk repeats
one URL, so every request after the first of each is answered from the kept answers;
``--no-answer-cache`` turns them off (``server_answer_cache = 0``) to measure the full path.

wrk's latency percentiles overstate the tail when the cores are contended (its mean latency
times its rate exceeds its connections, which Little's law forbids: the ``Little`` column, 1.00
at most for honest figures), so p50/p99 at the last connection count are measured again with
bench/_latency.py, a closed-loop client, which also reports how long each server's main thread
waited for a core. ``--pin`` puts the servers on core 1 and wrk (one thread) and the clients
on core 0, so load generator and server do not take each other's core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import supysonic_command, supysonic_setup
from _streams import listeners, opus_first_bytes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "server"
CLIPS = 300
# --pin: servers on core 1, load generators on core 0 (so neither takes the other's core).
SERVER_PREFIX: list[str] = []
LOAD_PREFIX: list[str] = []
WRK_THREADS = 2


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clips() -> Path:
    from longplay.audio import samples

    music = OUT / f"clips-{CLIPS}"
    if not (music / "catalog.jsonl").exists():
        samples.generate(music, CLIPS, seed=3, seconds=1.0)
    return music


def archive_with(name: str, tracks: int) -> Path:
    """An archive holding the clips, plus ``tracks`` synthetic catalog tracks (built once)."""
    from longplay.archive import Archive
    from longplay.audio.scan import scan
    from longplay.catalog.sources import ingest_flat, ingest_synthetic
    from longplay.server import accounts

    root = OUT / name
    if (root / "bench-ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    archive = Archive.init(root)
    archive.toml_path.write_text("auth_attempts_per_minute = 0\n")
    archive = Archive.open(root)
    music = clips()
    start = time.monotonic()
    if tracks:
        ingest_synthetic(archive, tracks, seed=5)
    ingest_flat(archive, [music / "catalog.jsonl"], "clips")
    scan(archive, [music], workers=2)
    accounts.add_user(archive, "bench", "bench", admin=True)
    index = [sys.executable, "-m", "longplay", "--archive", str(root), "index", "--workers", "2"]
    subprocess.run([*index, "-q"], check=True)  # search3 through the index, as deployed
    print(
        f"built {name}: {tracks:,} synthetic tracks + {CLIPS} clips in {time.monotonic() - start:.0f} s"
    )
    (root / "bench-ready").touch()
    return root


@contextmanager
def running(
    cmd: list[str], port: int, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = OUT / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SERVER_PREFIX, *cmd], stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                sys.exit(f"{cmd[0]} exited: {log.read_text()[-2000:]}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def stream_measures(base: str, n: int, play_s: float, seconds: float, opus: int) -> dict[str, Any]:
    """1,000 listeners' first bytes, then Opus transcodes' first bytes (bench/_streams.py)."""
    salt = "b3nch"
    q = {"u": "bench", "t": hashlib.md5(f"bench{salt}".encode()).hexdigest(), "s": salt}
    q |= {"v": "1.16.1", "c": "bench"}
    found = httpx.get(
        f"{base}/rest/search3",
        params={**q, "f": "json", "query": "", "songCount": "500", "musicFolderId": "1"},
        timeout=120,
    ).json()["subsonic-response"]["searchResult3"]["song"]
    songs = [s["id"] for s in found]
    out = listeners(base, q, songs, n, play_s, seconds)
    print(
        f"{n} listeners, a stream each every ~{play_s:g} s for {seconds:g} s: {out['starts']} "
        f"starts, peak {out['peak']} listeners, {out['connects']} connections; first byte p50 {out['p50']:.1f} ms, p99 "
        f"{out['p99']:.1f} ms, max {out['max']:.1f} ms; errors {out['errors']} "
        f"{out['first_errors'] or ''} (goal p99 < 50 ms)",
        flush=True,
    )
    drain(f"{base}/rest/ping")
    fresh = [s["id"] for s in found if s.get("suffix") not in ("opus", None)]
    firsts = sorted(opus_first_bytes(base, q, random.Random(11).sample(fresh, opus)))
    print(
        f"Opus transcode over HTTP, {len(firsts)} songs not transcoded before: first byte "
        f"median {firsts[len(firsts) // 2]:.0f} ms, max {firsts[-1]:.0f} ms (goal < 300 ms)",
        flush=True,
    )
    return {"listeners": out, "opus": firsts}


def longplay_cmd(root: Path, port: int) -> list[str]:
    serve = ["--archive", str(root), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-m", "longplay", *serve]


def wrk(
    url: str, connections: int, seconds: float, headers: tuple[str, ...] = ()
) -> dict[str, Any]:
    cmd = [*LOAD_PREFIX, "wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds:g}s"]
    cmd += ["--latency", "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    text = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        found = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not found:
            return float("nan")
        return float(found[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found[2]]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    mean = re.search(r"^\s+Latency\s+([\d.]+)(us|ms|s)\s", text, re.M)
    mean_ms = float(mean[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[mean[2]] if mean else 0.0
    sock = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = (sum(int(g) for g in sock.groups()) if sock else 0) + (int(non2xx[1]) if non2xx else 0)
    return {
        "rps": float(rps[1]) if rps else 0.0,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": errors,
        # Little's law: mean latency x rate cannot exceed the connections (1.0 at most); above
        # it, wrk's latencies are inflated (seen under CPU contention, bench/RESULTS.md h-srv).
        "little": mean_ms / 1000 * (float(rps[1]) if rps else 0.0) / connections,
    }


def closed_loop(
    url: str, connections: int, seconds: float, pid: int, headers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """bench/_latency.py in its own process (pinned like wrk with --pin)."""
    cmd = [*LOAD_PREFIX, sys.executable, str(ROOT / "bench" / "_latency.py")]
    cmd += [url, str(connections), f"{seconds:g}", str(pid), *headers]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def latencies(name: str, tg: dict[str, Any], connections: int, seconds: float, pid: int) -> None:
    """p99 from a client whose figures satisfy Little's law, and how long the server waited
    for a core meanwhile (its main thread's schedstat)."""
    for ep, (url, headers) in tg.items():
        r = closed_loop(url, connections, seconds, pid, headers)
        drain(url)
        print(
            f"{name:22}{ep:15}{connections:>5}{r['rps']:>10.0f}{r['p50']:>10.1f}{r['p99']:>10.1f}"
            f"{r['errors']:>8}   p999 {r['p999']:.0f}, max {r['max']:.0f}, Little {r['little']:.2f}; "
            f"server ran {r['server_ran_s']:.1f} s, waited for a core {r['server_waited_s']:.1f} s "
            f"of {r['seconds']:.1f} s",
            flush=True,
        )


def drain(url: str) -> None:
    """Wait until the server answers promptly again: requests wrk gave up on may still be
    queued in its thread pool, and would be charged to the next endpoint measured."""
    base = url.split("/rest/")[0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        start = time.monotonic()
        with suppress(httpx.HTTPError):
            httpx.get(f"{base}/rest/ping", timeout=60)
        if time.monotonic() - start < 0.2:
            return
        time.sleep(0.5)


def longplay_targets(base: str, folder: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    salt = "b3nch"
    auth = {"u": "bench", "t": hashlib.md5(f"bench{salt}".encode()).hexdigest(), "s": salt}
    q = {**auth, "v": "1.16.1", "c": "bench", "f": "json"}
    f = {"musicFolderId": str(folder)}

    def get(ep: str, **p: str | int) -> Any:
        return httpx.get(f"{base}/rest/{ep}", params={**q, **p}, timeout=120).json()[
            "subsonic-response"
        ]

    album = get("getAlbumList2", type="newest", size=1, **f)["albumList2"]["album"][0]
    word = album["name"].split()[0]
    song = get("search3", query="", songCount=1)["searchResult3"]["song"][0]["id"]
    return targets(base, q, f, album["id"], word, song)


def targets(
    base: str, q: dict[str, str], f: dict[str, str], album: str, word: str, song: str
) -> dict[str, tuple[str, tuple[str, ...]]]:
    url = lambda ep, **p: f"{base}/rest/{ep}?{urlencode({**q, **p})}"  # noqa: E731
    return {
        "ping": (url("ping"), ()),
        "getArtists": (url("getArtists", **f), ()),
        "getAlbumList2": (url("getAlbumList2", type="newest", size="20", **f), ()),
        "getAlbum": (url("getAlbum", id=album), ()),
        "search3": (
            url("search3", query=word, songCount="20", albumCount="20", artistCount="20", **f),
            (),
        ),
        "stream": (url("stream", id=song), ("Range: bytes=0-65535",)),
    }


def supysonic_targets(base: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    q = {"u": "bench", "p": "enc:" + b"bench".hex(), "v": "1.12.0", "c": "bench", "f": "json"}

    def get(ep: str, **p: str) -> Any:
        return httpx.get(f"{base}/rest/{ep}", params={**q, **p}, timeout=60).json()[
            "subsonic-response"
        ]

    album = get("getAlbumList2", type="newest", size="1")["albumList2"]["album"][0]
    song = get("getAlbum", id=album["id"])["album"]["song"][0]["id"]
    return targets(base, q, {}, album["id"], album["name"].split()[0], song)


def measure(
    name: str, tg: dict[str, Any], conns: list[int], seconds: float, table: dict[Any, Any]
) -> None:
    for c in conns:
        for ep, (url, headers) in tg.items():
            r = wrk(url, c, seconds, headers)
            drain(url)
            table[(name, ep, c)] = r
            print(
                f"{name:22}{ep:15}{c:>5}{r['rps']:>10.0f}{r['p50']:>10.1f}{r['p99']:>10.1f}"
                f"{r['errors']:>8}{r['little']:>8.2f}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="20k tracks, 256 connections, 5 s")
    ap.add_argument("--tracks", type=int, default=None, help="synthetic catalog size (1,000,000)")
    ap.add_argument("--seconds", type=float, default=None, help="wrk duration per run (20)")
    ap.add_argument("--connections", type=int, nargs="*", default=None, help="(64 256)")
    ap.add_argument("--no-supysonic", action="store_true", help="skip the supysonic peer")
    ap.add_argument("--listeners", type=int, default=1000, help="concurrent streams (1000)")
    ap.add_argument("--play-seconds", type=float, default=10.0, help="per listener's stream")
    ap.add_argument("--stream-seconds", type=float, default=30.0, help="listeners' run (30)")
    ap.add_argument("--opus", type=int, default=10, help="Opus transcodes timed (10)")
    ap.add_argument("--no-answer-cache", action="store_true", help="server_answer_cache = 0")
    ap.add_argument("--pin", action="store_true", help="servers on core 1, wrk -t1 on core 0")
    ap.add_argument(
        "--latency-seconds",
        type=float,
        default=10.0,
        help="closed-loop client per endpoint (0: none)",
    )
    args = ap.parse_args()
    global WRK_THREADS
    if args.pin:
        os.sched_setaffinity(0, {0})  # this process's own clients (listeners, Opus) too
        SERVER_PREFIX[:] = ["taskset", "-c", "1"]
        LOAD_PREFIX[:] = ["taskset", "-c", "0"]
        WRK_THREADS = 1
    tracks = args.tracks or (20_000 if args.quick else 1_000_000)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    conns = args.connections or ([256] if args.quick else [64, 256])
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "system-deps.sh"), "wrk"], check=False)
    OUT.mkdir(parents=True, exist_ok=True)
    large = archive_with(f"archive-{tracks}", tracks)
    small = archive_with("archive-clips", 0)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (start)")
    pinned = " (pinned: wrk and clients on core 0, servers on core 1)" if args.pin else ""
    print(
        f"wrk -t{WRK_THREADS}, {seconds:g} s per run; latency in ms; catalog {tracks:,} tracks{pinned}"
    )
    print(
        f"{'server':22}{'endpoint':15}{'conns':>5}{'req/s':>10}{'p50':>10}{'p99':>10}{'errors':>8}"
        f"{'Little':>8}"
    )
    table: dict[Any, dict[str, float]] = {}
    port = free_port()
    if args.no_answer_cache:
        os.environ["LONGPLAY_SERVER_ANSWER_CACHE"] = "0"
    with running(longplay_cmd(large, port), port) as proc:
        tg = longplay_targets(f"http://127.0.0.1:{port}", 2)
        measure("longplay", tg, conns, seconds, table)
        if args.latency_seconds:
            print("closed-loop client (bench/_latency.py), its p50/p99:")
            latencies("longplay", tg, conns[-1], args.latency_seconds, proc.pid)
        if args.listeners:
            base = f"http://127.0.0.1:{port}"
            stream_measures(base, args.listeners, args.play_seconds, args.stream_seconds, args.opus)
    port = free_port()
    floor = [sys.executable, str(ROOT / "bench" / "_peers.py"), str(large), str(port)]
    with running(floor, port) as proc:
        url = f"http://127.0.0.1:{port}/rest/ping"
        measure("floor (bare Starlette)", {"fixed 1kB": (url, ())}, conns, seconds, table)
        if args.latency_seconds:
            print("closed-loop client (bench/_latency.py), its p50/p99:")
            latencies(
                "floor (bare Starlette)", {"fixed 1kB": (url, ())}, conns[-1],
                args.latency_seconds, proc.pid,
            )  # fmt: skip
        if args.listeners:  # the same listeners against the bare app: this machine's floor
            out = listeners(url.split("/rest/")[0], {}, ["x"], args.listeners, args.play_seconds,
                            args.stream_seconds)  # fmt: skip
            print(
                f"floor: {args.listeners} listeners, {out['starts']} starts: first byte p50 "
                f"{out['p50']:.1f} ms, p99 {out['p99']:.1f} ms, max {out['max']:.1f} ms; "
                f"errors {out['errors']}",
                flush=True,
            )
    if not args.no_supysonic:
        port = free_port()
        with running(longplay_cmd(small, port), port):
            measure(
                "longplay (300 clips)",
                longplay_targets(f"http://127.0.0.1:{port}", 1),
                conns[-1:],
                seconds,
                table,
            )
        work = supysonic_setup(clips(), OUT / "supysonic")
        port = free_port()
        with running(supysonic_command(work, port), port, cwd=work):
            measure(
                "supysonic (300 clips)",
                supysonic_targets(f"http://127.0.0.1:{port}"),
                conns[-1:],
                seconds,
                table,
            )
    print(f"machine: load average {os.getloadavg()[0]:.2f} (end)")
    report(table, conns)


def report(table: dict[Any, dict[str, float]], conns: list[int]) -> None:
    c = conns[-1]
    floor = table[("floor (bare Starlette)", "fixed 1kB", c)]["rps"]
    album = table[("longplay", "getAlbum", c)]["rps"]
    print(f"getAlbum / floor at {c}: {album / floor:.2f} (goal >= 0.25)")
    for ep in ("search3", "getAlbum", "getAlbumList2", "getArtists", "ping", "stream"):
        ours = table.get(("longplay (300 clips)", ep, c))
        theirs = table.get(("supysonic (300 clips)", ep, c))
        if ours and theirs and theirs["rps"]:
            goal = " (goal >= 50)" if ep in ("search3", "getAlbum", "getAlbumList2") else ""
            print(
                f"{ep} longplay / supysonic at {c}, 300 clips: {ours['rps'] / theirs['rps']:.1f}x{goal}"
            )
    worst = max(
        (r["p99"], ep) for (name, ep, n), r in table.items() if name == "longplay" and n == c
    )
    errors = sum(r["errors"] for (name, _, _), r in table.items() if name.startswith("longplay"))
    print(f"longplay worst p99 at {c}: {worst[0]:.1f} ms ({worst[1]}) (goal < 50); errors {errors}")


if __name__ == "__main__":
    main()
