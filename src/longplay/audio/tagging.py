"""Tag archive copies from the catalog without re-encoding, and restore the originals.

The functions the `build` stage calls per file (signatures kept stable):

- `catalog_tags(con, track_id) -> TagRecord` (and `catalog_tags_many`): a track's catalog
  metadata as a tag record, from a connection of `CatalogStore.read()`.
- `tag_copy(src, dst, tags, cover=None) -> bytes`: write a tagged copy of ``src`` to ``dst``
  (the audio payload untouched, checked at the packet level) and return its *restore data*: a
  small deterministic blob (see `patches`) with the original's SHA-256 inside.
- `restore(tagged, restore_data, dst) -> str`: rebuild the original byte for byte (checked
  against that SHA-256) and return the SHA-256.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longplay.archive import Archive
from longplay.audio import formats, partial, patches
from longplay.audio.probe import AudioProblem, payload_sha256
from longplay.audio.tags import TagRecord, write_tags
from longplay.errors import InputError, LongplayError

if TYPE_CHECKING:  # build workers import this module: keep them off DuckDB
    import duckdb

_TAGS_SQL = """
SELECT t.track_id, t.title, t.isrc, t.mbid, t.disc_number, t.track_number,
       al.title AS album, al.release_date, al.total_tracks, al.mbid AS album_mbid,
       (SELECT list(a.name ORDER BY ta.position) FROM track_artists ta JOIN artists a USING (artist_id)
         WHERE ta.track_id = t.track_id) AS artists,
       (SELECT list(a.mbid ORDER BY ta.position) FROM track_artists ta JOIN artists a USING (artist_id)
         WHERE ta.track_id = t.track_id AND a.mbid IS NOT NULL) AS artist_mbids,
       (SELECT list(a.name ORDER BY aa.position) FROM album_artists aa JOIN artists a USING (artist_id)
         WHERE aa.album_id = t.album_id) AS album_artists,
       (SELECT list(a.mbid ORDER BY aa.position) FROM album_artists aa JOIN artists a USING (artist_id)
         WHERE aa.album_id = t.album_id AND a.mbid IS NOT NULL) AS album_artist_mbids,
       coalesce((SELECT list(g.name ORDER BY g.name) FROM track_genres tg JOIN genres g USING (genre_id)
                  WHERE tg.track_id = t.track_id),
                (SELECT list(g.name ORDER BY g.name) FROM album_genres ag JOIN genres g USING (genre_id)
                  WHERE ag.album_id = t.album_id)) AS genres
FROM tracks t LEFT JOIN albums al ON al.album_id = t.album_id
WHERE t.track_id IN (SELECT unnest(?::BIGINT[]))
"""


def _record(row: dict[str, Any]) -> TagRecord:
    def tup(values: Any) -> tuple[str, ...]:
        return tuple(v for v in values or () if v)

    return TagRecord(
        title=row["title"],
        artists=tup(row["artists"]),
        album=row["album"],
        album_artists=tup(row["album_artists"]),
        track_number=row["track_number"],
        track_total=row["total_tracks"],
        disc_number=row["disc_number"],
        disc_total=None,
        date=row["release_date"],
        isrc=row["isrc"],
        genres=tup(row["genres"]),
        mb_recording_id=row["mbid"],
        mb_release_id=row["album_mbid"],
        mb_artist_ids=tup(row["artist_mbids"]),
        mb_album_artist_ids=tup(row["album_artist_mbids"]),
    )


def catalog_tags_many(
    con: duckdb.DuckDBPyConnection, track_ids: Iterable[int]
) -> dict[int, TagRecord]:
    """Tag records of many tracks at once (missing IDs are simply absent from the result)."""
    cur = con.execute(_TAGS_SQL, [list(track_ids)])
    names = [d[0] for d in cur.description]
    out = {}
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        out[row["track_id"]] = _record(row)
    return out


def catalog_tags(con: duckdb.DuckDBPyConnection, track_id: int) -> TagRecord:
    """The catalog metadata of one track as a tag record."""
    found = catalog_tags_many(con, [track_id])
    if track_id not in found:
        raise InputError(f"track {track_id} is not in the current catalog")
    return found[track_id]


def _supported(src: Path, data: bytes) -> None:
    kind = formats.sniff(
        data[: formats.HEAD_BYTES],
        data[formats.id3_end(data[: formats.HEAD_BYTES]) :][: formats.HEAD_BYTES],
    )
    if kind not in formats.SUPPORTED:
        what = formats.describe(kind) if kind else "not audio Longplay recognizes"
        raise InputError(f"{src}: cannot tag {what}; Longplay tags {formats.SUPPORTED_TEXT}")


def tag_copy(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    tags: TagRecord,
    cover: bytes | None = None,
) -> bytes:
    """Write ``src`` with ``tags`` to ``dst`` without re-encoding; return the restore data.

    Raises `LongplayError` when the copy's audio packets would differ from the original's
    (nothing is written then).
    """
    src, dst = Path(src), Path(dst)
    if dst.resolve() == src.resolve():
        raise InputError(f"{dst}: the tagged copy must not overwrite its original")
    original = src.read_bytes()
    _supported(src, original)
    try:
        before = payload_sha256(str(src))
    except AudioProblem as exc:
        raise InputError(f"{src}: {exc}") from None
    dst.parent.mkdir(parents=True, exist_ok=True)
    with partial.claimed(dst) as tmp:
        tmp.write_bytes(original)
        try:
            write_tags(str(tmp), tags, cover=cover)
        except LongplayError:
            raise
        except Exception as exc:  # mutagen's own errors: say which file and why, one line
            raise LongplayError(
                f"{src}: tags cannot be written ({type(exc).__name__}: {exc})"
            ) from None
        after = payload_sha256(str(tmp))
        if after != before:
            raise LongplayError(
                f"{src}: tagging changed the audio packets (payload {before[:12]} -> {after[:12]})"
            )
        restore_data = patches.make(original, tmp.read_bytes())
        os.replace(tmp, dst)
    return restore_data


def restore(
    tagged: str | os.PathLike[str], restore_data: bytes, dst: str | os.PathLike[str]
) -> str:
    """Rebuild the original of ``tagged`` into ``dst``; return its (checked) SHA-256."""
    tagged, dst = Path(tagged), Path(dst)
    try:
        original = patches.apply(tagged.read_bytes(), restore_data)
    except patches.RestoreError as exc:
        raise patches.RestoreError(f"{tagged}: {exc}") from None
    dst.parent.mkdir(parents=True, exist_ok=True)
    with partial.claimed(dst) as tmp:
        tmp.write_bytes(original)
        os.replace(tmp, dst)
    return patches.parse(restore_data).original_sha256


@dataclass(frozen=True)
class TaggedCopy:
    title: str | None
    restore_path: Path
    restore_size: int


def tag_track(
    archive: Archive,
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    track_id: int,
    restore_path: str | os.PathLike[str] | None = None,
) -> TaggedCopy:
    """`longplay audio tag`: tag a copy of ``src`` with a catalog track and save its restore data
    (default: ``DST.lprestore``)."""
    from longplay.catalog.store import CatalogStore

    with CatalogStore(archive).read() as con:
        tags = catalog_tags(con, track_id)
    blob = tag_copy(src, dst, tags)
    target = (
        Path(restore_path) if restore_path else Path(dst).with_name(Path(dst).name + ".lprestore")
    )
    target.write_bytes(blob)
    return TaggedCopy(tags.title, target, len(blob))
