"""search3's three searches per keystroke, in process: what the server spends on the web
player's typed queries before HTTP and the page (issue 21's search3 p99 < 20 ms at 10M; the
server's share of issue 22's keystroke-to-results p99 < 100 ms).

For each prefix of bench/web.py's typed queries, the calls search3 makes for the web player
(artists 8, albums 12, songs 25, in that order, on the whole Catalog), timed together: wall
and CPU (this thread), p50 / p99 / max. The archive must have its index (`longplay index`).

    .venv/bin/python bench/search3_keys.py ARCHIVE [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from longplay.archive import Archive
from longplay.search import engine
from web import QUERIES  # the same typed queries as the browser bench

COUNTS = (("artist", 8), ("album", 12), ("track", 25))


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def prefixes() -> list[str]:
    out: list[str] = []
    for q in QUERIES:
        out += [q[:i].strip() for i in range(1, len(q) + 1) if not q[:i].endswith(" ")]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("archive", type=Path, nargs="?", help="an indexed archive (make bench: web's)")
    ap.add_argument(
        "--rounds", type=int, default=3, help="the first round is reported apart (cold)"
    )
    args = ap.parse_args()
    if args.archive is None:
        print("search3_keys: skipped, no ARCHIVE given (make bench gives bench/web.py's)")
        return
    index = engine.open_current(Archive.open(args.archive))
    keys = prefixes()
    for r in range(args.rounds):
        wall: list[float] = []
        cpu: list[float] = []
        worst = ("", 0.0)
        for q in keys:
            w0, c0 = time.perf_counter(), time.thread_time()
            for kind, n in COUNTS:
                index.search(q, limit=n, kind=kind)
            w, c = (time.perf_counter() - w0) * 1e3, (time.thread_time() - c0) * 1e3
            wall.append(w)
            cpu.append(c)
            worst = max(worst, (q, w), key=lambda x: x[1])
        print(
            f"round {r + 1}{' (cold)' if r == 0 else ''}: {len(keys)} keys; wall p50 "
            f"{statistics.median(wall):.1f} p99 {pct(wall, 99):.1f} max {max(wall):.1f} ms "
            f"({worst[0]!r}); CPU p50 {statistics.median(cpu):.1f} p99 {pct(cpu, 99):.1f} ms"
        )


if __name__ == "__main__":
    main()
