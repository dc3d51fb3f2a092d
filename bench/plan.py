"""Benchmark of `longplay plan`: time and peak RSS, against the goal and a bare DuckDB window sort.

Two measurements, each in a fresh child process (so its peak RSS is its own):

1. catalog: `make_plan` on a synthetic catalog (full: 10M tracks; ingested first, not timed):
   the whole command — candidates from the catalog, plan, summary, new generation published.
2. virtual: the plan core on N virtual files (full: 86M), one candidate per recording, made with
   DuckDB's range() and stored as a table first (not timed; it stands for the catalog's tracks
   table): listens from the synthetic source's power law, durations log-normal around 205 s,
   1,000 ISRC, 100 album and 100 artist exclusions; no data, sizes virtual.
   Goal: 86M files planned in < 3 min within 8 GiB.

Budgets scale with size from --budget for 86M files (default 200 TB, which binds: all-original
would take ~250 TB, so the plan demotes), the catalog plan getting the same bytes per recording.
The peer figure is a bare DuckDB window over the same rows (row_number and a running sum ordered
by listens: the sort a straightforward plan would do), measured in the same run.

    .venv/bin/python bench/plan.py --quick          # 100k tracks, 1M virtual files
    .venv/bin/python bench/plan.py                  # 10M tracks, 86M virtual files
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss

GOAL_SECONDS = 180.0
GOAL_RSS = 8 * 2**30
REPO = Path(__file__).resolve().parent.parent

VIRTUAL_SQL = """
CREATE OR REPLACE TEMP VIEW bench_candidates AS
WITH r AS (
    SELECT i,
           (hash(i, 1) >> 11)::DOUBLE / 9007199254740992.0 + 1e-12 AS q,
           (hash(i, 2) >> 11)::DOUBLE / 9007199254740992.0 + 1e-12 AS u1,
           (hash(i, 3) >> 11)::DOUBLE / 9007199254740992.0 AS u2
    FROM range({n}) t(i))
