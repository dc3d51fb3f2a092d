"""CPU seconds per SQL statement of one `ingest flat` run: where the ingest's time goes.

Every statement the ingest sends to its catalog connection is timed with the process's CPU
clock (all DuckDB threads), and the statements are grouped by their first words, so a profile
reads the same on a loaded machine as on an idle one. Prints the groups, heaviest first.

    .venv/bin/python bench/ingest_profile.py /tmp/lp-ing-h/jsonl-1000000/tracks-00000.jsonl
    .venv/bin/python bench/ingest_profile.py --musicbrainz /tmp/mb/release-100000.jsonl

With ``--musicbrainz`` the files are a MusicBrainz dump (`ingest musicbrainz`); its mapping,
which the ingest runs in a thread one unit ahead, runs in line here, so that its CPU time is
not counted in the statements it overlaps: it is the line "outside DuckDB statements".

With ``--synthetic N`` no files are read: the synthetic catalog of N tracks is generated unit by
unit in memory (``--keys hashed`` for unordered keys; its generation is outside the statements).
``--units`` also prints each unit's statement CPU seconds (unit index against cost, with a
least-squares line: does a later unit pay for what the earlier ones wrote?) and the statements
of the first and the last unit.

    .venv/bin/python bench/ingest_profile.py --synthetic 10000000 --keys hashed --units

``--reingest`` ingests the synthetic catalog once unprofiled, then profiles a second ingest of
the same source into a new generation (a copy of the first, whose rows it replaces): seed
``--reingest-seed`` (the first ingest's, 1, by default: every track, album and artist is
rewritten; another seed with hashed keys rewrites none).

    .venv/bin/python bench/ingest_profile.py --synthetic 3000000 --keys hashed --units --reingest

``--tracks-per-artist K`` makes the synthetic catalog credit more artists (one per K tracks
instead of 40; a real catalog has more artists per track than the generator).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import duckdb

_STATS: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
# Per ingest unit (a unit ends when the ingest drops its ``_in``; what follows the last one is the
# finalize step): statement label -> [CPU s, wall s, count].
_UNITS: list[dict[str, list[float]]] = [defaultdict(lambda: [0.0, 0.0, 0])]
# Per unit: the process's CPU seconds from the end of the previous unit, and those spent making
# synthetic records in Python (inside the unit's load, outside its statement).
_UNIT_CPU: list[float] = []
_MAKING: list[float] = [0.0]
_MARK = [time.process_time()]


def _label(sql: str) -> str:
    """The statement's verb and target: 'INSERT INTO tracks', 'CREATE ... _chk', 'UPDATE tracks'."""
    text = re.sub(r"--[^\n]*", " ", sql)
    text = " ".join(text.split())
    m = re.match(
        r"(INSERT INTO \w+|DELETE FROM \w+|UPDATE \w+|CREATE (?:OR REPLACE )?(?:TEMP )?(?:TABLE|VIEW) \w+|"
        r"ALTER TABLE \w+|DROP \w+|SELECT|SET \w+|BEGIN|COMMIT|CHECKPOINT|CREATE OR REPLACE TEMP MACRO)",
        text,
        re.I,
    )
    label = m.group(1) if m else text[:40]
    if label.upper().startswith("SELECT"):
        label = "SELECT " + text[7:47]
    return label


_EXPLAIN: list[str] = []  # statement labels to run under EXPLAIN ANALYZE (--explain)


