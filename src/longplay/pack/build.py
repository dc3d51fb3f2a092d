"""`longplay build`: materialize the plan into archive files, one idempotent task per file.

For every recording the current plan keeps and has a scanned file for: an *original* is copied
with the catalog's tags written in without re-encoding (plus restore data that rebuilds the
source file bit for bit); an *opus* is re-encoded to Ogg Opus at the plan's bitrate with the same
tags. Embedded covers are extracted once per distinct image (by SHA-256) for the metadata torrent.

Each task is a pure function of its inputs (source file, tags, action, bitrate) writing one
output under ``ARCHIVE/build/``; results land in the ``build_files`` ledger of ``state.sqlite``.
A rerun skips tasks whose ledger row matches the same inputs and whose output is intact, so a
killed build resumes where it stopped and ends with the same files. ``pack`` then lays the built
files out into ``files/TORRENT/...``.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from longplay import progress, state
from longplay import workers as workers_mod
from longplay.archive import Archive
from longplay.audio import partial
from longplay.audio.tagging import catalog_tags_many
from longplay.catalog.store import CatalogStore
from longplay.errors import DiskError, LongplayError, writing
from longplay.pack import buildtask
from longplay.pack.buildtask import Task, run_task
from longplay.rejects import RejectsLog, run_log_path

__all__ = ["BuildSummary", "Task", "build", "ledger", "planned_tasks", "run_task"]


@dataclass
class BuildSummary:
    planned: int = 0
    built: int = 0
    skipped: int = 0
    failed: int = 0
    without_file: int = 0
    bytes: int = 0
    rejects_path: Path | None = None

    def text(self) -> str:
        line = (
            f"build: {self.planned:,} files planned with a source file = built {self.built:,} + already "
            f"built {self.skipped:,} + failed {self.failed:,}; {self.bytes:,} bytes in build/"
        )
        if self.without_file:
            line += (
                f"\n{self.without_file:,} kept recordings have no scanned file (wanted but missing)"
            )
        if self.rejects_path:
            line += f"\nfailures: {self.rejects_path}"
        return line


@contextmanager
def ledger(archive: Archive) -> Iterator[sqlite3.Connection]:
    """The archive's state, where the ``build_files`` table lives (see longplay.state)."""
    with state.connection(archive) as con:
        yield con


def planned_tasks(archive: Archive) -> tuple[list[Task], int]:
    """The current plan's kept files with a source file, and the count of those without one."""
    store = CatalogStore(archive)
    bitrate = archive.settings.opus_bitrate
    with store.read() as con:
        has_plan = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'plan'"
        ).fetchall()[0][0]
        if not has_plan:
            raise LongplayError(
                "the current catalog generation has no plan; run `longplay plan --budget SIZE` first"
            )
        opts = con.execute("SELECT value FROM plan_meta WHERE key = 'options'").fetchall()
        if opts:
            bitrate = int(json.loads(opts[0][0]).get("opus_bitrate", bitrate))
        rows = con.execute("""
            SELECT recording_id, track_id, action, path, codec, bitrate, duration_ms
            FROM plan WHERE action IN ('original', 'opus') ORDER BY tier, listens DESC, track_id""").fetchall()
        with_file = [r for r in rows if r[3] is not None]
        tags = catalog_tags_many(con, [r[1] for r in with_file])
    shas = _library_sha256(archive, [r[3] for r in with_file])
    tasks = [
        Task(
            track_id=t,
            recording_id=rec,
            action=action,
            src=path,
            src_sha256=shas.get(path, ""),
            codec=codec or "",
            bitrate=br,
            duration_ms=dur,
            opus_bitrate=bitrate,
            tags=asdict(tags[t]),
        )
        for rec, t, action, path, codec, br, dur in with_file
    ]
    return tasks, len(rows) - len(with_file)


def _library_sha256(archive: Archive, paths: list[str]) -> dict[str, str]:
    from longplay.audio.library import LibraryStore

    if not paths or not archive.library_path.exists():
        return {}
    with LibraryStore(archive, read_only=True) as lib:
        return dict(lib.con.execute("SELECT path, sha256 FROM library_files").fetchall())


