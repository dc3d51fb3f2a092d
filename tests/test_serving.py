"""Serving snapshots: built once per generation, every browse query answered from indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from longplay.archive import Archive
from longplay.catalog import serving
from longplay.catalog.browse import MAX_PAGE, Browse
from longplay.catalog.sources import ingest_synthetic
from longplay.catalog.store import CatalogStore


def _snapshot(archive: Archive) -> tuple[str, Path]:
    ingest_synthetic(archive, 2000, seed=5)
    return serving.ensure_snapshot(archive)


def test_snapshot_matches_the_catalog_and_is_built_once(archive: Archive) -> None:
    gen, path = _snapshot(archive)
    mtime = path.stat().st_mtime_ns
    assert serving.ensure_snapshot(archive) == (gen, path)
    assert path.stat().st_mtime_ns == mtime
    with CatalogStore(archive).read() as con:
        tracks = con.execute("SELECT count(DISTINCT track_id) FROM tracks").fetchone()[0]
        albums = con.execute("SELECT count(DISTINCT album_id) FROM albums").fetchone()[0]
    lite = sqlite3.connect(path)
    assert lite.execute("SELECT count(*) FROM tracks").fetchone()[0] == tracks
    assert lite.execute("SELECT count(*) FROM albums").fetchone()[0] == albums
    assert lite.execute("SELECT max(ord) + 1 FROM tracks").fetchone()[0] == tracks
    lite.close()
    assert not list(path.parent.glob("*.tmp-*"))


def test_browse_queries(archive: Archive) -> None:
    _, path = _snapshot(archive)
    b = Browse(path)
    (album,) = b.album_list("alphabeticalByName", 1, 0, held=False)
    got = b.album(album.album_id)
    assert got == album
    tracks = b.tracks_of_album(album.album_id, held=False)
    assert tracks and all(t.album_id == album.album_id for t in tracks)
    assert all(t.path is None for t in tracks)  # nothing held
    assert b.track(tracks[0].track_id) == tracks[0]
    assert album.artist_id is not None
    artist = b.artist(album.artist_id)
    assert artist is not None
    assert album.album_id in {a.album_id for a in b.albums_of_artist(artist.artist_id, False)}
    assert b.top_songs(artist.name, 5, held=False)
    index = b.artist_index(held=False)
    assert [a.artist_id for a in index][:1] and len(index) <= 5000
    n_albums = sqlite3.connect(path).execute("SELECT count(*) FROM albums").fetchone()[0]
    assert len(b.album_list("newest", 10_000, 0, held=False)) == min(MAX_PAGE, n_albums)
    first, second = b.album_list("newest", 2, 0, False), b.album_list("newest", 2, 1, False)
    assert first[1] == second[0]
    assert len(b.random_tracks(20, held=False)) == 20
    assert len({a.album_id for a in b.album_list("random", 20, 0, held=False)}) == 20
    everything = b.search("", "track", 50, 0, held=False)
    assert len(everything) == 50
    # Paging through everything (the sync case) sees every track exactly once, by key ranges.
    n_tracks = sqlite3.connect(path).execute("SELECT count(*) FROM tracks").fetchone()[0]
    seen = [
        t.track_id for o in range(0, n_tracks, 500) for t in b.search("", "track", 500, o, False)
    ]
    assert len(seen) == len(set(seen)) == n_tracks
    albums_seen = {
        a.album_id for o in range(0, n_albums, 7) for a in b.search("", "album", 7, o, False)
    }
    assert len(albums_seen) == n_albums
    prefix = tracks[0].title[:3]
    assert all(
        t.title.lower().startswith(prefix.lower()) for t in b.search(prefix, "track", 20, 0, False)
    )
    genres = b.genres()
    if genres:
        assert b.songs_by_genre(genres[0][0], 5, 0, held=False)
    assert b.album_list("random", 5, 0, held=True) == []


def test_held_restricts_to_held_tracks(archive: Archive, tmp_path: Path) -> None:
    _, path = _snapshot(archive)
    b = Browse(path)
    (album,) = b.album_list("alphabeticalByName", 1, 0, held=False)
    track = b.tracks_of_album(album.album_id, held=False)[0]
    held = serving.write_held(path, tmp_path / "held.sqlite", [(track.track_id, "/x/a.flac")])
    h = Browse(path, held)
    assert [a.album_id for a in h.album_list("newest", 50, 0, held=True)] == [album.album_id]
    assert [t.track_id for t in h.tracks_of_album(album.album_id, True)] == [track.track_id]
    got = h.track(track.track_id)
    assert got is not None and got.path == "/x/a.flac"
    assert h.is_held(track.track_id)


def test_gc_removes_the_snapshot_of_a_removed_generation(archive: Archive) -> None:
    _, path = _snapshot(archive)
    ingest_synthetic(archive, 100, seed=6)
    ingest_synthetic(archive, 100, seed=7)
    CatalogStore(archive).gc(keep=1)
    assert not path.exists()


def test_a_failed_build_leaves_nothing_and_no_reader_behind(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import duckdb

    ingest_synthetic(archive, 300, seed=5)
    broken = dict(serving.TABLES)
    broken["track_isrcs"] = (broken["track_isrcs"][0], "SELECT no_such_column FROM tracks")
    monkeypatch.setattr(serving, "TABLES", broken)
    with pytest.raises(duckdb.Error):
        serving.ensure_snapshot(archive)
    assert not list(serving.serving_dir(archive).iterdir())
    assert not [t for t in threading.enumerate() if t.name == "lp-snapshot"]


def test_ordinals_are_dense_in_id_order_and_survive_a_rebuild(archive: Archive) -> None:
    _, path = _snapshot(archive)

    def ords(p: Path) -> dict[str, list[tuple[int, int]]]:
        lite = sqlite3.connect(p)
        try:
            return {
                t: lite.execute(f"SELECT ord, {t[:-1]}_id FROM {t} ORDER BY ord").fetchall()
                for t in ("artists", "albums", "tracks")
            }
        finally:
            lite.close()

    first = ords(path)
    for rows in first.values():
        assert [o for o, _ in rows] == list(range(len(rows)))
        assert [i for _, i in rows] == sorted(i for _, i in rows)
    path.unlink()
    assert ords(serving.ensure_snapshot(archive)[1]) == first
    # A snapshot of an older version is rebuilt, not served without its artist ordinals.
    lite = sqlite3.connect(path)
    lite.execute("UPDATE meta SET value = '1' WHERE key = 'snapshot_version'")
    lite.commit()
    lite.close()
    serving.ensure_snapshot(archive)
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'snapshot_version'")
    assert version.fetchone()[0] == str(serving.SNAPSHOT_VERSION)


def test_empty_artist_search_pages_by_ordinal(archive: Archive) -> None:
    _, path = _snapshot(archive)
    b = Browse(path)
    n = sqlite3.connect(path).execute("SELECT count(*) FROM artists").fetchone()[0]
    pages, offset = [], 0
    while chunk := b.search("", "artist", 97, offset, held=False):
        pages += chunk
        offset += len(chunk)
    ids = [a.artist_id for a in pages]
    assert len(ids) == n and ids == sorted(ids)  # every artist once, in ID order
    plan = " ".join(
        str(r)
        for r in sqlite3.connect(path).execute(
            "EXPLAIN QUERY PLAN SELECT artist_id FROM artists a WHERE a.ord >= 10 AND a.ord < 20"
        )
    )
    assert "artists_ord" in plan  # a range seek, not an OFFSET walk
