"""`longplay analyze`: analyze every held file once per audio payload, resumably, in parallel.

Held files are the scanned library, the built files (the build ledger) and whatever sits under
``files/`` (fetched torrents); or, given folders, the audio files under them. Two passes on the
worker seam: the payload hash of each new or changed file (demux only; the library already
knows it for scanned files), then one analysis per payload not analyzed yet. Each finished file
is committed (``analysisdb``), so a killed run loses only the files in flight.

Counts reconcile: ``held = unchanged + same_audio + analyzed + rejected``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from longplay.archive import Archive
from longplay.audio import analysis, fingerprint, formats
from longplay.audio.analysisdb import AnalysisStore, Stat
from longplay.errors import InputError
from longplay.progress import progress
from longplay.rejects import RejectsLog, run_log_path
from longplay.workers import WorkerDied, count
from longplay.workers import pool as pool_of

J = TypeVar("J", str, tuple[str, bool])  # a job: a path, or (path, options)
R = TypeVar("R")
INLINE_MAX = 2  # this few files are analyzed in this process (no worker start-up)
CRASHED = "crashed the decoder (its process died)"


@dataclass
class AnalyzeSummary:
    held: int = 0
    unchanged: int = 0  # same stat as last time: not opened
    same_audio: int = 0  # a payload analyzed before (a copy, a re-tagged or moved file)
    analyzed: int = 0
    rejected: int = 0
    seconds: float = 0.0
    audio_seconds: float = 0.0
    rejects_log: Path | None = None

    @property
    def realtime(self) -> float:
        return self.audio_seconds / self.seconds if self.seconds else 0.0


def _audio_under(dirs: Sequence[str | os.PathLike[str]]) -> list[str]:
    out = []
    for d in dirs:
        if not Path(d).is_dir():
            raise InputError(f"{d}: not a directory")
        for top, subdirs, names in os.walk(d):
            subdirs[:] = sorted(s for s in subdirs if not s.startswith("."))
            out += [
                os.path.join(top, n)
                for n in sorted(names)
                if not n.startswith(".") and formats.expected_kinds(n) is not None
            ]
    return out


def held_files(archive: Archive) -> dict[str, str | None]:
    """Absolute path -> payload hash when the library already knows it (else None)."""
    held: dict[str, str | None] = {}
    if archive.library_path.exists():
        from longplay.audio.library import LibraryStore

        with LibraryStore(archive, read_only=True) as lib:
            for root, path, payload in lib.con.execute(
                "SELECT root, path, payload_sha256 FROM files ORDER BY root, path"
            ).fetchall():
                held[os.path.join(root, path)] = payload
    if archive.state_path.exists():
        from longplay import state

        with state.connection(archive) as con:
            for (out_path,) in con.execute("SELECT out_path FROM build_files ORDER BY out_path"):
                held.setdefault(str(archive.root / out_path), None)
    if archive.files_dir.is_dir():
        for path in _audio_under([archive.files_dir]):
            held.setdefault(path, None)
    return held


def _stat(path: str) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _absolute(job: J) -> J:
    """The job with its path made absolute: a cluster's workers do not share our directory."""
    if isinstance(job, str):
        return os.path.abspath(job)
    path, options = job
    return (os.path.abspath(path), options)


def _run(
    fn: Callable[[J], R], jobs: list[J], workers: int, cluster: str = ""
) -> Iterator[tuple[J, R | Exception]]:
    """(job, result) in completion order; a worker death is that file's result, as an error.

    A job is a path, or a tuple whose first item is one; tasks get it absolute, the caller
    gets back the job it gave."""
    if not cluster and (workers <= 1 or len(jobs) <= INLINE_MAX):
        for job in jobs:
            yield job, fn(job)
        return
    given: dict[J, list[J]] = {}  # one task for two names of one file (relative, absolute)
    for job in jobs:
        given.setdefault(_absolute(job), []).append(job)
    with pool_of(workers, cluster=cluster) as pool:
        for job, outcome in pool.map_unordered(fn, given, window=2 * pool.workers):
            got = outcome.error if isinstance(outcome.error, WorkerDied) else outcome.result()
            for name in given[job]:
                yield name, got


def analyze(
    archive: Archive,
    dirs: Sequence[str | os.PathLike[str]] = (),
    *,
    workers: int | None = None,
) -> AnalyzeSummary:
    """Analyze the held files (or the audio under ``dirs``) not analyzed yet."""
    fingerprint.check()
    started = time.perf_counter()
    workers = count(workers, archive.settings.workers)
    cluster = archive.settings.cluster
    summary = AnalyzeSummary()
    if dirs:
        held: dict[str, str | None] = {os.path.abspath(p): None for p in _audio_under(dirs)}
    else:
        held = held_files(archive)
    log = RejectsLog(run_log_path(archive.rejects_dir, "analyze"))
    with AnalysisStore(archive) as store, log:
        known = store.known_files()
        done = store.analyzed()
        stats: dict[str, Stat] = {}
        payload_of: dict[str, str] = {}
        unknown: list[str] = []

        def reject(path: str, reason: str) -> None:
            summary.rejected += 1
            store.record(None, [(path, stats[path], None, reason)])
            log.add(source="analyze", input=path, position="file", reason=reason)

        for path, library_payload in held.items():
            stat = _stat(path)
            if stat is None:
                continue  # gone since it was scanned or built: `scan` notices
            summary.held += 1
            stats[path] = stat
            prev = known.get(path)
            if prev is not None and prev[0] == stat and prev[2] == "rejected":
                summary.rejected += 1  # refused before and not changed since: not retried
            elif prev is not None and prev[0] == stat and prev[1] in done:
                summary.unchanged += 1
            elif library_payload is not None:
                payload_of[path] = library_payload
            else:
                unknown.append(path)
        with progress("hashing audio", len(unknown), "files") as bar:
            for path, got in _run(analysis.payload_one, unknown, workers, cluster):
                bar.advance()
                if isinstance(got, str):
                    payload_of[path] = got
                else:
                    reject(path, CRASHED if isinstance(got, Exception) else got[0])
        by_payload: dict[str, list[str]] = {}
        for path, payload in payload_of.items():
            if payload in done:
                summary.same_audio += 1
                store.record(None, [(path, stats[path], payload, None)])
            else:
                by_payload.setdefault(payload, []).append(path)
        firsts = {paths[0]: payload for payload, paths in sorted(by_payload.items())}
        essentia = archive.settings.analysis_essentia
        jobs: list[tuple[str, bool]] = [(first, essentia) for first in firsts]
        with progress("analyzing", len(firsts), "files") as bar:
            for job, result in _run(analysis.analyze_one, jobs, workers, cluster):
                bar.advance()
                group = by_payload[firsts[job[0]]]
                if isinstance(result, analysis.Features):
                    summary.analyzed += 1
                    summary.same_audio += len(group) - 1
                    summary.audio_seconds += result.duration_s
                    # The payload read while decoding wins: the file may have changed since.
                    store.record(
                        result, [(p, stats[p], result.payload_sha256, None) for p in group]
                    )
                else:
                    reason = CRASHED if isinstance(result, Exception) else result
                    for p in group:
                        reject(p, reason)
        summary.rejects_log = log.path if log.records else None
        from longplay.audio.identify import update_index

        # Every run, not only one that analyzed something: a run killed after its last record
        # but before this line leaves rows the index lacks, and its rerun analyzes nothing.
        # Up to date, this reads one small manifest.
        update_index(archive, store)
    summary.seconds = time.perf_counter() - started
    return summary
