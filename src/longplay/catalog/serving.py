"""Serving snapshots: a read-optimized SQLite copy of one catalog generation, built once.

DuckDB is built for scans; a point lookup through its Python API costs far more than an indexed
SQLite read, and a server makes thousands of them a second. A generation never changes once
current, so ``ARCHIVE/serving/gen-NNNNNN.sqlite`` is derived from it in one pass on first use
(denormalized: display artists, genre, year and counts inline, an index for every lookup the API
makes), written beside its final name and renamed into place, and removed with its generation by
gc. A *held* file (``held-*.sqlite``, written by :func:`write_held`) lists the tracks the archive
holds a file for and their albums and artists; readers attach it as schema ``held``.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from longplay.archive import Archive
from longplay.catalog.store import CatalogStore
from longplay.errors import LongplayError

SNAPSHOT_VERSION = 2  # 2: artists.ord, and every ord numbered in ID order
BATCH = 20_000  # rows per batch from DuckDB
QUEUED = 4  # batches read ahead of the writer (bounds memory: ~80k rows)
CACHE_KIB = 256 * 1024  # SQLite page cache while building

# The first letter an index files a name under: A-Z, or '#' for anything else.
_LETTER = "CASE WHEN upper(left({c}, 1)) BETWEEN 'A' AND 'Z' THEN upper(left({c}, 1)) ELSE '#' END"

# name -> (SQLite DDL, the DuckDB query that fills it, in column order).
TABLES: dict[str, tuple[str, str]] = {
    "artists": (
        "CREATE TABLE artists (artist_id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "sort_key TEXT NOT NULL, letter TEXT NOT NULL, mbid TEXT, album_count INTEGER NOT NULL, "
        "song_count INTEGER NOT NULL, ord INTEGER NOT NULL)",
        f"""SELECT a.artist_id, a.name, lower(coalesce(a.sort_name, a.name)) AS sort_key,
                   {_LETTER.format(c="coalesce(a.sort_name, a.name)")}, a.mbid,
                   (SELECT count(*) FROM album_artists x WHERE x.artist_id = a.artist_id),
                   (SELECT count(*) FROM track_artists x WHERE x.artist_id = a.artist_id),
                   row_number() OVER (ORDER BY a.artist_id) - 1
            FROM (SELECT DISTINCT ON (artist_id) * FROM artists ORDER BY artist_id) a""",
    ),
    "albums": (
        "CREATE TABLE albums (album_id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
        "sort_key TEXT NOT NULL, artist_id INTEGER, artist TEXT, artist_sort TEXT, year INTEGER, "
        "release_date TEXT, album_type TEXT, label TEXT, mbid TEXT, genre TEXT, "
        "song_count INTEGER NOT NULL, duration_s INTEGER NOT NULL, listens INTEGER NOT NULL, "
        "ord INTEGER NOT NULL)",
        """WITH aa AS (
                SELECT x.album_id, string_agg(a.name || coalesce(x.join_phrase, ''), ''
                           ORDER BY x.position) AS artist,
                       arg_min(a.artist_id, x.position) AS artist_id,
                       lower(arg_min(coalesce(a.sort_name, a.name), x.position)) AS artist_sort
                FROM album_artists x JOIN artists a USING (artist_id) GROUP BY x.album_id),
            ag AS (SELECT x.album_id, min(g.name) AS genre FROM album_genres x
                   JOIN genres g USING (genre_id) GROUP BY x.album_id),
            tr AS (SELECT album_id, count(*) AS n, sum(coalesce(duration_ms, 0)) // 1000 AS d,
                          sum(coalesce(listen_count, 0)) AS listens
                   FROM tracks GROUP BY album_id)
           SELECT al.album_id, al.title, lower(al.title), aa.artist_id, aa.artist, aa.artist_sort,
                  al.release_year, al.release_date, al.album_type, al.label, al.mbid, ag.genre,
                  coalesce(tr.n, 0), coalesce(tr.d, 0), coalesce(tr.listens, 0),
                  row_number() OVER (ORDER BY al.album_id) - 1
           FROM (SELECT DISTINCT ON (album_id) * FROM albums ORDER BY album_id) al LEFT JOIN aa USING (album_id) LEFT JOIN ag USING (album_id)
           LEFT JOIN tr USING (album_id)""",
    ),
    "tracks": (
        "CREATE TABLE tracks (track_id INTEGER PRIMARY KEY, album_id INTEGER, title TEXT NOT NULL, "
        "disc INTEGER, track_no INTEGER, duration_ms INTEGER, isrc TEXT, mbid TEXT, "
        "listens INTEGER NOT NULL, popularity INTEGER, explicit INTEGER, artist_id INTEGER, "
        "artist TEXT, genre TEXT, year INTEGER, license TEXT, sort_key TEXT NOT NULL, "
        "ord INTEGER NOT NULL)",
        """WITH ta AS (
                SELECT x.track_id, string_agg(a.name || coalesce(x.join_phrase, ''), ''
                           ORDER BY x.position) AS artist,
                       arg_min(a.artist_id, x.position) AS artist_id
                FROM track_artists x JOIN artists a USING (artist_id) GROUP BY x.track_id),
            tg AS (SELECT x.track_id, min(g.name) AS genre FROM track_genres x
                   JOIN genres g USING (genre_id) GROUP BY x.track_id),
            ag AS (SELECT x.album_id, min(g.name) AS genre FROM album_genres x
                   JOIN genres g USING (genre_id) GROUP BY x.album_id)
           SELECT t.track_id, t.album_id, t.title, t.disc_number, t.track_number, t.duration_ms,
                  t.isrc, t.mbid, coalesce(t.listen_count, 0), t.popularity, t.explicit,
                  ta.artist_id, ta.artist, coalesce(tg.genre, ag.genre), al.release_year, t.license, lower(t.title),
                  row_number() OVER (ORDER BY t.track_id) - 1
           FROM (SELECT DISTINCT ON (track_id) * FROM tracks ORDER BY track_id) t LEFT JOIN ta USING (track_id) LEFT JOIN tg USING (track_id)
           LEFT JOIN (SELECT DISTINCT ON (album_id) * FROM albums ORDER BY album_id) al
                USING (album_id) LEFT JOIN ag USING (album_id)""",
    ),
    "track_artists": (
        "CREATE TABLE track_artists (track_id INTEGER NOT NULL, artist_id INTEGER NOT NULL, "
        "position INTEGER NOT NULL)",
        "SELECT track_id, artist_id, position FROM track_artists",
    ),
    "album_artists": (
        "CREATE TABLE album_artists (album_id INTEGER NOT NULL, artist_id INTEGER NOT NULL, "
        "position INTEGER NOT NULL)",
        "SELECT album_id, artist_id, position FROM album_artists",
    ),
    "track_isrcs": (
        "CREATE TABLE track_isrcs (track_id INTEGER NOT NULL, isrc TEXT NOT NULL)",
        "SELECT track_id, isrc FROM tracks WHERE isrc IS NOT NULL "
        "UNION SELECT track_id, isrc FROM track_isrcs",
    ),
}

INDEXES = (
    "CREATE INDEX artists_sort ON artists (sort_key, artist_id)",
    "CREATE INDEX artists_name ON artists (name COLLATE NOCASE)",
    "CREATE INDEX albums_sort ON albums (sort_key, album_id)",
    "CREATE INDEX albums_artist_sort ON albums (artist_sort, sort_key, album_id)",
    "CREATE INDEX albums_artist ON albums (artist_id, year, album_id)",
    "CREATE INDEX albums_year ON albums (year, album_id)",
    "CREATE INDEX albums_newest ON albums (release_date DESC, album_id)",
    "CREATE INDEX albums_genre ON albums (genre, sort_key, album_id)",
    # Dense ordinals in ID order: a uniform random pick is a random integer and one seek, a
    # listing's page one range seek; the same catalog numbers them the same in every rebuild.
    "CREATE UNIQUE INDEX artists_ord ON artists (ord)",
    "CREATE UNIQUE INDEX albums_ord ON albums (ord)",
    "CREATE UNIQUE INDEX tracks_ord ON tracks (ord)",
    "CREATE INDEX tracks_sort ON tracks (sort_key, track_id)",
    "CREATE INDEX tracks_album ON tracks (album_id, disc, track_no, track_id)",
    "CREATE INDEX tracks_genre ON tracks (genre, track_id)",
    "CREATE INDEX tracks_listens ON tracks (listens DESC, track_id)",
    "CREATE INDEX tracks_artist ON tracks (artist_id, listens DESC)",
    "CREATE INDEX track_artists_track ON track_artists (track_id, position)",
    "CREATE INDEX track_artists_artist ON track_artists (artist_id, track_id)",
    "CREATE INDEX album_artists_artist ON album_artists (artist_id, album_id)",
    "CREATE INDEX album_artists_album ON album_artists (album_id, position)",
    "CREATE INDEX track_isrcs_isrc ON track_isrcs (isrc)",
)


def serving_dir(archive: Archive) -> Path:
    return archive.root / "serving"


def snapshot_path(archive: Archive, generation: str) -> Path:
    return serving_dir(archive) / f"{generation}.sqlite"


def _version(path: Path) -> int:
    """The snapshot version a file was written with (0 when unreadable): older ones are rebuilt."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'snapshot_version'").fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0
    except (sqlite3.Error, ValueError):
        return 0


