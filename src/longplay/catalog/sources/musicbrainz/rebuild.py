"""Rebuild MusicBrainz documents from the catalog: residual + the rows it was cut from.

The inverse of ``documents``: for each ``source_records`` row of MusicBrainz, the residual gets
back its ID (the record's key) and, for releases, every popped value from the album, tracks,
artist links and extra ISRCs of that release. A key is filled only where the residual lacks it
and the column is non-NULL (the rule ``documents`` pops by), so the result equals the input
document as a JSON value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import orjson

from longplay.catalog.sources.musicbrainz.schema import UUID

BATCH = 5_000

# Per release: the album's values, its artist links, and its tracks with their links and ISRCs.
RELEASES_SQL = """
WITH links AS (
    SELECT l.track_id, list({'position': l.position, 'key': a.source_key, 'mbid': a.mbid,
                             'join_phrase': l.join_phrase}) AS credits
    FROM track_artists l JOIN artists a USING (artist_id) GROUP BY l.track_id),
extra AS (SELECT track_id, list(isrc ORDER BY position) AS isrcs FROM track_isrcs GROUP BY track_id),
trk AS (
    SELECT t.album_id, list({'key': t.source_key, 'title': t.title, 'disc': t.disc_number,
                             'number': t.track_number, 'length': t.duration_ms, 'mbid': t.mbid,
                             'isrc': t.isrc, 'isrcs': e.isrcs, 'credits': l.credits}) AS tracks
    FROM tracks t LEFT JOIN links l USING (track_id) LEFT JOIN extra e USING (track_id)
    WHERE t.source = 'musicbrainz' GROUP BY t.album_id),
alinks AS (
    SELECT l.album_id, list({'position': l.position, 'key': a.source_key, 'mbid': a.mbid,
                             'join_phrase': l.join_phrase}) AS credits
    FROM album_artists l JOIN artists a USING (artist_id) GROUP BY l.album_id)
SELECT s.kind, s.source_key, s.record, al.title, al.release_date, al.upc, alinks.credits, trk.tracks
FROM source_records s
LEFT JOIN albums al ON s.kind = 'release' AND al.album_id = stable_id('musicbrainz:album:' || s.source_key)
LEFT JOIN alinks ON alinks.album_id = al.album_id
LEFT JOIN trk ON trk.album_id = al.album_id
WHERE s.source = 'musicbrainz' AND (? IS NULL OR s.kind = ?)
ORDER BY s.kind, s.source_key
"""


def _credits(ac: Any, links: list[dict[str, Any]] | None, artists: dict[str, Any]) -> None:
    """Undo documents.py's credit compaction: IDs and join phrases from link rows, repeated artists."""
    if type(ac) is not list:
        return
    by_pos = {link["position"]: link for link in links or ()}
    for i, c in enumerate(ac, 1):
        if type(c) is not dict:
            continue
        link = by_pos.get(i)
        if link is not None:
            if "joinphrase" not in c:
                c["joinphrase"] = link["join_phrase"]
            elif c["joinphrase"] is False:
                del c["joinphrase"]
        art = c.get("artist")
        if type(art) is str:
            c["artist"] = artists.get(art, art)  # an artist object seen earlier in the document
        elif type(art) is dict:
            if "id" not in art and link is not None and link["mbid"] is not None:
                art["id"] = link["key"]
            aid = art.get("id")
            if type(aid) is str and aid not in artists and UUID.fullmatch(aid):
                artists[aid] = art


def _sibling(obj: dict[str, Any], key: str, value: Any) -> None:
    """Undo documents._same: an absent key equals its sibling; ``false`` marks one that was absent."""
    if key not in obj:
        if value is not None:
            obj[key] = value
    elif obj[key] is False:
        del obj[key]


def _track(tr: Any, row: dict[str, Any] | None, artists: dict[str, Any]) -> None:
    if type(tr) is not dict:
        return
    if row is not None:
        if "title" not in tr:
            tr["title"] = row["title"]
        if "position" not in tr and row["number"] is not None:
            tr["position"] = row["number"]
        if "length" not in tr and row["length"] is not None:
            tr["length"] = row["length"]
    _credits(tr.get("artist-credit"), row["credits"] if row else None, artists)
    rec = tr.get("recording")
    if type(rec) is dict:
        if row is not None:
            if "id" not in rec and row["mbid"] is not None:
                rec["id"] = row["mbid"]
            if "isrcs" not in rec and row["isrc"] is not None:
                rec["isrcs"] = [row["isrc"], *(row["isrcs"] or ())]
        _sibling(rec, "title", tr.get("title"))
        _sibling(rec, "length", tr.get("length"))
        if "artist-credit" in rec:
            if rec["artist-credit"] is False:
                del rec["artist-credit"]
            else:
                _credits(rec["artist-credit"], None, artists)
        elif "artist-credit" in tr:
            rec["artist-credit"] = tr["artist-credit"]


def rebuild_release(
    doc: dict[str, Any],
    key: str,
    title: str | None,
    date: str | None,
    upc: str | None,
    credits: list[dict[str, Any]] | None,
    tracks: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The release document: its residual ``doc`` completed from the album's rows (in place)."""
    doc["id"] = key
    if "title" not in doc and title is not None:
        doc["title"] = title
    if "date" not in doc and date is not None:
        doc["date"] = date
    if "barcode" not in doc and upc is not None:
        doc["barcode"] = upc
    artists: dict[str, Any] = {}  # the walk visits credits in the order documents.py compacted them
    _credits(doc.get("artist-credit"), credits, artists)
    rg = doc.get("release-group")
    if type(rg) is dict:
        if "artist-credit" in rg and rg["artist-credit"] is not False:
            _credits(rg["artist-credit"], None, artists)
        else:
            _sibling(rg, "artist-credit", doc.get("artist-credit"))
    rows = {t["key"]: t for t in tracks or ()}
    media = doc.get("media")
    for med in media if type(media) is list else ():
        if type(med) is not dict:
            continue
        slots = [med["pregap"]] if type(med.get("pregap")) is dict else []
        for list_key in ("tracks", "data-tracks"):
            if type(med.get(list_key)) is list:
                slots.extend(med[list_key])
        disc = None
        for tr in slots:
            row = rows.get(tr.get("id")) if type(tr) is dict else None
            _track(tr, row, artists)
            if row is not None and disc is None:
                disc = row["disc"]
        if "position" not in med and slots and disc is not None:
            med["position"] = disc
    return doc


def rebuild(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> Iterator[dict[str, Any]]:
    """Every MusicBrainz source record of the catalog (of one entity ``kind``), rebuilt."""
    reader = con.sql(RELEASES_SQL, params=[kind, kind]).to_arrow_reader(BATCH)
    for batch in reader:
        for kind_, key, record, title, date, upc, credits, tracks in zip(
            *(c.to_pylist() for c in batch.columns), strict=True
        ):
            doc = orjson.loads(record)
            if kind_ == "release":
                yield rebuild_release(doc, key, title, date, upc, credits, tracks)
            else:
                doc["id"] = key
                yield doc
