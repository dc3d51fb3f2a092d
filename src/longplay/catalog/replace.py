"""A re-ingest's replacement of its source's older rows: once before the units, once at finalize.

A new generation starts as a copy of the current one. Re-ingesting a source there replaces the
source's older rows whose IDs the new input writes (newest wins) and keeps the others. This was
done per unit: each unit deleted, in every table, the older rows with its IDs, and each such
DELETE read the whole table (IDs are MD5s, so min/max filters skip nothing): ~0.01-0.02 CPU-s per
1M older tracks per statement and unit, a term that grows with the square of the catalog
(bench/RESULTS.md, issue 26). Now the units delete nothing:

- ``tracks``, ``albums`` and ``artists`` carry a generation, and the units only ever look at
  this generation's rows, so the older rows stay until :func:`finish` deletes those whose ID
  this generation wrote: one join per table.
- The link tables carry none: a new row cannot be told from an older one of the same ID, so
  :func:`set_aside` deletes the source's older link rows before the first unit, and
  :func:`finish` copies back, from the generation this one was copied from (which stays
  current, whole and unchanged, until this one is published), those of the older tracks and
  albums that are left. Nothing is copied but what is put back.

``set_aside`` runs in a transaction of its own that the ingest records as a unit, ``finish`` in
the finalize transaction, so a run killed anywhere and rerun ends the same.
"""

from __future__ import annotations

import duckdb

from longplay.catalog.checks import sql_literal

# Link table -> (its ID column, the table that ID belongs to).
_LINKS = {
    "track_artists": ("track_id", "tracks"),
    "track_genres": ("track_id", "tracks"),
    "track_isrcs": ("track_id", "tracks"),
    "album_artists": ("album_id", "albums"),
    "album_genres": ("album_id", "albums"),
}
_OWNERS = {"tracks": "track_id", "albums": "album_id", "artists": "artist_id"}


def older_rows(con: duckdb.DuckDBPyConnection, source: str, generation: int) -> bool:
    """Whether the catalog holds rows of ``source`` from earlier generations (only then is
    there anything to replace; a first ingest skips both steps)."""
    src, g = sql_literal(source), int(generation)
    exists = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} WHERE source = {src} AND generation <> {g})" for t in _OWNERS
    )
    row = con.execute(f"SELECT {exists}").fetchone()
    return bool(row and row[0])


def set_aside(con: duckdb.DuckDBPyConnection, source: str, generation: int) -> None:
    """Delete the link rows of ``source``'s older tracks and albums (before the first unit, in
    the caller's transaction; :func:`finish` puts back those it keeps)."""
    for table, (column, owner) in _LINKS.items():
        con.execute(f"DELETE FROM {table} WHERE {column} IN ({_older(owner, source, generation)})")


def finish(con: duckdb.DuckDBPyConnection, source: str, generation: int, base: str) -> None:
    """Delete ``source``'s older rows whose IDs this generation wrote, then copy back from
    ``base`` (the attached generation this one was copied from) the link rows of the older
    ones left (in the finalize transaction, before any hook)."""
    src, g = sql_literal(source), int(generation)
    for table, column in _OWNERS.items():
        con.execute(f"""
            DELETE FROM {table} WHERE source = {src} AND generation <> {g}
              AND {column} IN (SELECT {column} FROM {table} WHERE source = {src} AND generation = {g})""")
    for owner in ("tracks", "albums"):
        column = _OWNERS[owner]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _kept_{owner} AS {_older(owner, source, generation)}"
        )
        for table, (col, own) in _LINKS.items():
            if own == owner:
                con.execute(f"""
                    INSERT INTO {table} SELECT * FROM {base}.{table}
                    WHERE {col} IN (SELECT {column} FROM _kept_{owner})""")
        con.execute(f"DROP TABLE _kept_{owner}")


def _older(owner: str, source: str, generation: int) -> str:
    """SQL: the IDs of ``source``'s rows of ``owner`` (tracks or albums) from earlier generations."""
    column = _OWNERS[owner]
    return f"SELECT {column} FROM {owner} WHERE source = {sql_literal(source)} AND generation <> {int(generation)}"