def _produce(store: CatalogStore, out: queue.Queue[Any], stop: threading.Event) -> None:
    """Read every table's rows from DuckDB in batches onto ``out``; then None (or the error)."""

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        with store.read() as src:
            for name, (_, query) in TABLES.items():
                cur = src.execute(query)
                while rows := cur.fetchmany(BATCH):
                    if not put((name, rows)):
                        return
        put(None)
    except BaseException as exc:  # handed to the writer, which raises it
        put(exc)


def _load(store: CatalogStore, dst: sqlite3.Connection) -> None:
    """Copy every table into ``dst``: DuckDB runs the queries and makes the rows on one thread
    while this one inserts them (both release the GIL in their C parts: two cores at work)."""
    marks = {}
    for name, (ddl, _) in TABLES.items():
        dst.execute(ddl)
        cols = len(dst.execute(f"SELECT * FROM {name} LIMIT 0").description)
        marks[name] = ",".join("?" * cols)
    batches: queue.Queue[Any] = queue.Queue(maxsize=QUEUED)
    stop = threading.Event()
    reader = threading.Thread(target=_produce, args=(store, batches, stop), name="lp-snapshot")
    reader.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            name, rows = item
            dst.executemany(f"INSERT OR IGNORE INTO {name} VALUES ({marks[name]})", rows)
    finally:
        stop.set()
        reader.join()


