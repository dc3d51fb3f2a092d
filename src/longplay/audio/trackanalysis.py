"""Analysis by catalog track: which payload a track's held file has, and its features.

:func:`analysis_for_tracks` is what the server calls for ``replayGain`` and ``bpm`` in song
responses: one query per table, album gain from the album's other analyzed tracks.
"""

from __future__ import annotations

from collections.abc import Iterable

from longplay.archive import Archive
from longplay.audio import loudness
from longplay.audio.analysis import Features
from longplay.audio.analysisdb import AnalysisStore


def payload_tracks(archive: Archive, store: AnalysisStore) -> dict[str, int]:
    """Audio-payload hash -> catalog track ID, for held files whose track is known.

    Scanned files matched unambiguously first, then built files (a tagged original keeps its
    source's payload; an Opus re-encode has its own, known once analyzed).
    """
    out: dict[str, int] = {}
    if archive.library_path.exists():
        from longplay.audio.library import LibraryStore

        with LibraryStore(archive, read_only=True) as lib:
            rows = lib.con.execute(
                "SELECT payload_sha256, min(track_id) FROM files "
                "WHERE track_id IS NOT NULL AND NOT match_ambiguous GROUP BY ALL"
            ).fetchall()
        out.update({p: int(t) for p, t in rows})
    if archive.state_path.exists():
        from longplay import state

        with state.connection(archive) as con:
            built = con.execute("SELECT out_path, track_id FROM build_files").fetchall()
        by_path = {str(archive.root / p): int(t) for p, t in built}
        for path, payload in store.payload_of_paths(by_path).items():
            out.setdefault(payload, by_path[path])
    return out


def _albums(archive: Archive, track_ids: list[int]) -> dict[int, list[int]]:
    """track ID -> every track ID of its album (an empty dict without a catalog)."""
    from longplay.catalog.store import CatalogStore

    catalog = CatalogStore(archive)
    if catalog.current_name() is None or not track_ids:
        return {}
    with catalog.read() as con:
        rows = con.execute(
            "SELECT t.track_id, o.track_id FROM tracks t JOIN tracks o USING (album_id) "
            "WHERE t.track_id IN (SELECT unnest(?::BIGINT[]))",
            [track_ids],
        ).fetchall()
    out: dict[int, list[int]] = {}
    for track, other in rows:
        out.setdefault(int(track), []).append(int(other))
    return out


def analysis_for_tracks(archive: Archive, track_ids: Iterable[int]) -> dict[int, Features]:
    """Features of the held file of each track that has been analyzed (others are absent).

    Album gain and peak are filled from the album's tracks that have an analysis.
    """
    wanted = sorted(set(track_ids))
    store = AnalysisStore(archive, create=False)
    if not store.exists:
        store.close()
        return {}
    with store:
        by_track = {t: p for p, t in payload_tracks(archive, store).items()}
        albums = _albums(archive, [t for t in wanted if t in by_track])
        needed = {by_track[t] for t in wanted if t in by_track}
        needed |= {by_track[o] for others in albums.values() for o in others if o in by_track}
        features = store.features(needed)
    out: dict[int, Features] = {}
    for t in wanted:
        f = features.get(by_track.get(t, ""))
        if f is None:
            continue
        album = loudness.album_gain(
            (g.loudness_lufs, g.duration_s, g.true_peak)
            for g in (features.get(by_track.get(o, "")) for o in albums.get(t, [t]))
            if g is not None
        )
        if album is not None:
            f = Features.from_values(
                {
                    **f.values(),
                    "replaygain_album_gain_db": album[0],
                    "replaygain_album_peak": album[1],
                }
            )
        out[t] = f
    return out
