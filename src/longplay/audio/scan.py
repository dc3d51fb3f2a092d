"""`longplay scan`: walk folders, examine new and changed files on all cores, record them.

Stages (each file's task is `examine.examine`, a pure function of the file)::

    walk roots ──▶ compare with library (size, mtime_ns, inode) ──▶ unchanged: skip
                                       │                        └─▶ same stat, new path: moved
                                       ▼
                    new / changed ──▶ worker pool: examine ──▶ files / rejected_files
                                                               (+ rejects log, + value problems)
    paths gone from the walk ──▶ deleted (unless a new file has their SHA-256: moved)
    then ──▶ match.match_library against the current catalog

Resumable: results are written in batches as they come, so a killed scan restarted skips what
it had recorded; deletions are applied only after a complete walk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longplay.archive import Archive
from longplay.audio import examine as ex
from longplay.audio.library import Key, LibraryStore
from longplay.errors import InputError
from longplay.progress import progress
from longplay.rejects import RejectsLog, run_log_path
from longplay.workers import WorkerDied, count
from longplay.workers import pool as pool_of

BATCH = 16  # files per pool task: amortizes inter-process overhead
INLINE_MAX = 4  # this few files are examined in this process (no pool start-up)
FLUSH_EVERY = 256  # results written to the library per transaction
CRASHED = "crashed the decoder (its process died)"


@dataclass
class ScanSummary:
    roots: list[str]
    walked: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    deleted: int = 0
    kept: int = 0
    rejected: int = 0
    ignored: int = 0
    value_problems: int = 0
    seconds: float = 0.0
    rejects_log: Path | None = None
    match: Any = None
    skipped_names: list[str] = field(default_factory=list)

    @property
    def examined(self) -> int:
        return self.kept + self.rejected + self.ignored

    @property
    def files_per_second(self) -> float:
        return self.walked / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Seen:
    key: Key
    abspath: str
    stat: tuple[int, int, int]  # size, mtime_ns, inode


def _roots(dirs: Sequence[str | os.PathLike[str]]) -> list[str]:
    roots = []
    for d in dirs:
        p = Path(d)
        if not p.is_dir():
            raise InputError(f"{d}: not a directory")
        roots.append(str(p.resolve()))
    roots = sorted(set(roots))
    for a in roots:
        for b in roots:
            if a != b and b.startswith(a.rstrip("/") + "/"):
                raise InputError(f"{b} is inside {a}: scan each folder under one root only")
    return roots


def walk(root: str, skipped: list[str]) -> Iterator[Seen]:
    """Regular files under ``root``, not following symlinks, skipping hidden names."""
    stack = [root]
    while stack:
        top = stack.pop()
        try:
            entries = sorted(os.scandir(top), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(f"{top}: {exc.strerror}")
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # .DS_Store, ._AppleDouble files that look like audio, .git, ...
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append(f"{entry.path}: {exc.strerror}")
                continue
            rel = os.path.relpath(entry.path, root).replace(os.sep, "/")
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                skipped.append(f"{entry.path!r}: the name is not valid UTF-8; rename the file")
                continue
            yield Seen((root, rel), entry.path, (st.st_size, st.st_mtime_ns, st.st_ino))


def examine_all(
    paths: Sequence[str], workers: int, decode: bool, cluster: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, record) for every absolute path, in completion order, using ``workers``
    processes, or the Dask scheduler ``cluster`` names (the files travel by path).

    A file that kills its worker (a decoder crash) does not stop the scan: the batches whose
    worker died are re-run one file at a time, and the file that crashes alone is rejected.
    """
    if not cluster and (workers <= 1 or len(paths) <= INLINE_MAX):
        for p in paths:
            yield p, ex.examine(p, decode)
        return
    batches = ((list(paths[i : i + BATCH]), decode) for i in range(0, len(paths), BATCH))
    suspects: list[str] = []
    with pool_of(workers, cluster=cluster) as pool:
        window = 4 * pool.workers
        for (batch, _), outcome in pool.map_unordered(ex.examine_batch, batches, window=window):
            if isinstance(outcome.error, WorkerDied):
                suspects.extend(batch)  # one of them may be to blame, or none (a killed worker)
                continue
            yield from zip(batch, outcome.result(), strict=True)
        alone = (([p], decode) for p in suspects)
        for ([path], _), outcome in pool.map_unordered(ex.examine_batch, alone, window=window):
            if isinstance(outcome.error, WorkerDied):
                yield path, {"status": ex.REJECTED, "problems": [], "reason": CRASHED}
            else:
                yield path, outcome.result()[0]


