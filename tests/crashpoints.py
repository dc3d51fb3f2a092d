"""Crash points: SIGKILL a job at seeded random moments, rerun it, compare with an uninterrupted run.

A job runs from a prepared template directory (copied afresh for every run), so the reference
run and every killed-then-rerun copy start from the same bytes. The kill moment is drawn from a
seeded RNG, uniformly over the job's working time as measured by the reference run (its wall time
minus the interpreter's start-up, measured in the same test); a point that lands after the job
ended is re-drawn earlier and counted as such. The end state is compared with `fingerprint`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psutil

from longplay.testing.ingest_inputs import columns

POINTS_ENV = "LONGPLAY_CRASH_POINTS"
RESULTS_ENV = "LONGPLAY_CRASH_RESULTS"  # a JSON-lines file each job's summary is appended to
# Columns that record when, not what: equal runs differ in them by design.
VOLATILE_COLUMNS = frozenset({"finished_at", "scanned_at", "built_at", "created", "analyzed_at"})
# Files whose bytes are not the state: locks, the DuckDB spill directory, libtorrent's resume
# data (it records timestamps), Tantivy's segment files (random names; compared by answers).
SKIPPED_PARTS = ("/work/", "/index/", "/.lock", ".tantivy-meta.lock", "/rejects/")
DATABASE_SUFFIXES = (".duckdb", ".sqlite")
QUERIES = ("summer", "night", "artist:a*", "year:1990..2010", "", "glass river")


def points() -> int:
    return int(os.environ.get(POINTS_ENV, "2"))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "longplay.cli", *args]


@dataclass
class Job:
    """A command run in a copy of ``template``; ``argv`` takes the copy's path."""

    name: str
    template: Path
    argv: Callable[[Path], list[str]]
    env: dict[str, str]
    timeout: float = 300
    # The directories compared: the copy itself unless the job writes elsewhere too.
    roots: Callable[[Path], list[Path]] = field(default=lambda d: [d])


@dataclass
class Report:
    job: str
    points: int
    killed: int = 0  # points where the job was still running when killed
    redrawn: int = 0  # draws that landed after the job ended and were drawn again earlier
    reference_s: float = 0.0
    startup_s: float = 0.0
    delays: list[float] = field(default_factory=list)

    def line(self) -> str:
        return json.dumps(self.__dict__ | {"delays": [round(d, 2) for d in self.delays]})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rows_digest(rows: list[tuple[object, ...]], root: Path) -> str:
    text = sorted(repr(r).replace(str(root), "<root>") for r in rows)
    return f"{len(text)}:{hashlib.md5('|'.join(text).encode()).hexdigest()}"


