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

import concurrent.futures as cf
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from longplay import progress, state
from longplay.archive import Archive
from longplay.audio import tags as tagmod
from longplay.audio.tagging import catalog_tags_many, tag_copy
from longplay.audio.transcode import transcode_opus
from longplay.catalog.store import CatalogStore
from longplay.errors import LongplayError
from longplay.rejects import RejectsLog, run_log_path

_EXT = {"flac": "flac", "vorbis": "ogg", "opus": "opus", "mp3": "mp3", "aac": "m4a", "alac": "m4a"}


@dataclass(frozen=True)
class Task:
    track_id: int
    recording_id: int
    action: str
    src: str
    src_sha256: str
    codec: str
    bitrate: int | None
    duration_ms: int | None
    opus_bitrate: int
    tags: dict[str, Any]

    def inputs_key(self) -> str:
        """Everything the output depends on; a different key means rebuild."""
        blob = json.dumps(
            [
                self.action,
                self.src_sha256,
                self.opus_bitrate if self.action == "opus" else None,
                self.tags,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def out_rel(self) -> str:
        ext = (
            "opus"
            if self.action == "opus"
            else _EXT.get(self.codec, Path(self.src).suffix.lstrip(".") or "bin")
        )
        return f"build/{self.track_id % 256:02x}/{self.track_id}.{ext}"


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def run_task(task: Task, archive_root: str) -> dict[str, Any]:
    """Build one file (pure: same task, same bytes). Runs in a worker process."""
    root = Path(archive_root)
    out = root / task.out_rel()
    record = tagmod.TagRecord(**task.tags)
    restore: bytes | None = None
    if task.action == "original":
        restore = tag_copy(task.src, out, record)
        bitrate, duration = task.bitrate, task.duration_ms
    elif task.action == "opus":
        result = transcode_opus(task.src, out, task.opus_bitrate, tags=record)
        bitrate, duration = task.opus_bitrate, round(result.seconds * 1000)
    else:
        raise LongplayError(f"track {task.track_id}: unknown build action {task.action!r}")
    cover_sha = None
    cover = tagmod.read_cover(task.src)
    if cover:
        cover_sha = hashlib.sha256(cover).hexdigest()
        ext = ".png" if cover.startswith(b"\x89PNG") else ".jpg"
        cover_path = root / "build" / "covers" / f"{cover_sha}{ext}"
        if not cover_path.exists():
            cover_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = cover_path.with_name(f".{cover_path.name}.{os.getpid()}")
            tmp.write_bytes(cover)
            os.replace(tmp, cover_path)
    return {
        "track_id": task.track_id,
        "recording_id": task.recording_id,
        "action": task.action,
        "inputs": task.inputs_key(),
        "src_path": task.src,
        "src_sha256": task.src_sha256,
        "out_path": task.out_rel(),
        "size": out.stat().st_size,
        "sha256": _sha256(out),
        "format": Path(task.out_rel()).suffix.lstrip("."),
        "bitrate": bitrate,
        "duration_ms": duration,
        "restore": restore,
        "cover_sha256": cover_sha,
    }


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


def build(archive: Archive, workers: int | None = None) -> BuildSummary:
    tasks, without = planned_tasks(archive)
    summary = BuildSummary(planned=len(tasks), without_file=without)
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
        workers = workers or archive.settings.workers or os.cpu_count() or 1
        log = RejectsLog(run_log_path(archive.rejects_dir, "build"))
        with (
            progress.progress("build", len(tasks), "files") as bar,
            cf.ProcessPoolExecutor(max_workers=workers) as pool,
        ):
            bar.advance(summary.skipped)
            futures = {pool.submit(run_task, t, str(archive.root)): t for t in todo}
            for fut in cf.as_completed(futures):
                t = futures[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # one bad file never stops the build
                    summary.failed += 1
                    log.add(
                        source="build",
                        input=t.src,
                        position=f"track {t.track_id}",
                        reason=f"{t.action}: {exc}",
                    )
                else:
                    with state.transaction(con):
                        con.execute(
                            f"INSERT OR REPLACE INTO build_files ({', '.join(row)}) "
                            f"VALUES ({', '.join('?' * len(row))})",
                            list(row.values()),
                        )
                    summary.built += 1
                    summary.bytes += row["size"]
                bar.advance()
        log.close()
        summary.rejects_path = log.path if log.records else None
        # Files of tracks no longer planned are not part of this build.
        keep = {t.track_id for t in tasks}
        stale = [r[0] for r in con.execute("SELECT track_id FROM build_files") if r[0] not in keep]
        with state.transaction(con):
            con.executemany("DELETE FROM build_files WHERE track_id = ?", [(s,) for s in stale])
    return summary
