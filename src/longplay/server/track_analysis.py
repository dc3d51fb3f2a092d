"""What songs carry from audio analysis (``replayGain``, ``bpm``): a small SQLite file per view.

``audio.trackanalysis.analysis_for_tracks`` opens the library's DuckDB and the catalog per call:
far too slow for a request. The server instead derives, once per catalog generation and once
per change of the analysis database, ``ARCHIVE/serving/analysis-GEN.sqlite``: one row per
analyzed held track with its track and album gain and peak and its tempo. The album values come
from the album's analyzed tracks (the same power mean as ``analysis_for_tracks``). The file is
written beside its final name and renamed into place; a reader holding the old one keeps it.
:func:`analysis_stamp` is what the holdings' follower watches to rebuild it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from longplay.archive import Archive
from longplay.catalog import serving

CHUNK = 500  # ids per IN (...) query, under SQLite's parameter limit


@dataclass(frozen=True)
class Gains:
    """One track's values as songs show them (dB gains, linear peaks, integer tempo)."""

    track_gain: float
    track_peak: float
    album_gain: float | None
    album_peak: float | None
    bpm: int | None


def analysis_path(archive: Archive) -> Path:
    from longplay.audio.analysisdb import analysis_dir

    return analysis_dir(archive) / "analysis.sqlite"


def analysis_stamp(archive: Archive) -> tuple[int, ...]:
    """Size and time of the analysis database and its WAL: they change with every commit."""
    out: list[int] = []
    base = analysis_path(archive)
    for p in (base, base.with_name(base.name + "-wal")):
        try:
            st = p.stat()
            out += [st.st_mtime_ns, st.st_size]
        except FileNotFoundError:
            out += [0, 0]
    return tuple(out)


def _album_of(snapshot: Path, track_ids: list[int]) -> dict[int, int]:
    con = sqlite3.connect(f"file:{snapshot}?mode=ro&immutable=1", uri=True)
    try:
        out: dict[int, int] = {}
        for i in range(0, len(track_ids), CHUNK):
            chunk = track_ids[i : i + CHUNK]
            marks = ",".join("?" * len(chunk))
            for track, album in con.execute(
                f"SELECT track_id, album_id FROM tracks WHERE track_id IN ({marks}) "
                "AND album_id IS NOT NULL",
                chunk,
            ):
                out[int(track)] = int(album)
        return out
    finally:
        con.close()


def gains_of(archive: Archive, snapshot: Path) -> dict[int, Gains]:
    """Every analyzed held track of the snapshot's generation and its values."""
    from longplay.audio import loudness
    from longplay.audio.analysisdb import AnalysisStore
    from longplay.audio.trackanalysis import payload_tracks

    store = AnalysisStore(archive, create=False)
    if not store.exists:
        store.close()
        return {}
    with store:
        by_payload = payload_tracks(archive, store)
        features = store.features(by_payload)
    by_track = {by_payload[p]: f for p, f in features.items()}
    albums: dict[int, list[int]] = {}
    for track, album in _album_of(snapshot, sorted(by_track)).items():
        albums.setdefault(album, []).append(track)
    album_values: dict[int, tuple[float, float] | None] = {}
    for album, members in albums.items():
        fs = [by_track[t] for t in members]
        album_values[album] = loudness.album_gain(
            (f.loudness_lufs, f.duration_s, f.true_peak) for f in fs
        )
    album_of = {t: a for a, members in albums.items() for t in members}
    out = {}
    for track, f in by_track.items():
        whole = album_values.get(album_of[track]) if track in album_of else None
        if whole is None:  # an album of one: the track is the album
            whole = loudness.album_gain([(f.loudness_lufs, f.duration_s, f.true_peak)])
        out[track] = Gains(
            track_gain=f.replaygain_track_gain_db,
            track_peak=f.replaygain_track_peak,
            album_gain=whole[0] if whole else None,
            album_peak=whole[1] if whole else None,
            bpm=round(f.bpm) if f.bpm is not None else None,
        )
    return out


def write(out: Path, gains: dict[int, Gains]) -> Path:
    """Write the file atomically (a reader never sees a half-written one)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("BEGIN")
        con.execute(
            "CREATE TABLE gains (track_id INTEGER PRIMARY KEY, track_gain REAL NOT NULL, "
            "track_peak REAL NOT NULL, album_gain REAL, album_peak REAL, bpm INTEGER)"
        )
        con.executemany(
            "INSERT INTO gains VALUES (?, ?, ?, ?, ?, ?)",
            (
                (t, g.track_gain, g.track_peak, g.album_gain, g.album_peak, g.bpm)
                for t, g in sorted(gains.items())
            ),
        )
        con.execute("COMMIT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, out)
    return out


def build(archive: Archive, generation: str, snapshot: Path) -> TrackAnalysis:
    """Derive the generation's file from the analysis database now; its reader."""
    gains = gains_of(archive, snapshot)
    if not gains:
        return TrackAnalysis(None)
    out = serving.serving_dir(archive) / f"analysis-{generation}.sqlite"
    return TrackAnalysis(write(out, gains))


class TrackAnalysis:
    """Reads one built file; every thread has its own connection (the file never changes)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            assert self.path is not None
            con = sqlite3.connect(
                f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            self._local.con = con
        return con

    def of(self, track_ids: Iterable[int]) -> dict[int, Gains]:
        """The values of those tracks that have them."""
        if self.path is None:
            return {}
        wanted = sorted(set(track_ids))
        out: dict[int, Gains] = {}
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i : i + CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._con().execute(
                "SELECT track_id, track_gain, track_peak, album_gain, album_peak, bpm "
                f"FROM gains WHERE track_id IN ({marks})",
                chunk,
            ):
                out[row[0]] = Gains(*row[1:])
        return out
