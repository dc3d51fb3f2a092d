"""What the server serves from: the current generation's snapshot and the files the archive holds.

A track is *held* when the archive has a file for it: a scanned file matched to it
(``library.duckdb``) or a built or fetched file under ``files/`` (the torrents' manifests map
paths to track IDs). :class:`Follower` hands each request a :class:`View` - one snapshot, one
held file and the analysis values songs carry - and looks for a new generation, new holdings or
a new analysis at most once a second by file times; a new view is built beside the old one and
swapped in, so requests in flight finish on the old.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from longplay.archive import Archive
from longplay.catalog import serving
from longplay.catalog.browse import Browse
from longplay.errors import LongplayError
from longplay.server import track_analysis
from longplay.server.track_analysis import TrackAnalysis

log = logging.getLogger("longplay.server")
CHECK_EVERY_S = 1.0
# An analyze run commits once per file: rebuild the analysis values when its database has been
# quiet this long, or at least this often while a long run goes on.
ANALYSIS_QUIET_S = 2.0
ANALYSIS_AT_LEAST_EVERY_S = 60.0
ANALYSIS_RETRY_S = 30.0  # after a failed rebuild (e.g. a scan holds the library's lock)


def held_files(archive: Archive) -> Iterator[tuple[int, str]]:
    """(track id, absolute path) of every file the archive holds that exists now."""
    import duckdb

    from longplay.audio.library import LibraryStore
    from longplay.pack.listing import read_manifest

    if archive.library_path.exists():
        try:
            with LibraryStore(archive, read_only=True) as lib:
                rows = lib.con.execute("SELECT track_id, path FROM library_files").fetchall()
        except (LongplayError, duckdb.Error) as exc:  # a scan holds the write lock: next time
            log.warning("library not readable now (%s); held tracks from manifests only", exc)
            rows = []
        for track_id, path in rows:
            if Path(path).is_file():
                yield int(track_id), str(path)
    for manifest in sorted(archive.torrents_dir.glob("*.manifest.jsonl")):
        torrent = manifest.name.removesuffix(".manifest.jsonl")
        base = archive.files_dir / torrent
        try:
            rows2 = read_manifest(manifest)
        except LongplayError as exc:
            log.warning("skipping manifest %s: %s", manifest.name, exc)
            continue
        for row in rows2:
            if row.track_id is None:
                continue
            try:
                path = archive.resolve_inside(row.path, base)  # never outside files/TORRENT
            except LongplayError:  # a symlink out of the folder: not served
                log.warning("skipping %s of %s: outside its folder", row.path, manifest.name)
                continue
            if path.is_file():
                yield row.track_id, str(path)


def _stamp(archive: Archive) -> tuple[float, ...]:
    """File times that change when the holdings may have."""
    out = []
    for p in (archive.library_path, archive.torrents_dir, archive.files_dir):
        try:
            out.append(p.stat().st_mtime)
        except FileNotFoundError:
            out.append(0.0)
    return tuple(out)


@dataclass(frozen=True)
class View:
    generation: str
    browse: Browse
    analysis: TrackAnalysis = field(default_factory=lambda: TrackAnalysis(None))


class Follower:
    def __init__(self, archive: Archive):
        self.archive = archive
        self._lock = threading.Lock()
        self._checked = 0.0
        self._current_mtime = -1.0
        self._stamp: tuple[float, ...] = ()
        self._view: View | None = None
        self._refreshing = False
        self._analysis_built: tuple[int, ...] = ()  # the stamp the view's values were built at
        self._analysis_built_at = 0.0
        self._analysis_seen: tuple[int, ...] = ()  # the last stamp seen, and since when
        self._analysis_seen_at = 0.0
        self._analysis_retry_at = 0.0

    def _current_file(self) -> Path:
        return self.archive.catalog_dir / "CURRENT"

    def _build(self) -> View:
        generation, snapshot = serving.ensure_snapshot(self.archive)
        self._stamp = _stamp(self.archive)
        held = serving.serving_dir(self.archive) / f"held-{generation}.sqlite"
        serving.write_held(snapshot, held, held_files(self.archive))
        return View(
            generation, Browse(snapshot, held), self._analysis_or_none(generation, snapshot)
        )

    def _analysis_or_none(self, generation: str, snapshot: Path) -> TrackAnalysis:
        """A view without analysis values beats no new view (a scan may hold the library)."""
        try:
            return self._build_analysis(generation, snapshot)
        except Exception:
            log.exception("no analysis values for now (retried in %.0f s)", ANALYSIS_RETRY_S)
            self._analysis_retry_at = time.monotonic() + ANALYSIS_RETRY_S
            return TrackAnalysis(None)

    def _build_analysis(self, generation: str, snapshot: Path) -> TrackAnalysis:
        stamp = track_analysis.analysis_stamp(self.archive)
        found = track_analysis.build(self.archive, generation, snapshot)
        self._analysis_built, self._analysis_built_at = stamp, time.monotonic()
        return found

    def _analysis_due(self, now: float) -> bool:
        """Whether the analysis database changed since the view's values were built and has
        settled (or has kept changing for a long while)."""
        stamp = track_analysis.analysis_stamp(self.archive)
        if stamp == self._analysis_built or now < self._analysis_retry_at:
            return False
        if stamp != self._analysis_seen:
            self._analysis_seen, self._analysis_seen_at = stamp, now
        return (
            now - self._analysis_seen_at >= ANALYSIS_QUIET_S
            or now - self._analysis_built_at >= ANALYSIS_AT_LEAST_EVERY_S
        )

    def view(self) -> View:
        """The view to answer one request with (built on first use, refreshed when stale)."""
        now = time.monotonic()
        if self._view is not None and now - self._checked < CHECK_EVERY_S:
            return self._view
        with self._lock:
            if self._view is None:
                self._current_mtime = self._mtime()
                self._view = self._build()
                self._checked = time.monotonic()
                return self._view
            self._checked = now
            stale = self._mtime() != self._current_mtime or _stamp(self.archive) != self._stamp
            if self._refreshing:
                return self._view
            if stale:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="lp-refresh", daemon=True).start()
            elif self._analysis_due(now):
                self._refreshing = True
                threading.Thread(
                    target=self._refresh_analysis, name="lp-analysis", daemon=True
                ).start()
            return self._view

    def built(self) -> View | None:
        """:meth:`view` once the first view is built, else None (building it blocks)."""
        return self.view() if self._view is not None else None

    def _mtime(self) -> float:
        try:
            return self._current_file().stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def _refresh(self) -> None:
        try:
            mtime = self._mtime()
            view = self._build()
            with self._lock:
                self._view, self._current_mtime = view, mtime
            log.info("serving generation %s", view.generation)
        except Exception:
            log.exception("could not refresh the catalog view; still serving the previous one")
        finally:
            self._refreshing = False

    def _refresh_analysis(self) -> None:
        """New analysis values over the same snapshot and held file."""
        try:
            with self._lock:
                old = self._view
            assert old is not None
            analysis = self._build_analysis(old.generation, old.browse.snapshot)
            with self._lock:
                if self._view is old:  # a new generation built meanwhile has its own values
                    self._view = View(old.generation, old.browse, analysis)
            log.info("analysis values of generation %s refreshed", old.generation)
        except Exception:
            log.exception("could not refresh the analysis values; still serving the previous ones")
            self._analysis_retry_at = time.monotonic() + ANALYSIS_RETRY_S
        finally:
            self._refreshing = False

    def refresh_now(self) -> View:
        """Rebuild synchronously (after a scan the server ran itself, and in tests)."""
        with self._lock:
            self._current_mtime = self._mtime()
            self._view = self._build()
            self._checked = time.monotonic()
            return self._view
