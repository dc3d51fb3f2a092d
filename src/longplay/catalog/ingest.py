"""Ingest: flat track records from any source into a new catalog generation.

Pipeline (see catalog/README.md)::

    source adapter ──units──▶ stage (per unit, one transaction) ──▶ finalize ──▶ publish
       yields Unit             validate, normalize, rejects        set-based merge   CURRENT

A *unit* is a resumable piece of input (a file, a chunk). Staging a unit validates its records
in SQL, keeps good ones in ``_stage`` and bad ones in ``_rejects``, and records the unit as done
in the same transaction, so ``kill -9`` at any point loses nothing and duplicates nothing.
Finalize merges the staged rows into the normalized tables with set operations (newest
generation wins per stable ID) and assigns recording identity; then the generation is published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from longplay import progress
from longplay.archive import Archive
from longplay.catalog import identity
from longplay.catalog.schema import FLAT_COLUMNS
from longplay.catalog.store import CatalogStore, GenerationBuilder
from longplay.rejects import RejectsLog

# A loader fills the temp table ``_in`` with FLAT_COLUMNS in input order. Optional columns:
# ``_pos`` (VARCHAR, where the record is in its input, e.g. "line 12"; without it the position is
# ``Unit.position_word`` and the record's ordinal, taken from ``_in``'s insertion-ordered rowid) and
# ``_problems`` (VARCHAR[] of per-record problems the reader found, e.g. wrong types).
# Optionally ``_album_only`` (BOOLEAN): the row describes an album that lists no tracks (no
# track_key or title needed). Rows sharing one ``_pos`` are one input record (e.g. a release and
# its tracks): a record is kept or dropped as a whole when its track keys collide with an earlier
# record's, and a bad value shared by its rows is reported once.
Loader = Callable[[duckdb.DuckDBPyConnection], None]
Hook = Callable[[duckdb.DuckDBPyConnection, int], None]  # (connection, generation number)


@dataclass
class Unit:
    name: str                 # stable identity of the unit within its job (resume key)
    input: str                # what rejects name: a file path, or path + member
    load: Loader
    size: int = 0             # records or bytes, for the progress bar
    position_word: str = "record"  # "line", "row", ...: positions are "<word> <ordinal>"
    # Whether ordinals really count position_words (e.g. no blank lines that the reader skipped);
    # asked only when the unit has rejects, since it may cost a pass over the input.
    exact_positions: Callable[[], bool] | None = None
    after: Callable[[duckdb.DuckDBPyConnection], None] | None = None  # extra work in the unit's transaction
    number: int = -1          # set by run(): the unit's ``_unit`` number in the staging tables
    prepare: Callable[[], None] | None = None  # CPU work before load, run ahead in a thread


@dataclass
class IngestReport:
    generation: str
    source: str
    read: int = 0
    kept: int = 0
    rejected: int = 0
    values_rejected: int = 0
    units: int = 0
    units_skipped: int = 0
    rejects_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # source-specific lines for the summary

    def summary(self) -> str:
        line = (f"{self.source}: read {self.read:,} = kept {self.kept:,} + rejected {self.rejected:,}"
                f"; {self.values_rejected:,} bad values dropped; generation {self.generation}")
        if self.units_skipped:
            line += f" (resumed: {self.units_skipped} of {self.units} units already done)"
        for note in self.notes:
            line += f"\n{note}"
        if self.rejects_path is not None:
            line += f"\nrejects: {self.rejects_path}"
        return line


STAGE_DDL = f"""
CREATE TABLE IF NOT EXISTS _stage (
    _unit INTEGER, _ord BIGINT, _pos VARCHAR, _input VARCHAR,
    {", ".join(f"{k} {v}" for k, v in FLAT_COLUMNS.items())},
    _record_problem VARCHAR, _album_only BOOLEAN,
    {{bad_columns}}
);
CREATE TABLE IF NOT EXISTS _rejects (
    _unit INTEGER, _ord BIGINT, input VARCHAR, position VARCHAR, reason VARCHAR,
    kind VARCHAR, field VARCHAR, value VARCHAR
);
CREATE TABLE IF NOT EXISTS _unit_counts (
    _unit INTEGER, unit VARCHAR, records_read BIGINT, records_rejected BIGINT, values_rejected BIGINT,
    position_word VARCHAR
);
"""

# Field checks: (field, SQL that is true when the value is bad, reason SQL, normalized SQL).
_VALUE_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("isrc", "_isrc_n IS NOT NULL AND NOT _isrc_ok",
     "'ISRC ' || to_json(isrc)::VARCHAR || ' is not CC-XXX-YY-NNNNN'",
     "CASE WHEN _isrc_ok THEN _isrc_n END"),
    ("upc", "_upc_n IS NOT NULL AND NOT _upc_ok",
     "'UPC ' || to_json(upc)::VARCHAR || ' is not a valid UPC/EAN (length or check digit)'",
     "CASE WHEN _upc_ok THEN _upc_n END"),
    ("popularity", "popularity IS NOT NULL AND (popularity < 0 OR popularity > 100)",
     "'popularity ' || popularity || ' is outside 0..100'",
     "CASE WHEN popularity BETWEEN 0 AND 100 THEN popularity END"),
    ("duration_ms", "duration_ms IS NOT NULL AND (duration_ms < 0 OR duration_ms > 2147483647)",
     "'duration_ms ' || duration_ms || ' is negative or too large'",
     "CASE WHEN duration_ms BETWEEN 0 AND 2147483647 THEN duration_ms END"),
    ("disc_number", "disc_number IS NOT NULL AND (disc_number < 0 OR disc_number > 32767)",
     "'disc_number ' || disc_number || ' is out of range'",
     "CASE WHEN disc_number BETWEEN 0 AND 32767 THEN disc_number END"),
    ("track_number", "track_number IS NOT NULL AND (track_number < 0 OR track_number > 32767)",
     "'track_number ' || track_number || ' is out of range'",
     "CASE WHEN track_number BETWEEN 0 AND 32767 THEN track_number END"),
    ("listen_count", "listen_count IS NOT NULL AND listen_count < 0",
     "'listen_count ' || listen_count || ' is negative'",
     "CASE WHEN listen_count >= 0 THEN listen_count END"),
    ("user_count", "user_count IS NOT NULL AND user_count < 0",
     "'user_count ' || user_count || ' is negative'",
     "CASE WHEN user_count >= 0 THEN user_count END"),
    ("release_date", "release_date IS NOT NULL AND trim(release_date) <> '' AND "
     "NOT regexp_full_match(trim(release_date), '[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?')",
     "'release_date ' || to_json(release_date)::VARCHAR || ' is not YYYY, YYYY-MM or YYYY-MM-DD'",
     "CASE WHEN regexp_full_match(trim(release_date), '[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?') "
     "THEN trim(release_date) END"),
)

STAGE_DDL = STAGE_DDL.replace("{bad_columns}", ", ".join(f"_bad_{f} VARCHAR" for f, *_ in _VALUE_RULES))


def _record_problem(columns: set[str], album_only: str) -> str:
    reader = "WHEN len(coalesce(_problems, [])) > 0 THEN array_to_string(_problems, '; ')" \
        if "_problems" in columns else ""
    return f"""CASE {reader}
        WHEN {album_only} THEN CASE WHEN album_key IS NULL OR trim(album_key) = '' THEN 'missing album_key' END
        WHEN track_key IS NULL OR trim(track_key) = '' THEN 'missing track_key'
        WHEN title IS NULL OR trim(title) = '' THEN 'missing title'
    END"""


def _stage_unit(con: duckdb.DuckDBPyConnection, unit_no: int, unit: Unit) -> tuple[int, int, int]:
    """Validate, normalize and stage the records in ``_in`` in one pass over them.

    Every value rule is evaluated once per record into a ``_bad_<field>`` column (NULL when the
    value is fine); rejects are then read from those columns, and records with a problem are
    removed from the stage. Returns (read, rejected, values rejected).
    """
    columns = {r[0] for r in con.execute("DESCRIBE _in").fetchall()}
    normalized = {f: norm for f, _bad, _why, norm in _VALUE_RULES}
    cols = [f"{normalized[c]} AS {c}" if c in normalized else c for c in FLAT_COLUMNS]
    bads = [f"CASE WHEN {bad} THEN {why} END" for _f, bad, why, _n in _VALUE_RULES]
    pos = "_pos" if "_pos" in columns else "NULL::VARCHAR"
    album_only = "coalesce(_album_only, false)" if "_album_only" in columns else "false"
    con.execute(f"""
        INSERT INTO _stage
        SELECT {unit_no}, _ord, {pos}, ?, {", ".join(cols)}, {_record_problem(columns, album_only)},
               {album_only}, {", ".join(bads)}
        FROM (SELECT *, isrc_ok(_isrc_n) AS _isrc_ok, gtin_ok(_upc_n) AS _upc_ok
              FROM (SELECT *, rowid + 1 AS _ord, norm_isrc(isrc) AS _isrc_n, norm_upc(upc) AS _upc_n FROM _in))
        """, [unit.input])
    read = con.execute("SELECT count(*) FROM _in").fetchone()[0]  # type: ignore[index]
    problems = con.execute(f"""
        SELECT count(*) FROM _stage WHERE _unit = {unit_no}
        AND (_record_problem IS NOT NULL OR {" OR ".join(f"_bad_{f} IS NOT NULL" for f, *_ in _VALUE_RULES)})
        """).fetchall()[0][0]
    word = unit.position_word
    if problems and unit.exact_positions is not None and not unit.exact_positions():
        word = "record"
    position = f"coalesce(_pos, '{word} ' || _ord)"
    rejected = con.execute(f"""
        INSERT INTO _rejects SELECT _unit, _ord, _input, {position}, _record_problem, 'record', NULL, NULL
        FROM _stage WHERE _unit = {unit_no} AND _record_problem IS NOT NULL""").fetchone()[0]  # type: ignore[index]
    # A bad value shared by the rows of one record (a release's UPC on each of its tracks) is
    # reported once per record.
    values = con.execute("INSERT INTO _rejects SELECT * EXCLUDE (_rec) FROM (" + " UNION ALL ".join(
        f"""SELECT _unit, _ord, _input, {position} AS position, _bad_{f} AS reason, 'value' AS kind,
                   '{f}' AS field, NULL::VARCHAR AS value, coalesce(_pos, _ord::VARCHAR) AS _rec
            FROM _stage WHERE _unit = {unit_no} AND _record_problem IS NULL AND _bad_{f} IS NOT NULL"""
        for f, *_ in _VALUE_RULES) + ") QUALIFY row_number() OVER (PARTITION BY _rec, field ORDER BY _ord) = 1"
    ).fetchone()[0]  # type: ignore[index]
    if rejected:
        con.execute(f"DELETE FROM _stage WHERE _unit = {unit_no} AND _record_problem IS NOT NULL")
    con.execute("INSERT INTO _unit_counts VALUES (?, ?, ?, ?, ?, ?)",
                [unit_no, unit.name, read, rejected, values, unit.position_word])
    return read, rejected, values


def run(archive: Archive, source: str, units: Iterable[Unit], job: dict[str, Any],
        *, on_commit: Callable[[GenerationBuilder], None] | None = None,
        before_merge: Hook | None = None, after_merge: Hook | None = None,
        describe: Callable[[duckdb.DuckDBPyConnection, IngestReport], None] | None = None,
        total: int | None = None, unit_word: str = "records") -> IngestReport:
    """Ingest ``units`` of ``source`` into a new generation; resumable by rerunning the same job.

    ``units`` may be a lazy iterable (a stream read once, e.g. a compressed archive); then give
    ``total`` (the sum of the units' sizes, in ``unit_word``) for the progress bar. The hooks run
    in the finalize transaction around the set-based merge (``after_merge`` before identity), for
    sources that stage more than flat records; ``describe`` adds source-specific counts to the
    report before the generation is published.
    """
    store = CatalogStore(archive)
    job = {"source": source, **job}
    if total is None:
        units = list(units)
        total = sum(u.size for u in units) or len(units)
        if not any(u.size for u in units):
            unit_word = "items"
    with store.build(job) as gen:
        con = gen.con
        con.execute(STAGE_DDL)
        report = IngestReport(generation=gen.name, source=source)
        done = gen.done_units()
        with progress.progress(f"ingest {source}", total, unit_word) as bar, \
                ThreadPoolExecutor(1, thread_name_prefix="prepare") as ahead:
            # Units with a ``prepare`` step (pure Python/Arrow work) get it run one unit ahead in
            # a thread, overlapping the DuckDB work of the current unit (DuckDB releases the GIL).
            pending: tuple[Unit, Future[None] | None] | None = None
            for unit_no, unit in enumerate(_with_end(units)):
                if unit is not None:
                    report.units += 1
                    unit.number = unit_no
                    if unit.name in done:
                        report.units_skipped += 1
                        bar.advance(unit.size or 1)
                        continue
                    fut = ahead.submit(unit.prepare) if unit.prepare is not None else None
                    if pending is None:
                        pending = (unit, fut)
                        continue
                    pending, (unit, fut) = (unit, fut), pending
                elif pending is not None:
                    (unit, fut), pending = pending, None
                else:
                    break
                if fut is not None:
                    fut.result()
                # The loader runs outside the unit's transaction: a reader that fails (and falls
                # back to a slower, line-by-line path) must not abort the transaction.
                unit.load(con)
                with gen.unit(unit.name):
                    read, rejected, _values = _stage_unit(con, unit.number, unit)
                    if unit.after is not None:
                        unit.after(con)
                con.execute("DROP TABLE IF EXISTS _in")  # loaders make ``_in`` a temp table
                progress.note(f"ingest {source}: unit {unit.name} done ({read} read, {rejected} rejected)")
                bar.advance(unit.size or 1)
        if "__finalize__" not in gen.done_units():
            with gen.unit("__finalize__"):
                if before_merge is not None:
                    before_merge(con, gen.number)
                with progress.progress(f"merge {source}", None):  # one set-based step: no count to show
                    _finalize(con, source, gen.number)
                if after_merge is not None:
                    after_merge(con, gen.number)
                identity.assign(con)
        if "__log__" not in gen.done_units():
            _write_rejects(con, archive, source, gen.name)
            with gen.unit("__log__"):
                con.execute("""INSERT INTO ingest_log SELECT ?, ?, unit, records_read,
                               records_read - records_rejected, records_rejected, values_rejected, ?
                               FROM _unit_counts ORDER BY _unit""",
                            [gen.number, source, dt.datetime.now(dt.UTC).replace(tzinfo=None)])
                for t in ("_stage", "_rejects", "_unit_counts"):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
        counts = con.execute("""SELECT coalesce(sum(records_read), 0), coalesce(sum(records_rejected), 0),
                                       coalesce(sum(values_rejected), 0)
                                FROM ingest_log WHERE generation = ?""", [gen.number]).fetchone()
        report.read, report.rejected, report.values_rejected = (int(x) for x in counts)  # type: ignore[union-attr]
        report.kept = report.read - report.rejected
        path = rejects_path(archive, source, gen.name)
        report.rejects_path = path if path.exists() else None
        if describe is not None:
            describe(con, report)
        if on_commit is not None:
            on_commit(gen)
        gen.commit()
    return report


def _with_end(units: Iterable[Unit]) -> Iterator[Unit | None]:
    """The units, then None: the loop in run() finishes the last prepared unit on None."""
    yield from units
    yield None


def rejects_path(archive: Archive, source: str, gen: str) -> Path:
    """The rejects log of one ingest: named by generation, so a resumed run rewrites the same file."""
    return archive.rejects_dir / f"{gen}-ingest-{source}.jsonl"


def _write_rejects(con: duckdb.DuckDBPyConnection, archive: Archive, source: str, gen: str) -> None:
    path = rejects_path(archive, source, gen)
    path.unlink(missing_ok=True)
    if not con.execute("SELECT count(*) FROM _rejects").fetchone()[0]:  # type: ignore[index]
        return
    with RejectsLog(path) as log:
        rows = con.execute("""SELECT input, position, reason, kind, field, value FROM _rejects
                              ORDER BY _unit, _ord, field NULLS FIRST""").fetchall()
        for inp, pos, reason, kind, fld, value in rows:
            extra = {k: v for k, v in (("field", fld), ("value", value)) if v is not None}
            log.add(source=source, input=inp, position=pos, reason=reason, kind=kind, **extra)


def _artist_rows(list_col: str, rank: int) -> str:
    """Credited artists of every staged row, with where they came from (for a stable order)."""
    return f"""SELECT unnest({list_col}) AS a, generate_subscripts({list_col}, 1) AS _k, _unit, _ord,
                      {rank} AS _list FROM _stage WHERE {list_col} IS NOT NULL"""


def _finalize(con: duckdb.DuckDBPyConnection, source: str, generation: int) -> None:
    """Merge ``_stage`` into the normalized tables (set operations only)."""
    src = source.replace("'", "''")
    # Duplicate track keys within this ingest: the first occurrence wins, the rest are rejects,
    # together with the other rows of their input record (rows sharing _unit and _pos; a row
    # without an explicit position is a record of its own).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _dups AS
        SELECT _unit, _ord, coalesce(_pos, _ord::VARCHAR) AS _rec FROM (
            SELECT _unit, _ord, _pos, row_number() OVER (PARTITION BY track_key ORDER BY _unit, _ord) AS rn
            FROM _stage WHERE track_key IN (
                SELECT track_key FROM _stage GROUP BY track_key HAVING count(*) > 1))
        WHERE rn > 1""")
    if con.execute("SELECT count(*) FROM _dups").fetchone()[0]:  # type: ignore[index]
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _dups AS
            SELECT s._unit, s._ord, (s._unit, s._ord) IN (SELECT (_unit, _ord) FROM _dups) AS own
            FROM _stage s WHERE (s._unit, coalesce(s._pos, s._ord::VARCHAR)) IN (SELECT (_unit, _rec) FROM _dups)""")
        con.execute("""
            INSERT INTO _rejects SELECT s._unit, s._ord, s._input, coalesce(s._pos, u.position_word || ' ' || s._ord),
                CASE WHEN d.own THEN 'duplicate track_key ' || to_json(s.track_key)::VARCHAR || ' (first occurrence kept)'
                     ELSE 'dropped with its record, which repeats an earlier track_key' END,
                'record', NULL, NULL
            FROM _stage s JOIN _dups d USING (_unit, _ord) JOIN _unit_counts u USING (_unit)""")
        con.execute("""UPDATE _unit_counts SET records_rejected = records_rejected + d.n
                       FROM (SELECT _unit, count(*) AS n FROM _dups GROUP BY _unit) d
                       WHERE _unit_counts._unit = d._unit""")
        con.execute("DELETE FROM _stage WHERE (_unit, _ord) IN (SELECT (_unit, _ord) FROM _dups)")
    key = f"'{src}:'"
    # Albums: explicit key, else title + first album artist (so untitled keys still group).
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _staged AS
        SELECT *, stable_id({key} || 'track:' || track_key) AS track_id,
            CASE WHEN coalesce(album_key, album_title) IS NOT NULL THEN
                coalesce(album_key, album_title || '|' || coalesce(album_artists[1].name, artists[1].name, ''))
            END AS _album_key
        FROM _stage""")
    new_tracks = f"""
        SELECT track_id,
            CASE WHEN _album_key IS NOT NULL THEN stable_id({key} || 'album:' || _album_key) END AS album_id,
            trim(title) AS title, disc_number::SMALLINT, track_number::SMALLINT, duration_ms::INTEGER,
            explicit, isrc, lower(mbid) AS mbid,
            coalesce(popularity, CASE WHEN listen_count IS NOT NULL
                     THEN popularity_from_listens(listen_count) END)::SMALLINT AS popularity,
            listen_count, user_count, NULL::BIGINT AS recording_id, NULL::BOOLEAN AS is_canonical,
            lower(trim(license)) AS license,
            '{src}' AS source, track_key AS source_key, {generation} AS generation
        FROM _staged WHERE NOT coalesce(_album_only, false)"""
    new_albums = f"""
        SELECT DISTINCT ON (album_id) stable_id({key} || 'album:' || _album_key) AS album_id,
            coalesce(album_title, _album_key) AS title, album_type, release_date,
            TRY_CAST(left(release_date, 4) AS SMALLINT) AS release_year, label, upc, total_tracks,
            lower(album_mbid) AS mbid, '{src}' AS source, _album_key AS source_key, {generation} AS generation
        FROM _staged WHERE _album_key IS NOT NULL ORDER BY album_id, _unit, _ord"""
    artist_key = "coalesce(a.key, a.name)"
    # One row per artist. Deterministic without a global sort: the same artist credited with and
    # without an MBID keeps the MBID, else the first credit in input order wins (arg_min).
    new_artists = f"""
        SELECT artist_id, first.name, NULL::VARCHAR AS sort_name, lower(first.mbid) AS mbid,
               '{src}' AS source, first.source_key, {generation} AS generation
        FROM (SELECT stable_id({key} || 'artist:' || {artist_key}) AS artist_id,
                     arg_min({{'name': a.name, 'mbid': a.mbid, 'source_key': {artist_key}}},
                             (a.mbid IS NULL, _unit, _ord, _list, _k)) AS first
              FROM ({_artist_rows('artists', 0)} UNION ALL {_artist_rows('album_artists', 1)})
              WHERE a.name IS NOT NULL AND trim(a.name) <> ''
              GROUP BY 1)"""

    def links(list_col: str, id_col: str, id_sql: str) -> str:
        return f"""
            SELECT {id_col}, stable_id({key} || 'artist:' || {artist_key}) AS artist_id,
                   pos::SMALLINT AS position, coalesce(a.join_phrase, '') AS join_phrase, _unit, _ord
            FROM (SELECT {id_sql} AS {id_col}, unnest({list_col}) AS a,
                         generate_subscripts({list_col}, 1) AS pos, _unit, _ord
                  FROM _staged WHERE {list_col} IS NOT NULL
                  {'AND _album_key IS NOT NULL' if id_col == 'album_id' else 'AND NOT coalesce(_album_only, false)'})
            WHERE a.name IS NOT NULL AND trim(a.name) <> ''"""

    album_id_sql = f"stable_id({key} || 'album:' || _album_key)"
    _replace("tracks", "track_id", new_tracks, con)
    _replace("albums", "album_id", new_albums, con)
    _replace("artists", "artist_id", new_artists, con)
    link_cols = "artist_id, position, join_phrase"
    _replace("track_artists", "track_id",
             f"SELECT track_id, {link_cols} FROM ({links('artists', 'track_id', 'track_id')})", con)
    _replace("album_artists", "album_id",  # an album's credit as its first row in input order gives it
             f"""SELECT DISTINCT ON (album_id, position) album_id, {link_cols}
                 FROM ({links('album_artists', 'album_id', album_id_sql)}) ORDER BY album_id, position, _unit, _ord""", con)
    con.execute("""
        INSERT INTO genres SELECT DISTINCT stable_id('genre:' || g), g FROM (
            SELECT lower(trim(unnest(genres))) AS g FROM _stage
            UNION SELECT lower(trim(unnest(album_genres))) FROM _stage)
        WHERE g <> '' AND stable_id('genre:' || g) NOT IN (SELECT genre_id FROM genres)""")
    _replace("track_genres", "track_id", """
        SELECT DISTINCT track_id, stable_id('genre:' || lower(trim(g))) AS genre_id
        FROM (SELECT track_id, unnest(genres) AS g FROM _staged WHERE NOT coalesce(_album_only, false))
        WHERE trim(g) <> ''""", con)
    _replace("album_genres", "album_id", f"""
        SELECT DISTINCT {album_id_sql} AS album_id, stable_id('genre:' || lower(trim(g))) AS genre_id
        FROM (SELECT _album_key, unnest(album_genres) AS g FROM _staged WHERE _album_key IS NOT NULL)
        WHERE trim(g) <> ''""", con)


def _replace(table: str, id_col: str, new_rows_sql: str, con: duckdb.DuckDBPyConnection) -> None:
    """Newest wins: drop the table's rows whose ID the new rows carry, then add the new rows."""
    if not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchone()[0]:  # type: ignore[index]
        con.execute(f"INSERT INTO {table} {new_rows_sql}")  # first ingest: nothing to replace
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE _new AS {new_rows_sql}")
    con.execute(f"DELETE FROM {table} WHERE {id_col} IN (SELECT {id_col} FROM _new)")
    con.execute(f"INSERT INTO {table} SELECT * FROM _new")
    con.execute("DROP TABLE _new")



