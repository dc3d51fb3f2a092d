"""Denormalized reads of the catalog that search and the server share: tracks with their credits.

Each ``*_ROWS`` constant is a SELECT over one generation's tables giving one row per track, album
or artist with the names a listener sees: artists in credit order without join phrases ("feat."
belongs to the credit, not to the name), the album, album artists, genres (a track's own and its
album's), and every ISRC of the track. They are SQL text so a caller can wrap them (COPY, ORDER
BY, a filter) and DuckDB runs the joins in parallel.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb

TRACK_ROWS = """
WITH ta AS (
    SELECT x.track_id, list(ar.name ORDER BY x.position) AS artists,
           arg_min(x.artist_id, x.position) AS artist_id
    FROM track_artists x JOIN artists ar USING (artist_id) GROUP BY x.track_id
), aa AS (
    SELECT x.album_id, list(ar.name ORDER BY x.position) AS album_artists
    FROM album_artists x JOIN artists ar USING (artist_id) GROUP BY x.album_id
), tg AS (
    SELECT track_id, list(genre_id ORDER BY name) AS genre_ids, list(name ORDER BY name) AS names
    FROM track_genres JOIN genres USING (genre_id) GROUP BY track_id
), ag AS (
    SELECT album_id, list(genre_id ORDER BY name) AS genre_ids, list(name ORDER BY name) AS names
    FROM album_genres JOIN genres USING (genre_id) GROUP BY album_id
), xi AS (
    SELECT track_id, list(isrc ORDER BY position) AS isrcs FROM track_isrcs GROUP BY track_id
)
SELECT t.track_id, t.title, coalesce(ta.artists, []) AS artists, ta.artist_id,
       t.album_id, a.title AS album, coalesce(aa.album_artists, []) AS album_artists,
       list_distinct(coalesce(tg.names, []) || coalesce(ag.names, [])) AS genres,
       coalesce(tg.genre_ids, ag.genre_ids)[1] AS genre_id,
       list_filter([t.isrc] || coalesce(xi.isrcs, []), lambda i: i IS NOT NULL) AS isrcs,
       a.upc, t.mbid, coalesce(t.popularity, 0) AS popularity, a.release_year AS year,
       t.duration_ms
FROM tracks t
LEFT JOIN albums a USING (album_id)
LEFT JOIN ta USING (track_id)
LEFT JOIN aa ON aa.album_id = t.album_id
LEFT JOIN tg USING (track_id)
LEFT JOIN ag ON ag.album_id = t.album_id
LEFT JOIN xi USING (track_id)
"""

# An album's popularity is its most popular track's: an album search ranks like its best song.
ALBUM_ROWS = """
WITH aa AS (
    SELECT x.album_id, list(ar.name ORDER BY x.position) AS album_artists
    FROM album_artists x JOIN artists ar USING (artist_id) GROUP BY x.album_id
), ag AS (
    SELECT x.album_id, list(g.name ORDER BY g.name) AS genres
    FROM album_genres x JOIN genres g USING (genre_id) GROUP BY x.album_id
), tp AS (
    SELECT album_id, max(coalesce(popularity, 0)) AS popularity, sum(duration_ms) AS duration_ms
    FROM tracks GROUP BY album_id
)
SELECT a.album_id, a.title, coalesce(aa.album_artists, []) AS album_artists,
       coalesce(ag.genres, []) AS genres, a.upc, a.mbid, coalesce(tp.popularity, 0) AS popularity,
       a.release_year AS year, tp.duration_ms
FROM albums a
LEFT JOIN aa USING (album_id)
LEFT JOIN ag USING (album_id)
LEFT JOIN tp USING (album_id)
"""

ARTIST_ROWS = """
WITH ap AS (
    SELECT x.artist_id, max(coalesce(t.popularity, 0)) AS popularity
    FROM track_artists x JOIN tracks t USING (track_id) GROUP BY x.artist_id
)
SELECT ar.artist_id, ar.name, ar.mbid, coalesce(ap.popularity, 0) AS popularity
FROM artists ar LEFT JOIN ap USING (artist_id)
"""


def tracks_by_id(con: duckdb.DuckDBPyConnection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Tracks ``ids`` as ``TRACK_ROWS`` rows keyed by track ID (missing IDs are left out)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return {}
    rel = con.execute(
        f"WITH r AS ({TRACK_ROWS}) SELECT * FROM r WHERE track_id IN (SELECT unnest(?))",
        [wanted],
    )
    cols = [d[0] for d in rel.description]
    return {row[0]: dict(zip(cols, row, strict=True)) for row in rel.fetchall()}
