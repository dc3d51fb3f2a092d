"""Small hand-made catalogs for plan and coverage tests, ingested through the real flat-record path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson

from longplay.archive import Archive
from longplay.catalog import sources
from longplay.catalog.store import CatalogStore
from longplay.plan.candidates import LIBRARY_FILES

ISRC_A = "USRC17607839"
ISRC_B = "GBAYE0601498"
ISRC_C = "DEZ650710376"
MBID_X = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
ARTIST_MBID = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
ALBUM_MBID = "1b022e01-4da6-387b-8658-8678046e4cef"
UPC = "036000291452"


def track(
    key: str,
    *,
    isrc: str | None = None,
    mbid: str | None = None,
    listens: int | None = None,
    popularity: int | None = None,
    duration_ms: int | None = 200_000,
    license: str | None = None,
    artist: str = "Ann Artist",
    artist_mbid: str | None = None,
    album: str = "First Album",
    album_key: str | None = None,
    upc: str | None = None,
    album_mbid: str | None = None,
    album_artist: str | None = None,
    album_artist_mbid: str | None = None,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "track_key": key,
        "title": f"Song {key}",
        "isrc": isrc,
        "mbid": mbid,
        "duration_ms": duration_ms,
        "popularity": popularity,
        "listen_count": listens,
        "license": license,
        "artists": [{"key": artist, "name": artist, "mbid": artist_mbid, "join_phrase": ""}],
        "album_key": album_key or album,
        "album_title": album,
        "upc": upc,
        "album_mbid": album_mbid,
    }
    if album_artist:
        rec["album_artists"] = [
            {
                "key": album_artist,
                "name": album_artist,
                "mbid": album_artist_mbid,
                "join_phrase": "",
            }
        ]
    return rec


def make_catalog(archive: Archive, tracks: list[dict[str, Any]], tmp: Path) -> None:
    path = tmp / "tracks.jsonl"
    path.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in tracks))
    report = sources.ingest_flat(archive, [path], "test")
    assert report.rejected == 0, report.summary()


def make_library(archive: Archive, files: list[tuple[str, str, int, str, int, int]]) -> None:
    """library.duckdb with the files view the plan reads: (track_key, path, size, codec, bitrate, ms)."""
    ids = track_ids(archive)
    con = duckdb.connect(str(archive.library_path))
    con.execute(
        "CREATE TABLE files (track_id BIGINT, path VARCHAR, size BIGINT, codec VARCHAR, "
        "bitrate INTEGER, duration_ms INTEGER)"
    )
    con.executemany(
        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
        [[ids[k], p, s, c, b, d] for k, p, s, c, b, d in files],
    )
    con.execute(f"CREATE VIEW {LIBRARY_FILES} AS SELECT * FROM files")
    con.close()


def track_ids(archive: Archive) -> dict[str, int]:
    with CatalogStore(archive).read() as con:
        return dict(con.execute("SELECT source_key, track_id FROM tracks").fetchall())


def plan_rows(archive: Archive) -> dict[str, dict[str, Any]]:
    """The plan, one row per recording, keyed by the source key of its lowest track key."""
    with CatalogStore(archive).read() as con:
        cur = con.execute("""
            SELECT (SELECT min(source_key) FROM tracks t WHERE coalesce(t.recording_id, t.track_id) = p.recording_id) AS k,
                   p.*, (SELECT source_key FROM tracks t WHERE t.track_id = p.track_id) AS kept_key
            FROM plan p""")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
