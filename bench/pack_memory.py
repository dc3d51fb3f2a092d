"""Peak memory of pack's placement consumer against the file count (issue 26).

`longplay pack` turns the placement of every planned file into paths, manifests and torrents.
This measures that consumer on a synthetic `_files` table (the columns `pack` joins: tags,
hashes, sizes; no audio), each mode in a fresh process so its peak RSS is its own:

* ``all``: what pack did before: every placement as one Python list, every `_files` row in a
  dict by track ID and again grouped by torrent, before writing anything.
* ``stream``: what pack does now: ``placement.place_torrents``, one torrent's rows at a time.

The floor is the process with DuckDB loaded and `_files` built (``base``): what remains above
it is what the consumer holds.

    .venv/bin/python bench/pack_memory.py --files 1000000 --target 100GB
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FILES_SQL = """
    SELECT i AS track_id, (i % 3)::INTEGER AS tier, 4000000 + (i * 7919) % 2000000 AS size,
           (100 - i % 100)::INTEGER AS popularity, 1000000 - i AS listens, 'ogg' AS ext,
           'Artist ' || (i % 5000) AS artist, 'Album ' || (i % 40000) AS album,
           (1960 + i % 60)::INTEGER AS year, 1 AS disc, (i % 14 + 1)::INTEGER AS track_number,
           'Song number ' || i AS title, 'GBAAA' || lpad(i::VARCHAR, 7, '0') AS isrc,
           md5(i::VARCHAR) AS mbid, sha256(i::VARCHAR) AS sha256, sha256((i + 1)::VARCHAR) AS src_sha256,
           96 AS bitrate, 200000 + i % 100000 AS duration_ms,
           'build/files/' || i || '.ogg' AS out_path, NULL::BLOB AS restore, NULL AS cover_sha256
    FROM range({n}) t(i)
"""


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _run(mode: str, n: int, target: int, limit: str) -> dict[str, Any]:
    import duckdb

    from longplay.pack import placement

    con = duckdb.connect()
    if limit:  # as `duckdb_memory_limit` sets it for pack's catalog connection
        con.execute(f"SET memory_limit = '{limit}'")
        con.execute("SET temp_directory = '/tmp/pack_memory.spill'")  # not the working directory
    con.execute(f"CREATE TEMP TABLE _files AS {FILES_SQL.format(n=n)}")
    base = _rss()
    cpu = time.process_time()
    torrents = largest = 0
    if mode == "all":
        places = placement.layout(con, "SELECT * FROM _files", "lp", target)
        cur = con.execute("SELECT * FROM _files")
        cols = [d[0] for d in cur.description]
        meta = {r[0]: r for r in cur.fetchall()}
        by_torrent: dict[str, list[dict[str, Any]]] = {}
        for p in places:
            row = dict(zip(cols, meta[p.track_id], strict=True))
            row["path"] = p.path
            by_torrent.setdefault(p.torrent, []).append(row)
        torrents, largest = len(by_torrent), max(len(v) for v in by_torrent.values())
    elif mode == "stream":
        for t in placement.place_torrents(con, "SELECT * FROM _files", "lp", target):
            torrents, largest = torrents + 1, max(largest, len(t.rows))
    return {
        "mode": mode,
        "files": n,
        "torrents": torrents,
        "largest_torrent_files": largest,
        "base_rss": base,
        "peak_rss": _rss(),
        "cpu_s": round(time.process_time() - cpu, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--target", default="100GB", help="torrent target size")
    ap.add_argument("--duckdb-limit", default="", help="DuckDB memory_limit, e.g. 256MB")
    ap.add_argument("--modes", default="base,all,stream")
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from longplay.units import parse_size

    target = parse_size(args.target)
    if args.mode:
        print(json.dumps(_run(args.mode, args.files, target, args.duckdb_limit)))
        return
    print(f"load {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"{'mode':<7} {'files':>9} {'torrents':>8} {'max files':>9} {'base MiB':>8} "
          f"{'peak MiB':>8} {'+MiB':>6} {'B/file':>6} {'CPU s':>6}")  # fmt: skip
    for mode in args.modes.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--files", str(args.files), "--target", args.target,
             "--duckdb-limit", args.duckdb_limit, "--mode", mode],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        r = json.loads(out)
        extra = r["peak_rss"] - r["base_rss"]
        print(
            f"{mode:<7} {r['files']:>9,} {r['torrents']:>8} {r['largest_torrent_files']:>9,} "
            f"{r['base_rss'] / 2**20:>8.0f} {r['peak_rss'] / 2**20:>8.0f} "
            f"{extra / 2**20:>6.0f} {extra / r['files']:>6.0f} {r['cpu_s']:>6}"
        )


if __name__ == "__main__":
    main()