def ensure_snapshot(archive: Archive) -> tuple[str, Path]:
    """The current generation's name and its snapshot, building the snapshot when missing."""
    store = CatalogStore(archive)
    generation = store.current_name()
    if generation is None:
        raise LongplayError(
            f"the archive {archive.root} has no catalog yet; ingest a source first "
            "(e.g. `longplay ingest synthetic --tracks 10000`)"
        )
    path = snapshot_path(archive, generation)
    if path.exists() and _version(path) == SNAPSHOT_VERSION:
        return generation, path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    dst = sqlite3.connect(tmp, isolation_level=None)
    try:
        # A scratch file rebuilt from scratch on any failure: no journal, no fsync per page.
        dst.execute("PRAGMA journal_mode = OFF")
        dst.execute("PRAGMA synchronous = OFF")
        # A big page cache for the load and the index sorts, which may use a second thread.
        dst.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        dst.execute("PRAGMA threads = 2")
        dst.execute("BEGIN")
        dst.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        _load(store, dst)
        for ddl in INDEXES:
            dst.execute(ddl)
        # Genres as the API shows them: a track's own genre, else its album's.
        dst.execute(
            "CREATE TABLE genres (name TEXT PRIMARY KEY, song_count INTEGER NOT NULL, "
            "album_count INTEGER NOT NULL)"
        )
        dst.execute(
            "INSERT INTO genres SELECT genre, count(*), count(DISTINCT album_id) FROM tracks "
            "WHERE genre IS NOT NULL GROUP BY genre"
        )
        dst.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("generation", generation), ("snapshot_version", str(SNAPSHOT_VERSION))],
        )
        dst.execute("COMMIT")
        dst.execute("ANALYZE")
    except BaseException:
        dst.close()
        tmp.unlink(missing_ok=True)
        raise
    dst.close()
    os.replace(tmp, path)
    return generation, path


HELD_TABLES = (
    "CREATE TABLE tracks (track_id INTEGER PRIMARY KEY, path TEXT NOT NULL)",
    "CREATE TABLE albums (album_id INTEGER PRIMARY KEY)",
    "CREATE TABLE artists (artist_id INTEGER PRIMARY KEY)",
)


def write_held(snapshot: Path, out: Path, held: Iterable[tuple[int, str]]) -> Path:
    """Write the held file for ``snapshot``: tracks with a file (id, absolute path) and the
    albums and artists that have one; atomically replaces ``out``."""
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("BEGIN")
        for ddl in HELD_TABLES:
            con.execute(ddl)
        con.executemany("INSERT OR IGNORE INTO tracks VALUES (?, ?)", held)
        con.execute("ATTACH DATABASE ? AS cat", (str(snapshot),))
        con.execute(
            "INSERT INTO albums SELECT DISTINCT c.album_id FROM tracks h "
            "JOIN cat.tracks c USING (track_id) WHERE c.album_id IS NOT NULL"
        )
        con.execute(
            "INSERT OR IGNORE INTO artists SELECT DISTINCT x.artist_id FROM tracks h "
            "JOIN cat.track_artists x USING (track_id) UNION SELECT DISTINCT x.artist_id "
            "FROM albums h JOIN cat.album_artists x USING (album_id)"
        )
        con.execute("COMMIT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, out)
    return out


def remove_snapshot(archive: Archive, generation: str) -> None:
    """gc's hook: the snapshot and held files of a removed generation go with it."""
    for p in serving_dir(archive).glob(f"*{generation}*.sqlite"):
        p.unlink(missing_ok=True)
