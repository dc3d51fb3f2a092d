"""Benchmark of the serving snapshot build (`catalog/serving.py`), against DuckDB's own floor.

On a synthetic catalog of N tracks (ingested once into WORKDIR/N and kept; not timed):

- build: `ensure_snapshot` from scratch (DuckDB queries, rows into SQLite, indexes, ANALYZE),
  wall and CPU seconds (CPU counts every thread; on a loaded machine wall is the noisier one);
- floor: the same DuckDB queries fetched as Arrow tables and dropped (what producing the rows
  costs before any of it reaches SQLite), measured in the same run.

    .venv/bin/python bench/serving.py --tracks 300000
    .venv/bin/python bench/serving.py --tracks 1000000 --workdir /tmp/lp-serving
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from _common import peak_rss


def catalog(workdir: Path, tracks: int) -> Path:
    from longplay.archive import Archive
    from longplay.catalog.sources import ingest_synthetic

    root = workdir / str(tracks)
    if (root / "catalog" / "CURRENT").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    archive = Archive.init(root)
    t = time.perf_counter()
    ingest_synthetic(archive, tracks, seed=4)
    print(f"ingested {tracks:,} tracks in {time.perf_counter() - t:.0f} s (not timed)")
    return root


def floor(root: Path) -> tuple[float, float]:
    from longplay.archive import Archive
    from longplay.catalog import serving
    from longplay.catalog.store import CatalogStore

    wall, cpu = time.perf_counter(), time.process_time()
    with CatalogStore(Archive.open(root)).read() as con:
        for _, query in serving.TABLES.values():
            con.sql(query).to_arrow_table()
    return time.perf_counter() - wall, time.process_time() - cpu


def build(root: Path) -> tuple[float, float, int]:
    import sqlite3

    from longplay.archive import Archive
    from longplay.catalog import serving

    archive = Archive.open(root)
    shutil.rmtree(serving.serving_dir(archive), ignore_errors=True)
    wall, cpu = time.perf_counter(), time.process_time()
    _, path = serving.ensure_snapshot(archive)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    con = sqlite3.connect(path)
    n = con.execute("SELECT count(*) FROM tracks").fetchone()[0]
    con.close()
    return wall, cpu, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/lp-bench-serving"))
    args = ap.parse_args()
    root = catalog(args.workdir, args.tracks)
    load = Path("/proc/loadavg").read_text().split()[:3]
    f_wall, f_cpu = floor(root)
    b_wall, b_cpu, n = build(root)
    print(
        f"load average {' '.join(load)} (before), {Path('/proc/loadavg').read_text().split()[0]} (after)"
    )
    print(
        f"snapshot of {n:,} tracks: {b_wall:.1f} s wall, {b_cpu:.1f} s CPU; {n / b_wall:,.0f} tracks/s"
    )
    print(f"floor (DuckDB queries to Arrow): {f_wall:.1f} s wall, {f_cpu:.1f} s CPU")
    print(f"ratio build/floor: {b_wall / f_wall:.1f}x wall, {b_cpu / f_cpu:.1f}x CPU")
    print(f"peak RSS {peak_rss() / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
