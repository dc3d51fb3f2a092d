"""Read queries on a serving snapshot: what the server and search share to list the catalog.

One :class:`Browse` per (snapshot, held file) pair; each thread gets its own read-only SQLite
connection (the snapshot is immutable, so SQLite may skip locking it). Every listing is capped
and paged by an index, so a client asking for "everything" of a 10M-track catalog reads one
page, never the table. ``held=True`` restricts a query to what the archive holds a file for
(the Library folder); the held file is attached as schema ``held``.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

MAX_PAGE = 500  # largest page any listing returns
MAX_INDEX = 5_000  # artists in one getArtists / getIndexes answer


@dataclass(frozen=True)
class Artist:
    artist_id: int
    name: str
    mbid: str | None
    album_count: int
    song_count: int
    letter: str


@dataclass(frozen=True)
class Album:
    album_id: int
    title: str
    artist_id: int | None
    artist: str | None
    year: int | None
    release_date: str | None
    album_type: str | None
    label: str | None
    mbid: str | None
    genre: str | None
    song_count: int
    duration_s: int
    listens: int


@dataclass(frozen=True)
class Track:
    track_id: int
    album_id: int | None
    title: str
    disc: int | None
    track_no: int | None
    duration_ms: int | None
    isrc: str | None
    mbid: str | None
    listens: int
    popularity: int | None
    explicit: bool | None
    artist_id: int | None
    artist: str | None
    genre: str | None
    year: int | None
    license: str | None
    album: str | None
    path: str | None  # the held file, None when the archive has none


_ARTIST = "a.artist_id, a.name, a.mbid, a.album_count, a.song_count, a.letter"
_ALBUM = (
    "b.album_id, b.title, b.artist_id, b.artist, b.year, b.release_date, b.album_type, b.label, "
    "b.mbid, b.genre, b.song_count, b.duration_s, b.listens"
)
_TRACK = (
    "t.track_id, t.album_id, t.title, t.disc, t.track_no, t.duration_ms, t.isrc, t.mbid, "
    "t.listens, t.popularity, t.explicit, t.artist_id, t.artist, t.genre, t.year, t.license, "
    "(SELECT title FROM albums WHERE album_id = t.album_id), "
    "(SELECT path FROM held.tracks h WHERE h.track_id = t.track_id)"
)
ALBUM_ORDERS = {
    "newest": "b.release_date DESC, b.album_id",  # NULLs sort last when descending
    "alphabeticalByName": "b.sort_key, b.album_id",
    "alphabeticalByArtist": "b.artist_sort, b.sort_key, b.album_id",
    "byYear": "b.year, b.album_id",
    "byGenre": "b.sort_key, b.album_id",
}


def _artist(r: tuple[Any, ...]) -> Artist:
    return Artist(*r)


def _album(r: tuple[Any, ...]) -> Album:
    return Album(*r)


def _track(r: tuple[Any, ...]) -> Track:
    fields = list(r)
    fields[10] = None if r[10] is None else bool(r[10])
    return Track(*fields)


def _source(table: str, alias: str, key: str, held: bool) -> str:
    """The FROM clause of a listing: the whole table, or (held) driven by the held rows.

    CROSS JOIN makes SQLite walk the held rows first: an archive holds a small part of a big
    catalog, and walking the catalog's order index to find the held ones would read it all.
    """
    if not held:
        return f"{table} {alias}"
    return f"held.{table} h CROSS JOIN {table} {alias} ON {alias}.{key} = h.{key}"


def page(size: int, offset: int) -> tuple[int, int]:
    """A (limit, offset) inside the caps."""
    return max(0, min(int(size), MAX_PAGE)), max(0, int(offset))


class Browse:
    def __init__(self, snapshot: Path, held: Path | None = None):
        self.snapshot = snapshot
        self.held = held
        self._local = threading.local()
        # Whole-listing answers, kept for this object's life: the snapshot and the held file
        # never change under it (a new generation or new holdings make a new Browse).
        self._memo: dict[tuple[str, bool], Any] = {}

    def con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                f"file:{self.snapshot}?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            if self.held is not None:
                con.execute("ATTACH DATABASE ? AS held", (f"file:{self.held}?mode=ro&immutable=1",))
            else:  # an empty held schema: nothing is held
                con.execute("ATTACH DATABASE ':memory:' AS held")
                for ddl in (
                    "CREATE TABLE held.tracks (track_id INTEGER PRIMARY KEY, path TEXT)",
                    "CREATE TABLE held.albums (album_id INTEGER PRIMARY KEY)",
                    "CREATE TABLE held.artists (artist_id INTEGER PRIMARY KEY)",
                ):
                    con.execute(ddl)
            self._local.con = con
        return con

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.con().execute(sql, args).fetchall()

    # -- by id ------------------------------------------------------------------------------
    def artist(self, artist_id: int) -> Artist | None:
        rows = self._all(f"SELECT {_ARTIST} FROM artists a WHERE artist_id = ?", (artist_id,))
        return _artist(rows[0]) if rows else None

    def album(self, album_id: int) -> Album | None:
        rows = self._all(f"SELECT {_ALBUM} FROM albums b WHERE album_id = ?", (album_id,))
        return _album(rows[0]) if rows else None

    def track(self, track_id: int) -> Track | None:
        rows = self._all(f"SELECT {_TRACK} FROM tracks t WHERE track_id = ?", (track_id,))
        return _track(rows[0]) if rows else None

    def _by_ids(self, select: str, key: str, ids: list[int], make: Callable[[Any], T]) -> list[T]:
        """Rows of ``select`` (``... WHERE key IN``) for ``ids`` that exist, in the order asked
        (state may name items gone from here), in chunks that keep under SQLite's limits."""
        found: dict[int, T] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._all(f"{select} WHERE {key} IN ({marks})", tuple(chunk)):
                found[r[0]] = make(r)
        return [found[i] for i in ids if i in found]

    def tracks(self, track_ids: list[int]) -> list[Track]:
        return self._by_ids(f"SELECT {_TRACK} FROM tracks t", "track_id", track_ids, _track)

    def albums(self, album_ids: list[int]) -> list[Album]:
        return self._by_ids(f"SELECT {_ALBUM} FROM albums b", "album_id", album_ids, _album)

    def artists(self, artist_ids: list[int]) -> list[Artist]:
        chunk = artist_ids[:MAX_PAGE]
        marks = ",".join("?" * len(chunk))
        rows = self._all(
            f"SELECT {_ARTIST} FROM artists a WHERE artist_id IN ({marks})", tuple(chunk)
        )
        found = {r[0]: _artist(r) for r in rows}
        return [found[a] for a in chunk if a in found]

    def is_held(self, track_id: int) -> bool:
        return bool(self._all("SELECT 1 FROM held.tracks WHERE track_id = ?", (track_id,)))

    # -- children ---------------------------------------------------------------------------
    def albums_of_artist(self, artist_id: int, held: bool) -> list[Album]:
        where = " AND b.album_id IN (SELECT album_id FROM held.albums)" if held else ""
        return [
            _album(r)
            for r in self._all(
                f"SELECT {_ALBUM} FROM album_artists x JOIN albums b USING (album_id) "
                f"WHERE x.artist_id = ?{where} ORDER BY b.year, b.album_id LIMIT ?",
                (artist_id, MAX_PAGE),
            )
        ]

    def tracks_of_album(self, album_id: int, held: bool) -> list[Track]:
        where = " AND t.track_id IN (SELECT track_id FROM held.tracks)" if held else ""
        return [
            _track(r)
            for r in self._all(
                f"SELECT {_TRACK} FROM tracks t WHERE t.album_id = ?{where} "
                "ORDER BY t.disc, t.track_no, t.track_id LIMIT ?",
                (album_id, MAX_PAGE * 4),
            )
        ]

    # -- listings ---------------------------------------------------------------------------
    def artist_index(self, held: bool) -> list[Artist]:
        """Artists by sort name for getArtists/getIndexes, at most MAX_INDEX of them."""
        if ("artists", held) not in self._memo:
            self._memo["artists", held] = self._artist_index(held)
        return list(self._memo["artists", held])

    def _artist_index(self, held: bool) -> list[Artist]:
        return [
            _artist(r)
            for r in self._all(
                f"SELECT {_ARTIST} FROM {_source('artists', 'a', 'artist_id', held)} "
                "ORDER BY a.sort_key, a.artist_id LIMIT ?",
                (MAX_INDEX,),
            )
        ]

    def album_list(
        self,
        kind: str,
        size: int,
        offset: int,
        held: bool,
        *,
        from_year: int | None = None,
        to_year: int | None = None,
        genre: str | None = None,
    ) -> list[Album]:
        """getAlbumList2 for the types the catalog alone answers (see ALBUM_ORDERS, random)."""
        limit, offset = page(size, offset)
        conds: list[str] = []
        args: list[Any] = []
        order = ALBUM_ORDERS.get(kind, ALBUM_ORDERS["alphabeticalByName"])
        if kind == "random":
            return self._random_albums(limit, held)
        if kind == "byYear":
            lo, hi = from_year or 0, to_year or 9999
            conds.append("b.year BETWEEN ? AND ?")
            args += [min(lo, hi), max(lo, hi)]
            if lo > hi:
                order = "b.year DESC, b.album_id"
        if kind == "byGenre":
            conds.append("b.genre = ?")
            args.append(genre or "")
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        return [
            _album(r)
            for r in self._all(
                f"SELECT {_ALBUM} FROM {_source('albums', 'b', 'album_id', held)} {where} "
                f"ORDER BY {order} LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
        ]

    def _random_albums(self, limit: int, held: bool) -> list[Album]:
        if held:  # the held set is what one machine holds: small enough to sample directly
            return [
                _album(r)
                for r in self._all(
                    f"SELECT {_ALBUM} FROM held.albums h JOIN albums b USING (album_id) "
                    "ORDER BY random() LIMIT ?",
                    (limit,),
                )
            ]
        # Uniform over the catalog without a scan: random rowids (albums are a rowid table).
        return self.albums(self._random_rowids("albums", limit))

    def _random_rowids(self, table: str, limit: int) -> list[int]:
        count = self._all(f"SELECT coalesce(max(ord) + 1, 0) FROM {table}")[0][0]
        if not count:
            return []
        # Uniform without a scan: random dense ordinals, one index seek each.
        picks = random.sample(range(count), min(limit, count))
        marks = ",".join("?" * len(picks))
        found = dict(
            self._all(f"SELECT ord, rowid FROM {table} WHERE ord IN ({marks})", tuple(picks))
        )
        return [found[p] for p in picks if p in found]

    def random_tracks(
        self,
        size: int,
        held: bool,
        *,
        genre: str | None = None,
        from_year: int | None = None,
        to_year: int | None = None,
        min_popularity: int | None = None,
    ) -> list[Track]:
        limit, _ = page(size, 0)
        conds: list[str] = []
        args: list[Any] = []
        if min_popularity is not None:
            conds.append("t.popularity >= ?")
            args.append(min_popularity)
        if genre:
            conds.append("t.genre = ?")
            args.append(genre)
        if from_year is not None:
            conds.append("t.year >= ?")
            args.append(from_year)
        if to_year is not None:
            conds.append("t.year <= ?")
            args.append(to_year)
        if held or conds:
            source = "held.tracks h JOIN tracks t USING (track_id)" if held else "tracks t"
            where = f"WHERE {' AND '.join(conds)}" if conds else ""
            return [
                _track(r)
                for r in self._all(
                    f"SELECT {_TRACK} FROM {source} {where} ORDER BY random() LIMIT ?",
                    (*args, limit),
                )
            ]
        return self.tracks(self._random_rowids("tracks", limit))

    def genres(self) -> list[tuple[str, int, int]]:
        if ("genres", False) not in self._memo:
            self._memo["genres", False] = self._all(
                "SELECT name, song_count, album_count FROM genres ORDER BY name LIMIT ?",
                (MAX_INDEX,),
            )
        return list(self._memo["genres", False])

    def songs_by_genre(self, genre: str, size: int, offset: int, held: bool) -> list[Track]:
        limit, offset = page(size, offset)
        return [
            _track(r)
            for r in self._all(
                f"SELECT {_TRACK} FROM {_source('tracks', 't', 'track_id', held)} "
                "WHERE t.genre = ? ORDER BY t.track_id LIMIT ? OFFSET ?",
                (genre, limit, offset),
            )
        ]

    def top_songs(self, artist_name: str, size: int, held: bool) -> list[Track]:
        """An artist's most listened tracks (catalog listens)."""
        limit, _ = page(size, 0)
        where = " AND t.track_id IN (SELECT track_id FROM held.tracks)" if held else ""
        return [
            _track(r)
            for r in self._all(
                f"SELECT {_TRACK} FROM tracks t WHERE t.artist_id IN "
                "(SELECT artist_id FROM artists WHERE name = ? COLLATE NOCASE)"
                f"{where} ORDER BY t.listens DESC, t.track_id LIMIT ?",
                (artist_name, limit),
            )
        ]

    # -- search fallback: prefixes of sort keys, or everything paged by key -----------------
    def search(
        self, query: str, kind: str, size: int, offset: int, held: bool
    ) -> list[Artist] | list[Album] | list[Track]:
        limit, offset = page(size, offset)
        q = query.strip().strip('"').lower()
        table, alias, cols, key, hkey = {
            "artist": ("artists", "a", _ARTIST, "a.sort_key", "artist_id"),
            "album": ("albums", "b", _ALBUM, "b.sort_key", "album_id"),
            "track": ("tracks", "t", _TRACK, "t.sort_key", "track_id"),
        }[kind]
        conds: list[str] = []
        args: list[Any] = []
        if not q and not held:
            # Everything, as a client syncing the catalog asks for it page after page: a range
            # of the dense ordinal is one index seek at any offset, where OFFSET would walk
            # every row before it (the order is the snapshot's, stable for its lifetime).
            rows = self._all(
                f"SELECT {cols} FROM {table} {alias} WHERE {alias}.ord >= ? AND {alias}.ord < ? "
                f"ORDER BY {alias}.ord",
                (offset, offset + limit),
            )
            make_row = {"artist": _artist, "album": _album, "track": _track}[kind]
            return [make_row(r) for r in rows]  # type: ignore[return-value]
        if q:
            conds.append(f"{key} >= ? AND {key} < ?")
            args += [q, q + "\uffff"]
        source = f"{table} {alias}"
        if held and q:  # a prefix range is selective: walk it, keep what is held
            conds.append(f"{alias}.{hkey} IN (SELECT {hkey} FROM held.{table})")
        elif held:
            source = _source(table, alias, hkey, held)
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        order = f"{key}, {alias}.{hkey}"
        rows = self._all(
            f"SELECT {cols} FROM {source} {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        make = {"artist": _artist, "album": _album, "track": _track}[kind]
        return [make(r) for r in rows]  # type: ignore[return-value]
