"""`longplay scan`: walk folders, examine new and changed files on all cores, record them.

Stages (each file's task is `examine.examine`, a pure function of the file)::

    walk roots ──▶ compare with library (size, mtime_ns, inode) ──▶ unchanged: skip
                                       │                        └─▶ same stat, new path: moved
                                       ▼
                    new / changed ──▶ process pool: examine ──▶ files / rejected_files
                                                               (+ rejects log, + value problems)
    paths gone from the walk ──▶ deleted (unless a new file has their SHA-256: moved)
    then ──▶ match.match_library against the current catalog

Resumable: results are written in batches as they come, so a killed scan restarted skips what
it had recorded; deletions are applied only after a complete walk.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longplay.archive import Archive
from longplay.audio import examine as ex
from longplay.audio.library import Key, LibraryStore
from longplay.errors import InputError, LongplayError
from longplay.progress import progress
from longplay.rejects import RejectsLog, run_log_path

BATCH = 16  # files per pool task: amortizes inter-process overhead
INLINE_MAX = 4  # this few files are examined in this process (no pool start-up)
FLUSH_EVERY = 256  # results written to the library per transaction


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


def _pool_context() -> Any:
    # forkserver: workers fork from a clean server that already imported PyAV (fast start, and
    # no DuckDB threads inherited from this process); spawn elsewhere.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["longplay.audio.examine"])
        return ctx
    return multiprocessing.get_context("spawn")


def examine_all(
    paths: Sequence[str], workers: int, decode: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, record) for every path, in completion order, using ``workers`` processes.

    A file that kills its worker (a decoder crash) does not stop the scan: the batches that were
    in flight are re-run one file at a time, and the file that crashes alone is rejected.
    """
    if workers <= 1 or len(paths) <= INLINE_MAX:
        for p in paths:
            yield p, ex.examine(p, decode)
        return
    todo = deque(list(paths[i : i + BATCH]) for i in range(0, len(paths), BATCH))
    suspects: deque[list[str]] = deque()
    succeeded, crashed = 0, 0
    while todo or suspects:
        alone = not todo
        queue = suspects if alone else todo
        limit = 1 if alone else workers * 4
        with ProcessPoolExecutor(workers if not alone else 1, mp_context=_pool_context()) as pool:
            inflight: dict[Any, list[str]] = {}
            broken = False
            while (queue or inflight) and not broken:
                while queue and len(inflight) < limit:
                    batch = queue.popleft()
                    inflight[pool.submit(ex.examine_many, batch, decode)] = batch
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    batch = inflight.pop(fut)
                    try:
                        results = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            crashed += 1
                            if crashed >= 3 and not succeeded:
                                raise LongplayError(
                                    "scan worker processes die before finishing any file; "
                                    "run with LONGPLAY_WORKERS=1 to see why"
                                ) from None
                            yield (
                                batch[0],
                                {
                                    "status": ex.REJECTED,
                                    "problems": [],
                                    "reason": "crashed the decoder (its process died)",
                                },
                            )
                        else:
                            suspects.extend([p] for p in batch)
                        continue
                    succeeded += len(results)
                    yield from zip(batch, results, strict=True)
            if broken:
                for batch in inflight.values():
                    suspects.extend([p] for p in batch)


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
    workers = workers or settings.workers or os.cpu_count() or 1
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
            for path, record in examine_all(list(todo), workers, decode):
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