class _Timed:
    """A DuckDB connection whose ``execute`` records CPU and wall time per statement label."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def execute(self, sql: str, *args: Any) -> Any:
        label = _label(sql)
        explain = label in _EXPLAIN
        c, t = time.process_time(), time.perf_counter()
        # An explained statement runs once, under EXPLAIN ANALYZE (its time per operator; its
        # own figure then includes the profiling).
        self._con.execute(("EXPLAIN ANALYZE " if explain else "") + sql, *args)
        dc, dt = time.process_time() - c, time.perf_counter() - t
        for s in (_STATS[label], _UNITS[-1][label]):
            s[0] += dc
            s[1] += dt
            s[2] += 1
        if " ".join(sql.split()) == "DROP TABLE IF EXISTS _in":
            _UNITS.append(defaultdict(lambda: [0.0, 0.0, 0]))
            now = time.process_time()
            _UNIT_CPU.append(now - _MARK[0])
            _MARK[0] = now
            _MAKING.append(0.0)
        if explain:
            print(f"-- {label}\n{self._con.fetchall()[0][-1]}")
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    # Results are fetched from the wrapped connection (execute returns self).
    def fetchall(self) -> Any:
        return self._con.fetchall()

    def fetchone(self) -> Any:
        return self._con.fetchone()


class _InLine:
    """An executor that runs each task when it is submitted: a unit's ``prepare`` (a source's
    Python work, e.g. the MusicBrainz mapping) then counts on its own, not inside the statements
    it would overlap."""

    def __init__(self, *a: Any, **k: Any) -> None:
        pass

    def __enter__(self) -> _InLine:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def submit(self, fn: Any, *a: Any) -> Future[Any]:
        f: Future[Any] = Future()
        f.set_result(fn(*a))
        return f


def _timed_making(load: Any) -> Any:
    """A synthetic unit's load whose Python work (making the records) is counted apart."""

    def timed(con: Any) -> None:
        c = time.process_time()
        before = sum(s[0] for s in _UNITS[-1].values())
        load(con)
        _MAKING[-1] += time.process_time() - c - (sum(s[0] for s in _UNITS[-1].values()) - before)

    return timed


def _reset() -> None:
    """Forget what was timed so far (the unprofiled first ingest of ``--reingest``)."""
    _STATS.clear()
    _UNITS[:] = [defaultdict(lambda: [0.0, 0.0, 0])]
    _UNIT_CPU.clear()
    _MAKING[:] = [0.0]
    _MARK[0] = time.process_time()