def _cannot_write(error: BaseException | None, archive: Archive) -> bool:
    """The archive's disk refused a write (full, read-only, not ours): no file's own fault."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return True
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM):
        # Refused inside the archive (build/): ours to fix. A source we may not read is the
        # file's own problem, a reject like any other.
        where = error.filename2 or error.filename
        return bool(where) and Path(os.fsdecode(where)).is_relative_to(archive.root.resolve())
    # Errors that crossed from a worker as text, or from FFmpeg, keep only the message.
    return error is not None and "No space left on device" in str(error)


def _refusal(error: BaseException | None, out: Path) -> str:
    """``cannot write FILE: REASON``, FILE the one refused or else the task's output (a failed
    write() names no file)."""
    if isinstance(error, OSError) and error.errno:
        where = os.fsdecode(error.filename2 or error.filename or out)
        return f"cannot write {where}: {os.strerror(error.errno)}"
    return f"cannot write {out}: {error}"


def build(archive: Archive, workers: int | None = None) -> BuildSummary:
    tasks, without = planned_tasks(archive)
    summary = BuildSummary(planned=len(tasks), without_file=without)
    partial.sweep(archive.build_dir)  # workers die with a killed build, mid-write
    with ledger(archive) as con:
        done = {
            r[0]: (r[1], r[2], r[3])
            for r in con.execute("SELECT track_id, inputs, out_path, size FROM build_files")
        }
        todo = []
        for t in tasks:
            prev = done.get(t.track_id)
            out = archive.root / t.out_rel()
            if (
                prev
                and prev[0] == t.inputs_key()
                and prev[1] == t.out_rel()
                and out.exists()
                and out.stat().st_size == prev[2]
            ):
                summary.skipped += 1
                summary.bytes += prev[2]
            else:
                todo.append(t)
        log = RejectsLog(run_log_path(archive.rejects_dir, "build"))
        root = str(archive.root.resolve())  # a cluster's workers do not share our directory
        with (
            progress.progress("build", len(tasks), "files") as bar,
            workers_mod.pool(workers, archive.settings) as pool,
        ):
            bar.advance(summary.skipped)
            jobs = ((t, root) for t in todo)
            for (t, _), outcome in pool.map_unordered(buildtask.run, jobs):
                # A task's error (a worker that died included) fails that file only; the pool
                # raises PoolBroken itself when workers cannot run anything.
                if not outcome.ok and _cannot_write(outcome.error, archive):
                    # Not this file's fault: every next file would fail the same way, and
                    # recording them as failures would hide the cause. Stop; a rerun resumes.
                    raise DiskError(
                        f"build stopped after {summary.built} new files: "
                        f"{_refusal(outcome.error, archive.root / t.out_rel())}; free space or "
                        "give back write access, then rerun `longplay build` (built files are kept)"
                    )
                if not outcome.ok:
                    summary.failed += 1
                    log.add(
                        source="build",
                        input=t.src,
                        position=f"track {t.track_id}",
                        reason=f"{t.action}: {outcome.error}",
                    )
                else:
                    row = outcome.result()
                    # SQLite says only "database or disk is full": name the ledger's file.
                    with writing(archive.state_path), state.transaction(con):
                        con.execute(
                            f"INSERT OR REPLACE INTO build_files ({', '.join(row)}) "
                            f"VALUES ({', '.join('?' * len(row))})",
                            list(row.values()),
                        )
                    summary.built += 1
                    summary.bytes += row["size"]
                bar.advance()
        log.close()
        partial.sweep(archive.build_dir)
        summary.rejects_path = log.path if log.records else None
        # Files of tracks no longer planned are not part of this build.
        keep = {t.track_id for t in tasks}
        stale = [r[0] for r in con.execute("SELECT track_id FROM build_files") if r[0] not in keep]
        with writing(archive.state_path), state.transaction(con):
            con.executemany("DELETE FROM build_files WHERE track_id = ?", [(s,) for s in stale])
    return summary


# The ledger columns pack reads, typed, so every batch has one schema (NULLs included).
_LEDGER_COLUMNS = (
    ("track_id", "int64"),
    ("recording_id", "int64"),
    ("action", "string"),
    ("out_path", "string"),
    ("size", "int64"),
    ("sha256", "string"),
    ("src_sha256", "string"),
    ("format", "string"),
    ("bitrate", "int64"),
    ("duration_ms", "int64"),
    ("restore", "binary"),
    ("cover_sha256", "string"),
)
_BATCH = 50_000  # ledger rows per Arrow batch handed to DuckDB


def copy_ledger(con: duckdb.DuckDBPyConnection, archive: Archive, table: str) -> None:
    """Copy the ledger's built files into DuckDB temp ``table``, a batch at a time.

    DuckDB holds the copy (and spills it to disk when large), never Python.
    """
    import pyarrow as pa

    schema = pa.schema([(n, getattr(pa, t)()) for n, t in _LEDGER_COLUMNS])
    names = ", ".join(schema.names)
    con.register("_ledger", schema.empty_table())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _ledger")
    with ledger(archive) as sq:
        cur = sq.execute(f"SELECT {names} FROM build_files ORDER BY track_id")
        rows = cur.fetchmany(_BATCH)
        if not rows:
            raise LongplayError("nothing is built yet; run `longplay build` first")
        while rows:
            cols = zip(*rows, strict=True)
            batch = pa.record_batch(
                [pa.array(c, f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
            )
            con.register("_ledger", batch)
            con.execute(f"INSERT INTO {table} SELECT * FROM _ledger")
            rows = cur.fetchmany(_BATCH)
    con.unregister("_ledger")
