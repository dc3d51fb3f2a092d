"""search3 over HTTP while one types in the web player (issue 21: search3 p99 < 20 ms at 10M).

Serves ARCHIVE with `longplay serve` in its own process (bench/web.py's ``serve``: its access
log goes to ARCHIVE/../serve.log) and asks what the web player's search box asks: for each
prefix of bench/web.py's typed queries (44 keystrokes), search3 on the whole Catalog
(musicFolderId 2) with the player's page sizes (artists 8, albums 12, songs 25). Each search3
is paired with its floor, a ``ping`` on the same keep-alive connection and credentials: HTTP,
the ASGI stack and the credential check, no search. The difference is search3's own share
(ping is answered on the event loop, search3 on a worker thread: the hop is in that share).

Kept answers are OFF (``LONGPLAY_SERVER_ANSWER_CACHE=0`` in the server's environment;
docs/serve.md, Kept answers): every round searches again instead of replaying rendered bytes.

- one person typing: one request at a time on one connection, each prefix once a round, in
  typing order (``ping`` then ``search3``). Per round p50 / p99 / max of the client's time and of
  the server's own (its access log); the first round, the first searches of a fresh server
  (after only the readiness probe, a search3 for "a"), is shown apart from the warm ones, which
  are also pooled (a round's p99 over 44 keys is its max);
- a few people typing: CONNECTIONS closed-loop clients (bench/_latency.py), each cycling the
  44 prefixes from its own offset, for SECONDS a round; then the same for ``ping``. With the
  server's CPU over the round (all its threads, in cores): one core's worth at any client count
  means its searches do not run in parallel (or the machine gives it no second core).

    .venv/bin/python bench/search3_http.py ARCHIVE [--rounds 5] [--clients 2,4] [--seconds 10]

The archive needs bench/web.py's user (``bench``) and, to time the real path, its search index
(`longplay index`); without one, search3 falls back to name prefixes on the serving snapshot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _latency import measure
from search3_keys import prefixes  # bench/web.py's typed queries, one entry per keystroke
from web import PASSWORD, USER, pct, serve, server_ms

CATALOG = 2  # musicFolderId of the whole catalog (checked against getMusicFolders below)
PAGE = {"artistCount": 8, "albumCount": 12, "songCount": 25}  # the web player's (app.js)
AUTH = {"u": USER, "p": PASSWORD, "f": "json", "v": "1.16.1", "c": "bench"}


def line(name: str, ms: list[float]) -> str:
    if not ms:
        return f"{name}: none"
    return (
        f"{name}: p50 {statistics.median(ms):.1f} ms, p99 {pct(ms, 99):.1f} ms, "
        f"max {max(ms):.1f} ms ({len(ms)})"
    )


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def index_state(root: Path) -> str:
    """Whether search3 will go through a search index, said up front: without one it falls back
    to name prefixes on the serving snapshot, a much cheaper path than issue 21's."""
    from longplay.archive import Archive
    from longplay.catalog.store import CatalogStore
    from longplay.search.layout import index_dir, is_complete

    archive = Archive.open(root)
    generation = CatalogStore(archive).current_name()
    if generation and is_complete(index_dir(archive, generation)):
        return f"search index of {generation}: built"
    return (
        f"search index of {generation}: NONE (search3 falls back to name prefixes: not the "
        "path issue 21 times; `longplay index` first)"
    )


def check(base: str) -> None:
    """The Catalog folder is the one asked for, and the archive answers searches at all."""
    body = httpx.get(f"{base}/rest/getMusicFolders", params=AUTH, timeout=30).json()
    folders = body["subsonic-response"]["musicFolders"]["musicFolder"]
    if {"id": CATALOG, "name": "Catalog"} not in folders:
        raise SystemExit(f"musicFolderId {CATALOG} is not the Catalog here: {folders}")


