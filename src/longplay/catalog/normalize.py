"""One ingest unit's flat records: validated and written straight into the catalog tables.

A unit's records arrive in the temp table ``_in`` (see ``ingest.Loader``). In the unit's
transaction they are checked and normalized in SQL and written to ``tracks``, ``albums``,
``artists`` and their link tables, so each record is materialized once, in its final table (an
earlier design staged every record and merged at the end: twice the writes). The cross-unit
rules hold because units are applied in input order and each looks at what earlier units of
the same generation wrote:

- a track key repeated within the ingest: the first occurrence wins; a later record containing
  it is dropped whole (all rows sharing its ``_pos``) and rejected;
- an album takes its values from its first row in input order, and its artist credit and its
  genres from the first row that has them;
- an artist credited with and without an MBID keeps the MBID, else its first credit wins;
- a row of an older generation whose ID this ingest writes is replaced (newest wins), once for
  the whole ingest (``replace``), not per unit.

Checks (``checks``) run as a narrow pass that keeps only the rows with a problem (usually none),
so a clean unit costs one scan for checks and one per target table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np

from longplay.catalog.checks import (
    REJECTS_DDL,
    VALUE_RULES,
    check,
    scalar,
    sql_literal,
    write_rejects,
)
from longplay.catalog.identity import own_label
from longplay.catalog.seen import KeyHashes

# A value's normalized form where its rule passed (the others keep the value as it is); where
# it failed, the value is NULL. Equal to normalizing only valid values, without the regexes. A
# well-formed ISRC is its own normal form, so only the others are normalized (3 x cheaper).
_CHEAP = {
    "isrc": "CASE WHEN isrc_ok(isrc) THEN isrc ELSE norm_isrc(isrc) END",
    "upc": "norm_upc(upc)",
    "release_date": "nullif(trim(release_date), '')",
}

# A credit with a name that is not blank (``trim(a.name) <> ''``): trimming only names that
# start with a space, since trimming every credit's name cost ~0.3 CPU-s per 1M credits.
_NAMED = "a.name <> '' AND (NOT starts_with(a.name, ' ') OR trim(a.name) <> '')"

# ``trim(x)``, calling trim only where there is a space to remove (a CASE computes its THEN
# for the rows it selects only): 0.3 CPU-s per 1M titles less.
_TRIMMED = "CASE WHEN starts_with({0}, ' ') OR ends_with({0}, ' ') THEN trim({0}) ELSE {0} END"


@dataclass
class UnitResult:
    read: int
    rejected: int
    values: int


class Normalizer:
    """Applies units of one source to one generation (see the module docstring)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: str, generation: int):
        self.con = con
        self.source = source
        self.gen = generation
        self.key = sql_literal(source + ":")
        con.execute(REJECTS_DDL)
        # The track keys this ingest wrote (a resumed one finds its earlier units' keys here).
        self._seen = KeyHashes()
        self._seen.add(
            con.execute(
                f"SELECT hash(source_key) AS h FROM tracks WHERE generation = {generation} AND source = ?",
                [source],
            ).fetchnumpy()["h"]
        )
        # The IDs of the albums this generation holds, likewise.
        self._albums_seen = KeyHashes()
        self._albums_seen.add(
            con.execute(f"SELECT album_id FROM albums WHERE generation = {generation}")
            .fetchnumpy()["album_id"]
            .view(np.uint64)
        )

    def _one(self, sql: str) -> int:
        return scalar(self.con, sql)

    # -- checks ---------------------------------------------------------------------------------
    def _duplicates(self, album_only: str, pos: str) -> int:
        """``_drop``: rows of records rejected whole, with the reason; returns how many."""
        con = self.con
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _drop AS
            SELECT _ord, _problem AS reason FROM _chk WHERE _problem IS NOT NULL""")
        # A track key seen twice in this unit, or already written by an earlier unit of this
        # generation. Rows with a record problem do not count as occurrences.
        # By key, not by ID: within one source a track's ID is a function of its key, and
        # grouping short keys is cheaper than making an MD5 of each.
        ids = f"""SELECT rowid + 1 AS _ord, {pos} AS _pos, track_key
                FROM _in WHERE NOT {album_only} AND track_key IS NOT NULL
                  AND rowid + 1 NOT IN (SELECT _ord FROM _drop)"""
        # Earlier units' keys are looked up by hash in memory (seen.py), and only the keys whose
        # hash was seen (usually none) are confirmed against the generation's tracks: reading
        # every earlier track's key made each unit's cost grow with the catalog. (The hashes
        # are fetched, not kept in a table: a table of the unit's keys cost 0.1 GiB more.)
        self._hashes = con.execute(f"SELECT hash(track_key) AS h FROM ({ids})").fetchnumpy()["h"]
        candidates = np.unique(self._hashes[self._seen.contains(self._hashes)])
        if len(candidates):
            # (A list parameter, not an Arrow table: importing pyarrow alone added ~50 MB of
            # RSS to an ingest that had no other use for it; candidates are usually few.)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _cand AS SELECT unnest(?::UBIGINT[]) AS h",
                [candidates.tolist()],
            )
            earlier = f"""SELECT source_key AS track_key FROM tracks
                WHERE generation = {self.gen} AND source = {sql_literal(self.source)}
                  AND source_key IN (SELECT track_key FROM ids WHERE hash(track_key) IN (SELECT h FROM _cand))"""
        else:
            earlier = "SELECT NULL::VARCHAR AS track_key WHERE false"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _dups AS
            WITH ids AS ({ids}),
            twice AS (SELECT track_key FROM ids GROUP BY track_key HAVING count(*) > 1),
            earlier AS ({earlier})
            SELECT _ord, coalesce(_pos, _ord::VARCHAR) AS _rec, track_key FROM (
                SELECT *, track_key IN (SELECT track_key FROM earlier) AS seen,
                       row_number() OVER (PARTITION BY track_key ORDER BY _ord) AS n
                FROM ids WHERE track_key IN (SELECT track_key FROM twice UNION ALL SELECT track_key FROM earlier))
            WHERE seen OR n > 1""")
        self._ids = ids
        if self._one("SELECT count(*) FROM _dups"):
            con.execute(f"""
                INSERT INTO _drop
                SELECT i._ord,
                       CASE WHEN d._ord IS NOT NULL
                            THEN 'duplicate track_key ' || to_json(d.track_key)::VARCHAR || ' (first occurrence kept)'
                            ELSE 'dropped with its record, which repeats an earlier track_key' END
                FROM (SELECT rowid + 1 AS _ord, coalesce({pos}, (rowid + 1)::VARCHAR) AS _rec FROM _in) i
                LEFT JOIN _dups d USING (_ord)
                WHERE i._rec IN (SELECT _rec FROM _dups) AND i._ord NOT IN (SELECT _ord FROM _drop)""")
        return self._one("SELECT count(*) FROM _drop")

    # -- the rows a unit keeps ------------------------------------------------------------------
    def _rows_view(self, album_only: str, pos: str, dropping: bool) -> None:
        """``_rows``: the unit's kept rows, normalized, with their IDs (a view: each insert
        computes only the columns it reads).

        ``checks.check`` already ran every rule, so a value is normalized cheaply here and NULL
        only where ``_chk`` found it bad: the regular expressions run once per row, not per table.
        """
        *counts, fix, flagged = self.con.execute(
            "SELECT "
            + ", ".join(f"count(_bad_{f})" for f, *_ in VALUE_RULES)
            + ", count(*) FILTER (_isrc_fix), count(*) FILTER (_flagged) FROM _chk"
        ).fetchall()[0]
        self._flagged = flagged
        values = []
        for (f, *_), bad in zip(VALUE_RULES, counts, strict=True):
            # (No ISRC that normalizing changes: each is its own normal form, or NULL.)
            value = _CHEAP.get(f, f) if f != "isrc" or fix else f
            if bad:
                value = f"CASE WHEN _ord IN (SELECT _ord FROM _chk WHERE _bad_{f} IS NOT NULL) THEN NULL ELSE {value} END"
            values.append(f"{value} AS {f}")
        album_key = """CASE WHEN coalesce(album_key, album_title) IS NOT NULL THEN
            coalesce(album_key, album_title || '|' || coalesce(album_artists[1].name, artists[1].name, '')) END"""
        # Most inputs key every album: then the key is the column itself, and the artist lists
        # need not be read for it (that expression costs ~0.2 CPU-s per 1M rows each time).
        if not self._one(
            "SELECT count(*) FROM _in WHERE album_key IS NULL AND album_title IS NOT NULL"
        ):
            album_key = "album_key"
        self._album_key = album_key
        self._keep = "_ord NOT IN (SELECT _ord FROM _drop)" if dropping else "true"
        self._values = ", ".join(values)
        self._inner = (
            f"SELECT *, rowid + 1 AS _ord, {pos} AS _at, {album_only} AS _album_row, "
            f"{album_key} AS _album_key FROM _in"
        )
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW _rows AS {self._rows_sql('true')}")

    def _rows_sql(self, where: str) -> str:
        """The kept rows of ``_in`` that ``where`` selects (SQL on ``_in``, e.g. by ``rowid``),
        normalized, with their IDs: selecting before normalizing computes only those rows."""
        key = self.key
        return f"""
            SELECT * REPLACE ({self._values}),
                   stable_id({key} || 'track:' || track_key) AS track_id,
                   CASE WHEN _album_key IS NOT NULL THEN stable_id({key} || 'album:' || _album_key) END AS album_id
            FROM ({self._inner} WHERE {where})
            WHERE {self._keep}"""

    # -- writes ---------------------------------------------------------------------------------
    def _write(self) -> None:
        con, g, src = self.con, self.gen, sql_literal(self.source)
        named = _NAMED
        # Albums and artists first: their IDs, one per album and artist, are joined to the
        # tracks and credits below (cheaper than an MD5 of each row's key: ~0.1 CPU-s per 1M each).
        self._albums()
        self._artists(named)
        con.execute(f"""
            INSERT INTO tracks
            SELECT track_id, _aid, {_TRIMMED.format("title")}, disc_number::SMALLINT, track_number::SMALLINT,
                   duration_ms::INTEGER, explicit, isrc, lower(mbid),
                   coalesce(popularity, CASE WHEN listen_count IS NOT NULL
                            THEN popularity_from_listens(listen_count) END)::SMALLINT,
                   listen_count, user_count,
                   -- identity's answer for a track that shares no key (most tracks), so that it
                   -- only has to update the others (identity.py)
                   {own_label(mbid="lower(mbid)")}, true,
                   lower(trim(license)), {src}, track_key, {g}
            FROM _rows LEFT JOIN (SELECT _album_key AS _ak, album_id AS _aid FROM _albk) ON _ak = _album_key
            WHERE NOT _album_row""")
        # Every credit named here is one of _art's artists (_art groups the same credits).
        con.execute(f"""
            INSERT INTO track_artists
            SELECT track_id, r.artist_id, pos::SMALLINT, coalesce(a.join_phrase, '')
            FROM (SELECT track_id, unnest(artists) AS a, generate_subscripts(artists, 1) AS pos
                  FROM _rows WHERE NOT _album_row AND artists IS NOT NULL)
            JOIN _art r ON r.source_key = coalesce(a.key, a.name)
            WHERE {named}""")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _genre_names AS
            SELECT DISTINCT lower(trim(g)) AS name FROM (
                SELECT unnest(genres) AS g FROM _rows WHERE NOT _album_row AND genres IS NOT NULL
                UNION ALL SELECT unnest(album_genres) FROM _albr WHERE _ord IN (SELECT _genres FROM _alb))
            WHERE trim(g) <> ''""")
        con.execute("""INSERT INTO genres SELECT stable_id('genre:' || name), name FROM _genre_names
                       WHERE stable_id('genre:' || name) NOT IN (SELECT genre_id FROM genres)""")
        con.execute("""
            INSERT INTO track_genres
            SELECT DISTINCT track_id, stable_id('genre:' || lower(trim(g)))
            FROM (SELECT track_id, unnest(genres) AS g FROM _rows WHERE NOT _album_row AND genres IS NOT NULL)
            WHERE trim(g) <> ''""")

    def _albums(self) -> None:
        con, key, g, src = self.con, self.key, self.gen, sql_literal(self.source)
        # The unit's albums that no earlier unit of this generation wrote, with the rows they take
        # their values, artist credit and genres from: the first row, and the first that has one.
        # Finding rows by ordinal and reading only those is cheaper than aggregating wide values.
        # Grouped by the album's key, not its ID: short keys group faster than MD5s are made,
        # and only each album's one ID is computed.
        # Every album of the unit's kept rows is in _albk (its tracks take their album ID from
        # it); _alb holds those to write.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _albk AS
            SELECT stable_id({key} || 'album:' || _album_key) AS album_id, _album_key, min(_ord) AS _first
            FROM (SELECT rowid + 1 AS _ord, {self._album_key} AS _album_key FROM _in)
            WHERE _album_key IS NOT NULL AND {self._keep}
            GROUP BY _album_key""")
        # The albums written by earlier units (seen.py): an album ID is the album, so the set's
        # answer is exact, and the generation's albums are not read (that grew with the catalog).
        ids = con.execute("SELECT album_id FROM _albk").fetchnumpy()["album_id"]
        written = self._albums_seen.contains(ids.view(np.uint64))
        earlier = "false"
        if written.any():
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _alb_old AS SELECT unnest(?::BIGINT[]) AS album_id",
                [ids[written].tolist()],
            )
            earlier = "album_id IN (SELECT album_id FROM _alb_old)"
        self._album_ids = ids[~written]
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _albf AS
            SELECT album_id, _album_key, _first FROM _albk WHERE NOT ({earlier})""")
        cols = """_ord, album_id, _album_key, album_title, album_type, release_date, label, upc,
                  total_tracks, album_mbid, album_artists, album_genres"""
        # (a bare ``rowid IN`` is a filter DuckDB applies in the scan; ``rowid + 1 IN`` was 2-20 x slower)
        rows = self._rows_sql("rowid IN (SELECT _first - 1 FROM _albf)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _albr AS SELECT {cols} FROM ({rows})")
        # The first row usually has the credit and the genres too: the credit lists of every row
        # are read (0.05 CPU-s per 1M rows) only for the albums whose first row lacks one.
        lacking = "album_artists IS NULL OR NOT coalesce(len(album_genres) > 0, false)"
        if self._one(f"SELECT count(*) FROM _albr WHERE {lacking}"):
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _late AS
                SELECT _album_key, min(_ord) FILTER (WHERE album_artists IS NOT NULL) AS _credit,
                       min(_ord) FILTER (WHERE len(album_genres) > 0) AS _genres
                FROM (SELECT rowid + 1 AS _ord, {self._album_key} AS _album_key, album_artists, album_genres
                      FROM _in)
                WHERE {self._keep} AND _album_key IN (SELECT _album_key FROM _albr WHERE {lacking})
                GROUP BY _album_key""")
            con.execute("""
                CREATE OR REPLACE TEMP TABLE _alb AS
                SELECT f.album_id, f._first,
                       CASE WHEN r.album_artists IS NOT NULL THEN f._first ELSE l._credit END AS _credit,
                       CASE WHEN len(r.album_genres) > 0 THEN f._first ELSE l._genres END AS _genres
                FROM _albf f JOIN _albr r ON r._ord = f._first LEFT JOIN _late l ON l._album_key = f._album_key""")
            rows = self._rows_sql(
                "rowid IN (SELECT _credit - 1 FROM _alb WHERE _credit <> _first "
                "UNION ALL SELECT _genres - 1 FROM _alb WHERE _genres <> _first)"
            )
            con.execute(f"INSERT INTO _albr SELECT {cols} FROM ({rows})")
        else:
            con.execute("""
                CREATE OR REPLACE TEMP TABLE _alb AS
                SELECT album_id, _first, _first AS _credit, _first AS _genres FROM _albf""")
        con.execute(f"""
            INSERT INTO albums
            SELECT album_id, coalesce(album_title, _album_key), album_type, release_date,
                   TRY_CAST(left(release_date, 4) AS SMALLINT), label, upc, total_tracks, lower(album_mbid),
                   {src}, _album_key, {g}
            FROM _albr WHERE _ord IN (SELECT _first FROM _alb)""")
        con.execute(f"""
            INSERT INTO album_artists
            SELECT album_id, stable_id({key} || 'artist:' || coalesce(a.key, a.name)), pos::SMALLINT,
                   coalesce(a.join_phrase, '')
            FROM (SELECT album_id, unnest(album_artists) AS a, generate_subscripts(album_artists, 1) AS pos
                  FROM _albr WHERE _ord IN (SELECT _credit FROM _alb))
            WHERE {_NAMED}""")
        con.execute("""
            INSERT INTO album_genres
            SELECT DISTINCT album_id, stable_id('genre:' || lower(trim(g)))
            FROM (SELECT album_id, unnest(album_genres) AS g FROM _albr WHERE _ord IN (SELECT _genres FROM _alb))
            WHERE trim(g) <> ''""")

    def _artists(self, named: str) -> None:
        """Artists credited in the unit: one row each, ordered by a single integer (credits with
        an MBID first, then input order: row, track before album credit, position)."""
        con, key, g, src = self.con, self.key, self.gen, sql_literal(self.source)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _art AS
            SELECT stable_id({key} || 'artist:' || source_key) AS artist_id, * FROM (
                SELECT coalesce(a.key, a.name) AS source_key, arg_min({{'name': a.name, 'mbid': a.mbid}}, o) AS first
                FROM (SELECT a, ((a.mbid IS NULL)::BIGINT << 62) + (_ord << 12) + (_list << 11) + least(_k, 2047) AS o
                      FROM (SELECT unnest(artists) AS a, generate_subscripts(artists, 1) AS _k, _ord, 0 AS _list
                            FROM _rows WHERE artists IS NOT NULL
                            UNION ALL
                            SELECT unnest(album_artists), generate_subscripts(album_artists, 1), _ord, 1
                            FROM _rows WHERE album_artists IS NOT NULL))
                WHERE {named} GROUP BY 1)""")
        # An earlier unit's row gives way only to a credit with an MBID where it had none (an
        # older generation's row gives way to this generation's at finalize: replace.py).
        con.execute(f"""
            DELETE FROM artists WHERE artist_id IN (SELECT artist_id FROM _art)
              AND generation = {g} AND mbid IS NULL
              AND artist_id IN (SELECT artist_id FROM _art WHERE first.mbid IS NOT NULL)""")
        con.execute(f"""
            INSERT INTO artists
            SELECT artist_id, first.name, NULL, lower(first.mbid), {src}, source_key, {g} FROM _art
            WHERE artist_id NOT IN (SELECT artist_id FROM artists WHERE generation = {g} AND source = {src})""")

    # -- the unit -------------------------------------------------------------------------------
    def apply(
        self,
        unit_no: int,
        name: str,
        input_name: str,
        position_word: str,
        exact_positions: Callable[[], bool] | None = None,
    ) -> UnitResult:
        """Check ``_in``, write its kept rows, log its rejects; the caller holds the transaction.

        ``name`` is the unit's resume key, ``input_name`` what rejects name. ``exact_positions``
        returning False makes positions "record N" (the reader's ordinals do not count position
        words); it is asked only when the unit has rejects, since it may cost a pass over the input.
        """
        con = self.con
        columns = {r[0] for r in con.execute("DESCRIBE _in").fetchall()}
        pos = "_pos" if "_pos" in columns else "NULL::VARCHAR"
        album_only = "coalesce(_album_only, false)" if "_album_only" in columns else "false"
        check(self.con, columns, album_only, pos)
        rejected = self._duplicates(album_only, pos)
        self._rows_view(album_only, pos, dropping=rejected > 0)
        self._write()
        # The keys written to ``tracks``: the unit's keys but those of dropped records. (Added
        # before the caller commits: a unit that fails ends the run, and a rerun makes a new
        # Normalizer, which reads the keys back from the tracks.)
        kept = self._hashes
        if rejected:
            kept = self.con.execute(
                f"SELECT hash(track_key) AS h FROM ({self._ids}) WHERE _ord NOT IN (SELECT _ord FROM _drop)"
            ).fetchnumpy()["h"]
        self._seen.add(kept)
        self._albums_seen.add(self._album_ids.view(np.uint64))
        read = self._one("SELECT count(*) FROM _in")
        values = write_rejects(
            self.con,
            unit_no,
            input_name,
            position_word,
            exact_positions,
            pos,
            rejected,
            self._flagged,
        )
        con.execute(
            "INSERT INTO _unit_counts VALUES (?, ?, ?, ?, ?, ?)",
            [unit_no, name, read, rejected, values, position_word],
        )
        return UnitResult(read, rejected, values)

    def cleanup(self) -> None:
        """Drop the unit's temp tables (``_rows`` reads ``_in``, which the caller drops)."""
        self.con.execute("DROP VIEW IF EXISTS _rows")
        for t in (
            "_chk",
            "_badv_upc",
            "_badv_release_date",
            "_drop",
            "_dups",
            "_cand",
            "_genre_names",
            "_albk",
            "_albf",
            "_alb_old",
            "_late",
            "_alb",
            "_albr",
            "_art",
        ):
            self.con.execute(f"DROP TABLE IF EXISTS {t}")