def _print_units() -> None:
    """Each unit's statement CPU seconds, a least-squares line through them, and the statements
    of the first and the last unit side by side."""
    units, final = _UNITS[:-1], _UNITS[-1]
    costs = [sum(s[0] for s in u.values()) for u in units]
    print("unit  CPU s: statements  outside them  (making records)  all but the making")
    for i, c in enumerate(costs):
        whole = _UNIT_CPU[i] - _MAKING[i]
        print(
            f"{i:>4} {c:>19.2f} {_UNIT_CPU[i] - c - _MAKING[i]:>13.2f} {_MAKING[i]:>17.2f} {whole:>19.2f}"
        )
    print(f"  finalize (identity, log, checkpoint) {sum(s[0] for s in final.values()):.2f} CPU-s")
    if len(costs) > 1:
        n = len(costs)
        mx, my = (n - 1) / 2, sum(costs) / n
        slope = sum((i - mx) * (c - my) for i, c in enumerate(costs)) / sum(
            (i - mx) ** 2 for i in range(n)
        )
        print(f"  line (statements): {my - slope * mx:.3f} + {slope:.4f} x unit index CPU-s")
        wholes = [_UNIT_CPU[i] - _MAKING[i] for i in range(n)]
        mw = sum(wholes) / n
        sw = sum((i - mx) * (c - mw) for i, c in enumerate(wholes)) / sum(
            (i - mx) ** 2 for i in range(n)
        )
        print(f"  line (all but the making): {mw - sw * mx:.3f} + {sw:.4f} x unit index CPU-s")
    if costs:
        first, last = units[0], units[-1]
        print(f"{'first':>7} {'last':>7}  statement (CPU s; either >= 0.02, and every DELETE)")
        for label in sorted(set(first) | set(last), key=lambda k: -last[k][0] if k in last else 0):
            a, b = (
                first[label][0] if label in first else 0.0,
                last[label][0] if label in last else 0.0,
            )
            if max(a, b) >= 0.02 or label.startswith("DELETE"):
                print(f"{a:>7.2f} {b:>7.2f}  {label}")
    print(f"{'final':>7}  statement of the finalize step (CPU s; >= 0.05, and every DELETE)")
    for label, (sc, _, _) in sorted(final.items(), key=lambda kv: -kv[1][0]):
        if sc >= 0.05 or label.startswith("DELETE"):
            print(f"{sc:>7.2f}  {label}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument(
        "--synthetic", type=int, default=0, help="N: ingest N synthetic tracks, no files"
    )
    ap.add_argument("--keys", default="ordered", help="synthetic keys: ordered or hashed")
    ap.add_argument("--chunk-tracks", type=int, default=1_000_000, help="synthetic tracks per unit")
    ap.add_argument("--units", action="store_true", help="print the cost of each unit")
    ap.add_argument("--dir", default=None, help="scratch directory for the archive")
    ap.add_argument(
        "--explain",
        action="append",
        default=[],
        help="a statement label (as printed) to show under EXPLAIN ANALYZE instead of running it once",
    )
    ap.add_argument("--musicbrainz", action="store_true", help="the files are a MusicBrainz dump")
    ap.add_argument(
        "--reingest",
        action="store_true",
        help="with --synthetic: ingest once unprofiled, then profile the same source again",
    )
    ap.add_argument("--reingest-seed", type=int, default=1, help="the second ingest's seed")
    ap.add_argument(
        "--tracks-per-artist",
        type=int,
        default=0,
        help="with --synthetic: one artist per this many tracks (the generator's is 40)",
    )
    args = ap.parse_args()
    _EXPLAIN.extend(args.explain)
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    real_connect = duckdb.connect

    def connect(*a: Any, **k: Any) -> Any:
        return _Timed(real_connect(*a, **k))

    duckdb.connect = connect
    from longplay.archive import Archive
    from longplay.catalog import ingest
    from longplay.catalog.sources import ingest_flat
    from longplay.catalog.sources.musicbrainz import ingest_musicbrainz

    ingest.ThreadPoolExecutor = _InLine

    root = Path(args.dir or tempfile.mkdtemp(prefix="lp-prof-"))
    shutil.rmtree(root / "archive", ignore_errors=True)
    archive = Archive.init(root / "archive")
    load = os.getloadavg()[0]
    c, t = time.process_time(), time.perf_counter()
    if args.musicbrainz:
        report = ingest_musicbrainz(archive, args.files)
    elif args.synthetic:
        from longplay.catalog.sources import synthetic

        if args.tracks_per_artist:
            synthetic.TRACKS_PER_ARTIST = args.tracks_per_artist
        job: dict[str, Any] = {
            "tracks": args.synthetic,
            "keys": args.keys,
            "chunk_tracks": args.chunk_tracks,
        }
        seed = 1
        if args.reingest:
            first = ingest.run(
                archive,
                "synthetic",
                synthetic.units(args.synthetic, 1, args.chunk_tracks, args.keys),
                job,
            )
            print(
                f"first ingest: {first.kept:,} tracks, {time.process_time() - c:.1f} CPU-s (not profiled)"
            )
            _reset()
            seed = args.reingest_seed
            job = {**job, "seed": seed, "reingest": True}
            c, t = time.process_time(), time.perf_counter()
        units = synthetic.units(args.synthetic, seed, args.chunk_tracks, args.keys)
        for unit in units:
            unit.load = _timed_making(unit.load)
        report = ingest.run(archive, "synthetic", units, job)
    else:
        report = ingest_flat(archive, args.files, "bench")
    cpu, wall = time.process_time() - c, time.perf_counter() - t
    print(
        f"{report.kept:,} tracks kept; {cpu:.1f} CPU-s, {wall:.1f} s wall; load {load:.1f}-{os.getloadavg()[0]:.1f}"
    )
    print(f"{'CPU s':>7} {'wall s':>7} {'n':>4}  statement")
    for label, (sc, sw, n) in sorted(_STATS.items(), key=lambda kv: -kv[1][0]):
        if sc >= 0.02:
            print(f"{sc:>7.2f} {sw:>7.2f} {n:>4}  {label}")
    rest = cpu - sum(s[0] for s in _STATS.values())
    print(f"{rest:>7.2f} {'':>7} {'':>4}  (outside DuckDB statements)")
    if args.units:
        _print_units()
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