def typing(base: str, log: Path, rounds: int) -> None:
    """One person: ping then search3 for each prefix, one request at a time, one connection."""
    keys = prefixes()
    warm: dict[str, list[float]] = {}
    time.sleep(0.6)  # the readiness probe's line reaches the log before this run's first
    with httpx.Client(base_url=base, limits=httpx.Limits(max_connections=1), timeout=60) as c:
        for r in range(rounds):
            start = log.stat().st_size
            got: dict[str, list[float]] = {"search3": [], "ping": []}
            empty: list[str] = []
            for q in keys:
                t = time.perf_counter()
                c.get("/rest/ping", params=AUTH).raise_for_status()
                got["ping"].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                res = c.get(
                    "/rest/search3", params={**AUTH, **PAGE, "query": q, "musicFolderId": CATALOG}
                )
                got["search3"].append((time.perf_counter() - t) * 1000)
                answer = res.json()["subsonic-response"]
                if answer["status"] != "ok":
                    raise SystemExit(f"search3 {q!r}: {answer.get('error')}")
                if not answer["searchResult3"].get("song"):
                    empty.append(q)
            time.sleep(0.6)  # the access log is written in batches every 0.2 s
            srv = {e: server_ms(log, start, e) for e in ("search3", "ping")}
            label = "round 1 (cold: a fresh server)" if r == 0 else f"round {r + 1}"
            which = f" {empty}" if r == 0 else ""
            slowest = keys[max(range(len(keys)), key=got["search3"].__getitem__)]
            print(
                f"{label}, {load()}, slowest {slowest!r}, "
                f"no song for {len(empty)}/{len(keys)} prefixes{which}:"
            )
            figures = {
                "search3, client": got["search3"],
                "ping, client   ": got["ping"],
                "search3, server": srv["search3"],
                "ping, server   ": srv["ping"],
            }
            for name, ms in figures.items():
                print("  " + line(name, ms))
                if r:
                    warm.setdefault(name, []).extend(ms)
    if rounds > 1:
        print(f"warm rounds 2-{rounds} together:")
        for name, ms in warm.items():
            print("  " + line(name, ms))
        both = zip(warm["search3, client"], warm["ping, client   "], strict=True)
        diff = [s - p for s, p in both]
        print("  " + line("search3 less its ping (the search's share)", diff), flush=True)


def cpu_s(pid: int) -> float:
    """A process's CPU seconds so far, all its threads (/proc/PID/stat utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def people(base: str, log: Path, pid: int, clients: list[int], rounds: int, secs: float) -> None:
    """N closed-loop clients typing at once (bench/_latency.py), then ping at the same N."""
    searches = [
        f"{base}/rest/search3?" + urlencode({**AUTH, **PAGE, "query": q, "musicFolderId": CATALOG})
        for q in prefixes()
    ]
    ping = f"{base}/rest/ping?{urlencode(AUTH)}"
    for n in clients:
        for r in range(rounds):
            for name, urls in (("search3", searches), ("ping   ", [ping])):
                start, cpu, t = log.stat().st_size, cpu_s(pid), time.perf_counter()
                m = measure(urls, n, secs, pid)
                cores = (cpu_s(pid) - cpu) / (time.perf_counter() - t)
                time.sleep(0.6)
                srv = server_ms(log, start, name.strip())
                print(
                    f"{n} clients, round {r + 1}, {name}: {m['rps']:.0f} req/s, "
                    f"p50 {m['p50']:.1f} ms, p99 {m['p99']:.1f} ms, max {m['max']:.1f} ms, "
                    f"Little {m['little']:.2f}, errors {m['errors']}, server CPU {cores:.2f} "
                    f"cores (all threads), its main thread ran "
                    f"{m['server_ran_s']:.1f} s / waited {m['server_waited_s']:.1f} s; "
                    f"{line('in the server (access log, with the 1 s warm-up)', srv)}; {load()}",
                    flush=True,
                )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "archive", type=Path, nargs="?", help="an archive built by bench/web.py (DIR/archive)"
    )
    ap.add_argument("--port", type=int, default=4594)
    ap.add_argument("--rounds", type=int, default=5, help="one-at-a-time rounds (first is cold)")
    ap.add_argument("--clients", default="2,4", help="concurrent clients, comma-separated")
    ap.add_argument("--client-rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0, help="per concurrent round")
    args = ap.parse_args()
    if args.archive is None:  # `make bench` runs every bench script without arguments
        print("search3_http: skipped, no ARCHIVE given (an indexed bench/web.py DIR/archive)")
        return
    archive = args.archive.resolve()
    if not (archive / "longplay.toml").is_file():
        raise SystemExit(f"{archive} is not an archive (bench/web.py --dir DIR builds DIR/archive)")
    clients = [int(n) for n in args.clients.split(",") if n.strip()]
    os.environ["LONGPLAY_SERVER_ANSWER_CACHE"] = "0"  # kept answers off: every search is done
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {archive}, {load()}", flush=True)
    print(index_state(archive), flush=True)
    proc = serve(archive, args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        check(base)
        log = archive.parent / "serve.log"
        typing(base, log, args.rounds)
        if clients:
            people(base, log, proc.pid, clients, args.client_rounds, args.seconds)
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"done {time.strftime('%H:%M:%S')}, {load()}")


if __name__ == "__main__":
    main()