def _duckdb_tables(path: Path, root: Path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        for (table,) in tables:
            cols = [c for c in columns(con, table) if c not in VOLATILE_COLUMNS]
            if table == "meta":  # the generation number follows how often a job committed
                rows = con.execute("SELECT * FROM meta WHERE key NOT IN ('generation')").fetchall()
            else:
                select = ", ".join(f'"{c}"' for c in cols)
                rows = con.execute(f'SELECT {select} FROM "{table}"').fetchall()
            out[table] = _rows_digest(rows, root)
        return out
    finally:
        con.close()


def _sqlite_tables(path: Path, root: Path) -> dict[str, str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            keep = ", ".join(f'"{c}"' for c in cols if c not in VOLATILE_COLUMNS)
            out[table] = _rows_digest(con.execute(f'SELECT {keep} FROM "{table}"').fetchall(), root)
        return out
    finally:
        con.close()


def _search_answers(index: Path) -> dict[str, str]:
    from longplay.search.engine import SearchIndex

    engine = SearchIndex(index)
    out = {}
    for q in QUERIES:
        page = engine.search(q, limit=50)
        out[q] = json.dumps([(h.kind, h.id, h.title) for h in page.hits] + [page.total])
    return out


def leftovers(root: Path) -> list[str]:
    """Temporary and unfinished things a finished job must not leave behind."""
    out = []
    for p in root.rglob("*"):
        name = p.name
        if (
            ".part" in name
            or name.endswith(".tmp")
            or ".tmp-" in name
            or ".tmp" in name.rsplit(".", 1)[-1]
            or (p.is_dir() and name.endswith(".partial"))
        ):
            out.append(str(p.relative_to(root)))
    return sorted(out)


def fingerprint(root: Path) -> dict[str, object]:
    """What a job leaves: catalog tables (current generation), every other database's tables,
    every other file with its sha256, the search index's answers to fixed queries, leftovers."""
    out: dict[str, object] = {}
    current = root / "catalog" / "CURRENT"
    if current.exists():
        gen = current.read_text().strip()
        out["catalog"] = _duckdb_tables(root / "catalog" / gen / "catalog.duckdb", root)
        index = root / "search" / gen
        if (index / "counts.json").exists():
            out["search"] = _search_answers(index)
    files = {}
    for p in sorted(root.rglob("*")):
        rel = "/" + str(p.relative_to(root))
        if not p.is_file() or rel.startswith("/catalog/") or any(s in rel for s in SKIPPED_PARTS):
            continue
        if rel.startswith("/analysis/fpindex/"):  # compared by content below, not by segment
            continue
        if "/tier/" in rel and p.name != "tier.json":  # the tier's Tantivy files: by answers
            continue
        if "/lexicon/spell/" in rel:  # Tantivy files of the terms in terms.npy, compared here
            continue
        if p.name.endswith(DATABASE_SUFFIXES):
            kind = _duckdb_tables if p.name.endswith(".duckdb") else _sqlite_tables
            out[rel] = kind(p, root)
        elif p.name == "torrents.json":  # info-hashes and all, but not when it was written
            doc = json.loads(p.read_bytes())
            doc.pop("generated_at")
            for t in doc["torrents"]:
                t.pop("created")
            files[rel] = json.dumps(doc, sort_keys=True)
        elif not p.name.endswith(("-wal", "-shm", ".wal", ".resume")):
            files[rel] = _sha256(p)
    out["files"] = files
    if (root / "analysis" / "fpindex" / "index.json").exists():
        out["fpindex"] = _fpindex_entries(root / "analysis")
    out["leftovers"] = leftovers(root)
    return out


def _fpindex_entries(analysis: Path) -> str:
    """The fingerprint index as a set of (sub-hash, file's audio, position) entries: its segments
    and the row ids they refer to depend on the order workers finished, the entries do not."""
    from longplay.audio.fpindex import StoredIndex

    con = sqlite3.connect(f"file:{analysis / 'analysis.sqlite'}?mode=ro", uri=True)
    try:
        payload = dict(con.execute("SELECT rowid, payload_sha256 FROM features"))
    finally:
        con.close()
    entries = sorted(
        (int(k), payload[int(r)], int(o))
        for seg in StoredIndex(analysis / "fpindex").segments
        for k, r, o in zip(seg.keys, seg.refs, seg.offs, strict=True)
    )
    return hashlib.sha256(repr(entries).encode()).hexdigest()


def _start(job: Job, root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        job.argv(root),
        env=job.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"processes {[p.pid for p in alive]} outlived the killed job"


def run_to_end(job: Job, root: Path) -> float:
    t0 = time.monotonic()
    done = subprocess.run(job.argv(root), env=job.env, capture_output=True, timeout=job.timeout)
    assert done.returncode == 0, f"{job.name}: {done.stderr.decode(errors='replace')[-3000:]}"
    return time.monotonic() - t0


def _startup(env: dict[str, str]) -> float:
    t0 = time.monotonic()
    subprocess.run(cli("--version"), env=env, capture_output=True, check=True)
    return time.monotonic() - t0


def _fresh(job: Job, root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(job.template, root, symlinks=True)


def diff(want: dict[str, object], got: dict[str, object]) -> str:
    keys = sorted(set(want) | set(got))
    lines = []
    for k in keys:
        a, b = want.get(k), got.get(k)
        if a != b:
            if isinstance(a, dict) and isinstance(b, dict):
                sub = sorted(x for x in set(a) | set(b) if a.get(x) != b.get(x))
                lines.append(f"{k}: {[(x, a.get(x), b.get(x)) for x in sub[:6]]}")
            else:
                lines.append(f"{k}: {a!r} != {b!r}")
    return "\n".join(lines)


def crash_points(job: Job, work: Path, seed: int) -> Report:
    """Reference run, then ``points()`` kill-and-rerun runs; each must end where the reference did."""
    report = Report(job.name, points())
    ref = work / "reference"
    _fresh(job, ref)
    report.startup_s = _startup(job.env)
    report.reference_s = run_to_end(job, ref)
    want = [fingerprint(r) for r in job.roots(ref)]
    assert all(not w["leftovers"] for w in want), want
    span = max(0.05, report.reference_s - report.startup_s)
    rng = random.Random(f"{job.name}:{seed}")
    for i in range(report.points):
        root = work / f"point-{i}"
        for attempt in range(6):
            _fresh(job, root)
            delay = report.startup_s + rng.random() * span * 0.7**attempt
            proc = _start(job, root)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                # Killed after its work was done (on its way out) is no mid-job state, and a
                # rerun would be a second run of a finished job: draw again, earlier.
                if attempt == 5 or [fingerprint(r) for r in job.roots(root)] != want:
                    report.killed += 1
                    report.delays.append(delay)
                    break
            report.redrawn += 1  # it finished first: draw again, earlier
        run_to_end(job, root)
        got = [fingerprint(r) for r in job.roots(root)]
        assert got == want, f"{job.name} point {i} (kill after {delay:.2f} s):\n" + "\n".join(
            diff(w, g) for w, g in zip(want, got, strict=True)
        )
        shutil.rmtree(root)
    out = os.environ.get(RESULTS_ENV)
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(report.line() + "\n")
    return report