def scan(
    archive: Archive,
    dirs: Sequence[str | os.PathLike[str]],
    *,
    workers: int | None = None,
    decode: bool | None = None,
    match: bool = True,
) -> ScanSummary:
    """Scan ``dirs`` into the archive's library, then match files to the current catalog."""
    started = time.perf_counter()
    settings = archive.settings
    workers = count(workers, settings.workers)
    decode = settings.scan_decode if decode is None else decode
    summary = ScanSummary(_roots(dirs))
    log = RejectsLog(run_log_path(archive.rejects_dir, "scan"))
    with LibraryStore(archive) as store, log:
        known = store.known(summary.roots)
        seen: set[Key] = set()
        todo: dict[str, Seen] = {}
        fresh: list[Seen] = []
        for root in summary.roots:
            for item in walk(root, summary.skipped_names):
                summary.walked += 1
                seen.add(item.key)
                prev = known.get(item.key)
                if prev is not None and prev[:3] == item.stat:
                    summary.unchanged += 1
                elif prev is not None:
                    summary.changed += 1
                    todo[item.abspath] = item
                else:
                    fresh.append(item)
        for name in summary.skipped_names:
            log.add(
                source="scan",
                input=name.split(": ", 1)[0],
                position="walk",
                reason=name.split(": ", 1)[-1],
            )
        vanished = {k: v for k, v in known.items() if k not in seen}
        by_stat = {v[:3]: k for k, v in vanished.items()}
        moves = []
        for item in fresh:
            old = by_stat.pop(item.stat, None)
            if old is not None:  # same size, mtime and inode at a new path: a rename
                moves.append((old, item.key, item.stat))
                vanished.pop(old)
            else:
                todo[item.abspath] = item
        store.move(moves)
        summary.moved += len(moves)
        old_sha = store.sha256_of(vanished)
        moved_content: set[Key] = set()
        files: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        with progress("scanning", total=len(todo), unit="files") as bar:
            for path, record in examine_all(list(todo), workers, decode, settings.cluster):
                item = todo[path]
                _account(
                    summary,
                    item,
                    record,
                    item.key not in known,
                    old_sha,
                    moved_content,
                    files,
                    rejects,
                    log,
                )
                bar.advance()
                if len(files) + len(rejects) >= FLUSH_EVERY:
                    store.write(files, rejects)
                    files, rejects = [], []
            store.write(files, rejects)
        # A vanished file whose bytes turned up at a new path (copied, then deleted) was moved.
        summary.deleted += store.remove(vanished) - len(moved_content)
        summary.rejects_log = log.path if log.records or log.values else None
    if match:
        from longplay.audio.match import match_library

        summary.match = match_library(archive)
    summary.seconds = time.perf_counter() - started
    return summary


def _account(
    summary: ScanSummary,
    item: Seen,
    record: dict[str, Any],
    is_new: bool,
    old_sha: dict[str, Key],
    moved_content: set[Key],
    files: list[dict[str, Any]],
    rejects: list[dict[str, Any]],
    log: RejectsLog,
) -> None:
    root, rel = item.key
    status = record["status"]
    if status == ex.GONE:
        summary.walked -= 1
        return
    if status == ex.OK:
        summary.kept += 1
        moved_from = old_sha.pop(record["sha256"], None) if is_new else None
        if moved_from is not None:
            moved_content.add(moved_from)
            summary.moved += 1
        elif is_new:
            summary.new += 1
        files.append({**record, "root": root, "path": rel})
    else:
        summary.rejected += status == ex.REJECTED
        summary.ignored += status == ex.IGNORED
        summary.new += is_new
        rejects.append(
            {
                **record,
                "root": root,
                "path": rel,
                "size": record.get("size", item.stat[0]),
                "mtime_ns": record.get("mtime_ns", item.stat[1]),
                "inode": record.get("inode", item.stat[2]),
            }
        )
        if status == ex.REJECTED:
            log.add(
                source="scan",
                input=os.path.join(root, rel),
                position="file",
                reason=record["reason"],
            )
    for fieldname, problem in record.get("problems", ()):
        summary.value_problems += 1
        log.add(
            source="scan",
            input=os.path.join(root, rel),
            position=f"tag {fieldname}",
            reason=problem,
            kind="value",
        )
