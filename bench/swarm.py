"""Benchmark: songs a mirror does not hold, streamed from the swarm, against held songs.

    .venv/bin/python bench/swarm.py            # 20 + 5 tracks of ~8 MB, 4 MiB pieces
    .venv/bin/python bench/swarm.py --quick    # 6 + 2 tracks

On loopback: a Longplay seeder holds hybrid torrents (production piece size, 4 MiB) of random
files declared as 1411 kbit/s (CD) audio; a mirror archive holds the catalog, the torrents and
one torrent's files, and serves with `longplay serve`'s app (uvicorn, this process). Through the
Subsonic API (`stream`, raw):

* first byte of a not-held track (p50/p99 over the tracks, each played for the first time) and
  its sustained rate after the first byte, as x the track's bitrate;
* first byte after a seek (a Range from the middle of a track not fetched yet);
* the same for held tracks: the floor, measured in the same run;
* stall at 1x realtime: a second seeder limited to 2x the bitrate; the track plays from its first
  byte on, and any byte arriving after its playback time is a stall (the worst lateness shown).

Goals (issue 24): first byte < 1 s p99 and after a seek < 1 s; sustained >= 20x bitrate; no
stall at 1x realtime while the seeder serves >= 2x bitrate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from longplay.archive import Archive  # noqa: E402
from longplay.catalog.sources import ingest_flat  # noqa: E402
from longplay.catalog.store import CatalogStore  # noqa: E402
from longplay.mirror.session import MirrorSession, SessionConfig  # noqa: E402
from longplay.pack.listing import manifest_jsonl, read_listing, read_manifest  # noqa: E402
from longplay.server import accounts  # noqa: E402
from netutil import free_port  # noqa: E402
from serverfixtures import PASSWORD, USER  # noqa: E402
from swarmfixtures import Served  # noqa: E402
from torrentdata import TorrentSpec, build_mirror, random_files  # noqa: E402

PIECE = 4 * 1024 * 1024
BITRATE = 1_411_000  # bits/s declared for every file (CD audio)
SIZE = 8_000_000


class SeedThread:
    def __init__(self, directory: Path, port: int, upload_limit: int = 0) -> None:
        config = SessionConfig(
            "seed", listen_interface=f"127.0.0.1:{port}", upload_limit=upload_limit
        )
        self.session = MirrorSession(directory, config)
        self.session.start()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.session.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.session.session is not None:
            self.session.session.pause()
        self.stop.set()
        self.thread.join(30)


def build(work: Path, not_held: int) -> tuple[Path, Archive, dict[str, list[tuple[int, Path]]]]:
    """Publisher files and torrents; a mirror with the catalog and one torrent held."""
    per = (not_held + 1) // 2
    specs = [
        TorrentSpec("bench-t0-0001", random_files(1, per, SIZE, "A/One"), 0, 10, (50, 90)),
        TorrentSpec("bench-t1-0001", random_files(2, not_held - per, SIZE, "B/Two"), 1, 5, (1, 49)),
        TorrentSpec("bench-t2-0001", random_files(3, 4, SIZE, "C/Held"), 2, 1, (0, 0)),
    ]
    pub = work / "publisher"
    build_mirror(pub, specs, piece_size=PIECE)
    mirror = Archive.init(work / "mirror")
    records = work / "records.jsonl"
    keys = [(s.name, rel) for s in specs for rel in sorted(s.files)]
    with open(records, "w") as fh:
        for name, rel in keys:
            rec = {"track_key": f"{name}/{rel}", "title": rel, "artists": [{"name": "Bench"}]}
            fh.write(json.dumps(rec) + "\n")
    ingest_flat(mirror, [records], "bench")
    with CatalogStore(mirror).read() as con:
        ids = dict(con.execute("SELECT source_key, track_id FROM tracks").fetchall())
    out: dict[str, list[tuple[int, Path]]] = {}
    for entry in read_listing(pub / "torrents" / "torrents.json").torrents:
        path = pub / "torrents" / str(entry.manifest)
        rows = [
            replace(
                r,
                track_id=ids[f"{entry.name}/{r.path}"],
                bitrate=BITRATE,
                duration_ms=r.size * 8 * 1000 // BITRATE,
            )
            for r in read_manifest(path)
        ]
        path.write_bytes(manifest_jsonl(rows))
        out[entry.name] = [(int(r.track_id), pub / "files" / entry.name / r.path) for r in rows]
    shutil.copytree(pub / "torrents", mirror.torrents_dir, dirs_exist_ok=True)
    shutil.copytree(pub / "files" / "bench-t2-0001", mirror.files_dir / "bench-t2-0001")
    accounts.add_user(mirror, USER, PASSWORD, admin=True)
    return pub, mirror, out


def play(served: Served, track_id: int, start: int = 0) -> tuple[float, list[tuple[float, int]]]:
    """Seconds to the first byte, then (seconds, bytes so far) at each chunk."""
    params = {**served.live.auth(), "id": f"tr-{track_id}", "f": "raw"}
    headers = {"Range": f"bytes={start}-"} if start else {}
    t0 = time.perf_counter()
    marks: list[tuple[float, int]] = []
    got = 0
    with served.client.stream("GET", f"{served.live.base}/rest/stream", params=params,
                              headers=headers) as res:  # fmt: skip
        if res.status_code not in (200, 206) or "xml" in res.headers.get("content-type", ""):
            raise SystemExit(f"stream failed: {res.status_code} {res.read()[:300]!r}")
        for chunk in res.iter_bytes():
            got += len(chunk)
            marks.append((time.perf_counter() - t0, got))
    return marks[0][0], marks


def rate_x(marks: list[tuple[float, int]]) -> float:
    """Bytes after the first chunk over the time after it, as x the bitrate."""
    (t1, b1), (t2, b2) = marks[0], marks[-1]
    return (b2 - b1) * 8 / max(t2 - t1, 1e-6) / BITRATE if len(marks) > 1 else float("inf")


def worst_lateness(marks: list[tuple[float, int]]) -> float:
    """Playing from the first byte at 1x: how late the latest byte arrived (<= 0: no stall)."""
    t0, prev = marks[0][0], marks[0][1]
    worst = float("-inf")
    for t, total in marks[1:]:
        due = t0 + prev * 8 / BITRATE  # the chunk's first byte is played then
        worst = max(worst, t - due)
        prev = total
    return worst


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_first, n_seek = (6, 2) if args.quick else (20, 5)
    work = Path(tempfile.mkdtemp(prefix="swarm-", dir=os.environ.get("TMPDIR")))
    try:
        t = time.perf_counter()
        p_fast, p_slow = free_port(), free_port()
        pub, mirror, tracks = build(work, n_first + n_seek + 2)
        mirror.toml_path.write_text(
            'listen_interface = "127.0.0.1:0"\nauth_attempts_per_minute = 0\n'
            f'peers = "127.0.0.1:{p_fast},127.0.0.1:{p_slow}"\nswarm_timeout = 60\n'
        )
        mirror = Archive.open(mirror.root)
        print(f"built in {time.perf_counter() - t:.0f} s: piece {PIECE >> 20} MiB, "
              f"{sum(len(v) for v in tracks.values())} files of ~{SIZE / 1e6:.0f} MB")  # fmt: skip
        fast = SeedThread(pub, p_fast)
        served = Served(mirror)
        try:
            pairs = zip_longest(tracks["bench-t0-0001"], tracks["bench-t1-0001"])
            order = [x for pair in pairs for x in pair if x is not None]
            # Cold: the first song of the server process, with nothing listed before it.
            cold, _ = play(served, order[0][0])
            # A client lists songs before it plays one: the listing probes their torrents.
            for tid, _ in order:
                served.live.ok("getSong", id=f"tr-{tid}")
            time.sleep(2)
            listed = sum(bool(served.live.ok("getSong", id=f"tr-{tid}")["song"].get("playable"))
                         for tid, _ in order)  # fmt: skip
            firsts, rates = [], []
            for tid, _ in order[1 : n_first + 1]:
                ttfb, marks = play(served, tid)
                firsts.append(ttfb)
                rates.append(rate_x(marks))
            seeks = []
            for tid, path in order[n_first + 1 : n_first + n_seek + 1]:
                seeks.append(play(served, tid, start=path.stat().st_size // 2)[0])
            held_first, held_rates, held_seeks = [], [], []
            for tid, path in tracks["bench-t2-0001"]:
                ttfb, marks = play(served, tid)
                held_first.append(ttfb)
                held_rates.append(rate_x(marks))
                held_seeks.append(play(served, tid, start=path.stat().st_size // 2)[0])
            fast.close()
            # 1x realtime against a seeder serving 2x the bitrate: the one track left.
            slow = SeedThread(pub, p_slow, upload_limit=2 * BITRATE // 8)
            try:
                tid, _ = order[n_first + n_seek + 1]
                slow_first, slow_marks = play(served, tid)
            finally:
                slow.close()
        finally:
            served.close()
        ms = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
        print(f"not held, cold (first song of the process, nothing listed): {ms(cold)}; "
              f"then {listed}/{len(order)} listed songs marked playable after 2 s")  # fmt: skip
        print("not held, first bytes (ms):", " ".join(f"{v * 1000:.0f}" for v in firsts))
        print(f"not held, first byte: p50 {ms(statistics.median(firsts))}, "
              f"p99 {ms(pct(firsts, 99))} (n={len(firsts)}; goal p99 < 1 s)")  # fmt: skip
        print(f"held (floor), first byte: p50 {ms(statistics.median(held_first))}, "
              f"max {ms(max(held_first))} (n={len(held_first)})")  # fmt: skip
        print(f"not held, after a seek: p50 {ms(statistics.median(seeks))}, max {ms(max(seeks))}"
              f" (n={len(seeks)}; goal < 1 s); held: p50 {ms(statistics.median(held_seeks))}")  # fmt: skip
        print(f"not held, sustained: median {statistics.median(rates):.0f}x bitrate, "
              f"min {min(rates):.0f}x (goal >= 20x); held: median "
              f"{statistics.median(held_rates):.0f}x")  # fmt: skip
        late = worst_lateness(slow_marks)
        print(f"seeder at 2x bitrate: first byte {slow_first:.1f} s (a whole {PIECE >> 20} MiB "
              f"piece at {2 * BITRATE / 8e3:.0f} kB/s is {PIECE * 8 / (2 * BITRATE):.1f} s), "
              f"then worst lateness at 1x {late:+.1f} s ({'stall' if late > 0 else 'no stall'})")  # fmt: skip
        print(f"load: {Path('/proc/loadavg').read_text().strip()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
