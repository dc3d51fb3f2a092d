"""The candidate relation the plan and coverage work on, made from a catalog and scanned files.

The plan core (``budget.py``) and coverage read one relation, one row per *candidate track*:

    recording_id BIGINT, track_id BIGINT, is_canonical BOOLEAN, listens BIGINT,
    popularity SMALLINT, duration_ms INTEGER, isrc VARCHAR, mbid VARCHAR, album_id BIGINT,
    artist_ids BIGINT[], license VARCHAR,
    file_path VARCHAR, file_size BIGINT, file_codec VARCHAR, file_bitrate INTEGER,
    file_duration_ms INTEGER          -- the track's best scanned file; all NULL when none

Here it is a view over the catalog's tracks (``catalog_candidates``); the benchmark feeds the
same columns from DuckDB's ``range()`` instead, without ingesting anything.

Scanned files come through one small interface, a relation of

    (track_id BIGINT, path VARCHAR, size BIGINT, codec VARCHAR, bitrate INTEGER, duration_ms INTEGER)

one row per local audio file matched to a catalog track. The library store keeps it in
``ARCHIVE/library.duckdb`` as the view ``library_files`` (``LIBRARY_FILES``); ``attach_files``
attaches that file read-only. A track with several files uses its best: highest bitrate, then
largest, then first path.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from longplay.archive import Archive
from longplay.errors import LongplayError
from longplay.plan.weights import listen_weight_sql

CANDIDATE_COLUMNS: dict[str, str] = {
    "recording_id": "BIGINT",
    "track_id": "BIGINT",
    "is_canonical": "BOOLEAN",
    "listens": "BIGINT",
    "popularity": "SMALLINT",
    "duration_ms": "INTEGER",
    "isrc": "VARCHAR",
    "mbid": "VARCHAR",
    "album_id": "BIGINT",
    "artist_ids": "BIGINT[]",
    "license": "VARCHAR",
    "file_path": "VARCHAR",
    "file_size": "BIGINT",
    "file_codec": "VARCHAR",
    "file_bitrate": "INTEGER",
    "file_duration_ms": "INTEGER",
}
FILES_COLUMNS: dict[str, str] = {
    "track_id": "BIGINT",
    "path": "VARCHAR",
    "size": "BIGINT",
    "codec": "VARCHAR",
    "bitrate": "INTEGER",
    "duration_ms": "INTEGER",
}
LIBRARY_SCHEMA = "plan_library"  # the name library.duckdb is attached under
LIBRARY_FILES = "library_files"  # the view of matched files the library store provides


def library_identity(archive: Archive) -> str | None:
    """What identifies the scanned files a plan used (a changed library is a different job)."""
    path = archive.library_path
    if not path.exists():
        return None
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def attach_files(con: duckdb.DuckDBPyConnection, archive: Archive) -> str | None:
    """Attach ``ARCHIVE/library.duckdb`` read-only; the SQL of its files relation, or None.

    None means nothing was scanned (no library, or no matched file): sizes are then virtual.
    """
    path: Path = archive.library_path
    if not path.exists():
        return None
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    if LIBRARY_SCHEMA not in attached:
        try:
            con.execute(f"ATTACH ? AS {LIBRARY_SCHEMA} (READ_ONLY)", [str(path)])
        except duckdb.Error as exc:
            raise LongplayError(f"{path}: cannot open the scanned-files library: {exc}") from None
    cols = {
        r[0]: r[1]
        for r in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = ?",
            [LIBRARY_SCHEMA, LIBRARY_FILES],
        ).fetchall()
    }
    if not cols:
        return None  # a library without matched files yet
    absent = [c for c in FILES_COLUMNS if c not in cols]
    if absent:
        raise LongplayError(
            f"{path}: {LIBRARY_FILES} lacks column(s) {', '.join(absent)} "
            f"(expected {', '.join(FILES_COLUMNS)})"
        )
    sql = (
        f"SELECT {', '.join(f'CAST({c} AS {t}) AS {c}' for c, t in FILES_COLUMNS.items())} "
        f"FROM {LIBRARY_SCHEMA}.{LIBRARY_FILES} WHERE track_id IS NOT NULL"
    )
    if not con.execute(f"SELECT count(*) FROM ({sql} LIMIT 1)").fetchall()[0][0]:
        return None
    return sql


def catalog_candidates(
    con: duckdb.DuckDBPyConnection,
    files_sql: str | None = None,
    *,
    with_artists: bool = False,
    name: str = "plan_candidates",
) -> str:
    """Create the temp view ``name`` of candidate tracks over the catalog's tracks; returns name.

    ``artist_ids`` (the track's credited artists) is filled only ``with_artists``: it is a large
    aggregation that only artist exclusions need. (Album artists reach the plan through
    ``album_id``: an artist exclusion also excludes the albums credited to that artist.)
    """
    if files_sql is None:
        files_join = ""
        file_cols = (
            "NULL::VARCHAR AS file_path, NULL::BIGINT AS file_size, NULL::VARCHAR AS file_codec, "
            "NULL::INTEGER AS file_bitrate, NULL::INTEGER AS file_duration_ms"
        )
    else:
        # The best file of each track: highest bitrate, then the largest, then the first path.
        files_join = f"""
            LEFT JOIN (
                SELECT track_id, arg_max(f, {{'bitrate': coalesce(f.bitrate, -1),
                                            'size': coalesce(f.size, -1), 'path': f.path}}) AS best
                FROM ({files_sql}) f GROUP BY track_id
            ) bf ON bf.track_id = t.track_id"""
        file_cols = (
            "bf.best.path AS file_path, bf.best.size AS file_size, bf.best.codec AS file_codec, "
            "bf.best.bitrate AS file_bitrate, bf.best.duration_ms AS file_duration_ms"
        )
    if with_artists:
        artists_join = """
            LEFT JOIN (SELECT track_id, list(DISTINCT artist_id) AS ids FROM track_artists
                       GROUP BY track_id) ta ON ta.track_id = t.track_id"""
        artist_col = "ta.ids"
    else:
        artists_join, artist_col = "", "NULL::BIGINT[]"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT coalesce(t.recording_id, t.track_id) AS recording_id, t.track_id,
               coalesce(t.is_canonical, true) AS is_canonical,
               {listen_weight_sql("t")}::BIGINT AS listens, t.popularity, t.duration_ms,
               t.isrc, t.mbid, t.album_id, {artist_col} AS artist_ids, t.license, {file_cols}
        FROM tracks t {files_join} {artists_join}""")
    return name
