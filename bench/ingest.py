"""Ingest throughput against a bare DuckDB scan of the same file, and peak memory.

For each size and format: write a synthetic catalog as flat-record files, then measure, each in
a fresh process, (a) `longplay ingest flat` of the files into a new archive, (b) a bare DuckDB
load of the same files (read_json / read_parquet with the same declared columns, materialized
into an in-memory table so every column is parsed: the issue's reference), and (c) the same load
into a table of a DuckDB file, checkpointed: the floor for any ingest that parses every record
and stores it once in a catalog file. Prints rows/s, ingest / (b), ingest / (c) and peak RSS;
then CPU seconds of (b), (c) and the ingest (all threads), and (c) / ingest in CPU: on a shared
machine the steadier ratio, since wall time there depends on what else runs.

    .venv/bin/python bench/ingest.py            # 1M and 10M tracks (make bench)
    .venv/bin/python bench/ingest.py --quick    # 200k tracks
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import peak_rss


def _bare(files: list[str], fmt: str, db: str, q: mp.Queue) -> None:
    """Load ``files`` into a table of ``db`` (":memory:" or a DuckDB file, checkpointed), or
    with ``db`` ending in .parquet write them once to that uncompressed Parquet file."""
    import duckdb

    from longplay.catalog.schema import FLAT_COLUMNS

    if fmt == "jsonl":
        cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in FLAT_COLUMNS.items()) + "}"
        scan = f"read_json({files!r}, format='newline_delimited', columns={cols})"
    else:
        scan = f"read_parquet({files!r})"
    to_parquet = db.endswith(".parquet")
    con = duckdb.connect(":memory:" if to_parquet else db)
    t, c = time.perf_counter(), time.process_time()
    if to_parquet:
        con.execute(
            f"COPY (SELECT * FROM {scan}) TO '{db}' (FORMAT parquet, COMPRESSION uncompressed)"
        )
        n = con.execute(f"SELECT count(*) FROM read_parquet('{db}')").fetchone()[0]  # type: ignore[index]
    else:
        con.execute(f"CREATE TABLE t AS SELECT * FROM {scan}")
        n = con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index]
        if (
            db != ":memory:"
        ):  # (an in-memory checkpoint would compress the table: not the bare load)
            con.execute("CHECKPOINT")
    q.put((n, time.perf_counter() - t, peak_rss(), time.process_time() - c))


def _ingest(files: list[str], root: str, q: mp.Queue) -> None:
    import os

    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    from longplay.archive import Archive
    from longplay.catalog.sources import ingest_flat

    archive = Archive.init(Path(root))
    t, c = time.perf_counter(), time.process_time()
    report = ingest_flat(archive, [Path(f) for f in files], "bench")
    q.put((report.kept, time.perf_counter() - t, peak_rss(), time.process_time() - c))


def _run(target, *args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    out = q.get()
    p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="200k tracks only")
    ap.add_argument("--sizes", default=None, help="comma-separated track counts")
    ap.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    ap.add_argument("--formats", default="jsonl,parquet", help="comma-separated: jsonl, parquet")
    args = ap.parse_args()
    sizes = (
        [int(x) for x in args.sizes.split(",")]
        if args.sizes
        else [200_000]
        if args.quick
        else [1_000_000, 10_000_000]
    )
    from longplay.catalog.sources import synthetic

    scratch = Path(args.dir or tempfile.mkdtemp(prefix="lp-bench-ingest-"))
    print(
        f"{'tracks':>11} {'format':>7} {'bare rows/s':>12} {'to file':>10} {'to pq':>10} {'ingest rows/s':>14} "
        f"{'/bare':>6} {'/file':>6} {'file/bare':>9} {'pq/bare':>8} {'ingest s':>9} {'peak RSS':>9}"
        f" {'CPU s: bare':>11} {'file':>6} {'ingest':>7} {'/file':>6}  load"
    )
    for n in sizes:
        for fmt in args.formats.split(","):
            data = scratch / f"{fmt}-{n}"
            files = [
                str(p) for p in synthetic.write(data, n, seed=1, fmt=fmt, chunk_tracks=1_000_000)
            ]
            os.sync()  # the files just written must not be flushed to disk during a measurement
            load = os.getloadavg()[0]
            bn, bt, _, bc = _run(_bare, files, fmt, ":memory:")
            db = scratch / "floor.duckdb"
            fn, ft, _, fc = _run(_bare, files, fmt, str(db))
            db.unlink()
            pq = scratch / "floor.parquet"
            pn, pt, _, _ = _run(_bare, files, fmt, str(pq))
            pq.unlink()
            arch = scratch / f"archive-{fmt}-{n}"
            shutil.rmtree(arch, ignore_errors=True)
            kn, kt, rss, kc = _run(_ingest, files, str(arch))
            assert bn == fn == pn == kn == n, (bn, fn, pn, kn, n)
            print(
                f"{n:>11,} {fmt:>7} {bn / bt:>12,.0f} {fn / ft:>10,.0f} {pn / pt:>10,.0f} {kn / kt:>14,.0f} "
                f"{bt / kt:>6.2f} {ft / kt:>6.2f} {bt / ft:>9.2f} {bt / pt:>8.2f} {kt:>9.1f} {rss / 2**30:>7.2f}Gi"
                f" {bc:>11.1f} {fc:>6.1f} {kc:>7.1f} {fc / kc:>6.2f}  {load:.1f}-{os.getloadavg()[0]:.1f}",
                flush=True,
            )
            shutil.rmtree(arch, ignore_errors=True)
    if not args.dir:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