SELECT i AS recording_id, i AS track_id, true AS is_canonical,
       floor(0.5 * (pow(q, -1.2) - 1))::BIGINT AS listens,
       popularity_from_listens(floor(0.5 * (pow(q, -1.2) - 1))::BIGINT) AS popularity,
       least(1200000, greatest(30000, 205000 * exp(0.35 * sqrt(-2 * ln(u1)) * cos(2 * pi() * u2))))::INTEGER
           AS duration_ms,
       'QZ' || lpad(i::VARCHAR, 10, '0') AS isrc, NULL::VARCHAR AS mbid, i // 11 AS album_id,
       [i // 40] AS artist_ids, NULL::VARCHAR AS license,
       NULL::VARCHAR AS file_path, NULL::BIGINT AS file_size, NULL::VARCHAR AS file_codec,
       NULL::INTEGER AS file_bitrate, NULL::INTEGER AS file_duration_ms
FROM r
"""


KEYS_SQL = """
CREATE TABLE keys AS
SELECT (i + 1)::INTEGER AS line, 'isrc' AS kind, 'QZ' || lpad((i * 7919 % {n})::VARCHAR, 10, '0') AS key_text,
       NULL::BIGINT AS key_id, 'bench takedown ' || i AS reason FROM range(1000) t(i)
UNION ALL SELECT 2000 + i, 'album_id', NULL, i * 104729 % ({n} // 11), 'bench album' FROM range(100) t(i)
UNION ALL SELECT 3000 + i, 'artist_id', NULL, i * 1299709 % ({n} // 40), 'bench artist' FROM range(100) t(i)
"""


def _archive(root: Path, memory_limit: str):
    from longplay.archive import Archive

    archive = Archive.init(root)
    if memory_limit:
        archive.toml_path.write_text(f'duckdb_memory_limit = "{memory_limit}"\n', encoding="utf-8")
    return Archive.open(root)


def child(args: argparse.Namespace) -> dict:
    """One measurement; runs in its own process."""
    import duckdb

    from longplay.catalog.store import configure
    from longplay.plan import budget
    from longplay.settings import parse_size

    archive = _archive(Path(args.root), args.memory_limit)
    b = parse_size(args.budget)
    t0 = time.perf_counter()
    out: dict = {}
    if args.child == "catalog":
        from longplay.plan.planner import make_plan

        rep = make_plan(archive, b)
        out["totals"] = {
            k: v for k, v in rep.totals().items() if k in ("files", "bytes", "share_covered")
        }
    else:
        db = Path(args.root) / "work" / "bench.duckdb"
        if args.child == "setup":
            db.unlink(missing_ok=True)
        con = duckdb.connect(str(db))
        configure(con, archive)
        if args.child == "setup":
            con.execute(VIRTUAL_SQL.format(n=args.files))
            con.execute("CREATE TABLE cand AS SELECT * FROM bench_candidates")
            con.execute(KEYS_SQL.format(n=max(args.files, 1000)))
        elif args.child == "peer":
            con.execute("""SELECT sum(c) FROM (SELECT row_number() OVER w AS r, sum(duration_ms) OVER w AS c
                           FROM cand
                           WINDOW w AS (ORDER BY listens DESC, popularity DESC, recording_id
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))""").fetchall()
        else:
            opts = budget.PlanOptions(budget=b)
            res = budget.plan(con, "cand", opts, "keys")
            budget.summarize(con)
            out["phase"] = res.phase
            out["totals"] = dict(
                zip(
                    ("files", "bytes", "listens", "skipped"),
                    con.execute(
                        "SELECT count(*) FILTER (WHERE action <> 'skip'), sum(size), sum(listens) FILTER (WHERE action <> 'skip'),"
                        " count(*) FILTER (WHERE action = 'skip') FROM plan"
                    ).fetchall()[0],
                    strict=True,
                )
            )
        con.close()
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss"] = peak_rss()
    return out


def run_child(kind: str, root: Path, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--root",
        str(root),
        "--files",
        str(args.files),
        "--budget",
        args.budget,
        "--memory-limit",
        args.memory_limit,
    ]
    env = {**os.environ, "LONGPLAY_NO_PROGRESS": "1"}  # children print only their JSON line
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"bench child {kind} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="Small sizes: 100k tracks, 1M virtual files."
    )
    ap.add_argument(
        "--tracks", type=int, default=None, help="Synthetic catalog size (default 10M, quick 100k)."
    )
    ap.add_argument(
        "--files", type=int, default=None, help="Virtual files (default 86M, quick 1M)."
    )
    ap.add_argument(
        "--budget",
        default="200TB",
        help="Budget for 86M files, scaled to the sizes run (default 200TB: binding, so demotion runs).",
    )
    ap.add_argument(
        "--catalog-budget", default=None, help="Budget of the catalog plan (default: scaled)."
    )
    ap.add_argument(
        "--memory-limit",
        default="6GB",
        help="DuckDB memory_limit (default 6GB, under the 8 GiB goal).",
    )
    ap.add_argument("--dir", type=Path, default=None, help="Work directory (default: a temp dir).")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--root", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args), default=str))
        return
    tracks = args.tracks or (100_000 if args.quick else 10_000_000)
    args.files = args.files or (1_000_000 if args.quick else 86_000_000)
    from longplay import progress
    from longplay.catalog.sources import ingest_synthetic
    from longplay.settings import parse_size

    # Budgets scale with size: the reference spends 300 TB on 86M files; the catalog plan gets the
    # same bytes per recording (recordings ≈ 0.727 × tracks), so both plans are as tight.
    per_file = parse_size(args.budget) / 86_000_000
    args.budget = str(int(per_file * args.files))
    cat_budget = args.catalog_budget or str(int(per_file * 0.727 * tracks))
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-plan-") as tmp:
        root = Path(tmp) / "archive"
        archive = _archive(root, args.memory_limit)
        t0 = time.perf_counter()
        progress.set_quiet(True)
        ingest_synthetic(archive, tracks, seed=1)
        print(
            f"setup: ingested a synthetic catalog of {tracks:,} tracks in {time.perf_counter() - t0:.1f} s (not timed)",
            flush=True,
        )
        cat = run_child("catalog", root, argparse.Namespace(**{**vars(args), "budget": cat_budget}))
        print(
            f"catalog plan: {tracks:,} tracks in {cat['seconds']:.1f} s, peak RSS {gib(cat['peak_rss'])}; "
            f"{cat['totals']['files']:,} files, {cat['totals']['bytes'] / 1e12:.3f} TB, "
            f"{cat['totals']['share_covered']:.3f}% of listens (budget {parse_size(cat_budget) / 1e12:.3f} TB)",
            flush=True,
        )
        setup = run_child("setup", root, args)
        print(
            f"setup: {args.files:,} virtual candidates materialized in {setup['seconds']:.1f} s (not timed)",
            flush=True,
        )
        peer = run_child("peer", root, args)
        virt = run_child("virtual", root, args)
        t = virt["totals"]
        print(
            f"virtual plan: {args.files:,} files in {virt['seconds']:.1f} s, peak RSS {gib(virt['peak_rss'])} "
            f"(DuckDB memory_limit {args.memory_limit}); phase {virt['phase']}: kept {t['files']:,} files, "
            f"{t['bytes'] / 1e12:.2f} TB of {int(args.budget) / 1e12:.2f} TB, skipped {t['skipped']:,}"
        )
        print(
            f"peer: bare DuckDB window sort over the same rows {peer['seconds']:.1f} s, "
            f"peak RSS {gib(peer['peak_rss'])}; plan/peer = {virt['seconds'] / peer['seconds']:.2f}x"
        )
        print(
            f"goal: 86M files < {GOAL_SECONDS:.0f} s within {gib(GOAL_RSS)}: {virt['seconds']:.1f} s = "
            f"{virt['seconds'] / GOAL_SECONDS:.2f} of the time goal, {virt['peak_rss'] / GOAL_RSS:.2f} of the memory goal"
            + (
                ""
                if args.files >= 86_000_000
                else f" (measured at {args.files:,} files: run without --quick)"
            )
        )


if __name__ == "__main__":
    main()
