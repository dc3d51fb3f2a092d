"""A unit's checks: the rules a flat record's values must pass, the screen that finds the rows
failing them (usually none), and the rejects those rows make (``normalize`` writes the rest).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

# Field checks: (field, SQL true when the value is bad, reason SQL). They read ``_isrc_n``/
# ``_upc_n`` (normalized strings) and ``_isrc_ok``/``_upc_ok`` (their checks). A bad value is
# dropped (NULL) and reported; the record is kept.
VALUE_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "isrc",
        "_isrc_n IS NOT NULL AND NOT _isrc_ok",
        "'ISRC ' || to_json(isrc)::VARCHAR || ' is not CC-XXX-YY-NNNNN'",
    ),
    (
        "upc",
        "_upc_n IS NOT NULL AND NOT _upc_ok",
        "'UPC ' || to_json(upc)::VARCHAR || ' is not a valid UPC/EAN (length or check digit)'",
    ),
    (
        "popularity",
        "popularity IS NOT NULL AND (popularity < 0 OR popularity > 100)",
        "'popularity ' || popularity || ' is outside 0..100'",
    ),
    (
        "duration_ms",
        "duration_ms IS NOT NULL AND (duration_ms < 0 OR duration_ms > 2147483647)",
        "'duration_ms ' || duration_ms || ' is negative or too large'",
    ),
    (
        "disc_number",
        "disc_number IS NOT NULL AND (disc_number < 0 OR disc_number > 32767)",
        "'disc_number ' || disc_number || ' is out of range'",
    ),
    (
        "track_number",
        "track_number IS NOT NULL AND (track_number < 0 OR track_number > 32767)",
        "'track_number ' || track_number || ' is out of range'",
    ),
    (
        "listen_count",
        "listen_count IS NOT NULL AND listen_count < 0",
        "'listen_count ' || listen_count || ' is negative'",
    ),
    (
        "user_count",
        "user_count IS NOT NULL AND user_count < 0",
        "'user_count ' || user_count || ' is negative'",
    ),
    (
        "release_date",
        "release_date IS NOT NULL AND trim(release_date) <> '' AND "
        "NOT regexp_full_match(trim(release_date), '[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?')",
        "'release_date ' || to_json(release_date)::VARCHAR || ' is not YYYY, YYYY-MM or YYYY-MM-DD'",
    ),
)

# The checked values only some rules read: computed once per row, below the rules.
_CHECKED = (
    "*, norm_isrc(isrc) AS _isrc_n, norm_upc(upc) AS _upc_n",
    "*, isrc_ok(_isrc_n) AS _isrc_ok, gtin_ok(_upc_n) AS _upc_ok",
)

# The same rules as filters that find the rows a rule fails, cheapest test first (a filter stops
# at the first test that decides a row; a projection would compute every test of every row).
# Album values repeat on each of an album's rows, so UPCs and dates are checked once per distinct
# value (``_badv``), and rows are then found by value.
# Each is SQL true when the distinct value is bad. A UPC of 8 or 12-14 digits is its own normal
# form, so only its check digit is computed; others go the whole way (0.081 against 0.093 CPU-s
# for the 100k distinct UPCs of 1M synthetic tracks, interleaved).
_BY_VALUE = {
    "upc": "CASE WHEN regexp_full_match(upc, '[0-9]{8}|[0-9]{12,14}') "
    "THEN gtin_sum(upc::BIGINT) % 10 <> 0 "
    "ELSE norm_upc(upc) IS NOT NULL AND NOT gtin_ok(norm_upc(upc)) END",
    "release_date": dict((f, bad) for f, bad, _w in VALUE_RULES)["release_date"],
}
# A row whose ISRC is not already its normal form: a bad ISRC, or one that normalizing fixes. The
# screen keeps both, so that ``_chk`` also says whether any ISRC needs normalizing at all (usually
# none: then the rows are written without their ISRCs' regular expression, ~0.06 CPU-s per 1M).
_ISRC_FIX = "isrc IS NOT NULL AND NOT isrc_ok(isrc)"
_SCREEN = {"isrc": _ISRC_FIX}
_MISSING = (
    "track_key IS NULL OR track_key = '' OR (starts_with(track_key, ' ') AND trim(track_key) = '') "
    "OR title IS NULL OR title = '' OR (starts_with(title, ' ') AND trim(title) = '')"
)

REJECTS_DDL = """
CREATE TABLE IF NOT EXISTS _rejects (
    _unit INTEGER, _ord BIGINT, input VARCHAR, position VARCHAR, reason VARCHAR,
    kind VARCHAR, field VARCHAR, value VARCHAR
);
CREATE TABLE IF NOT EXISTS _unit_counts (
    _unit INTEGER, unit VARCHAR, records_read BIGINT, records_rejected BIGINT, values_rejected BIGINT,
    position_word VARCHAR
);
"""


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The one integer ``sql`` selects (0 for NULL)."""
    return int(con.execute(sql).fetchall()[0][0] or 0)


def check(con: duckdb.DuckDBPyConnection, columns: set[str], album_only: str, pos: str) -> None:
    """``_chk``: the rows with a record problem or a bad value, with the reasons.

    A cheap screen finds those rows (usually none); the rules and their reasons then run on
    those rows only, as they are written (``VALUE_RULES``)."""
    reader = "len(coalesce(_problems, [])) > 0" if "_problems" in columns else "false"
    missing = (
        f"CASE WHEN {album_only} THEN (album_key IS NULL OR trim(album_key) = '') "
        "ELSE (track_key IS NULL OR trim(track_key) = '' OR title IS NULL OR trim(title) = '') END"
    )
    screen_missing = f"({_MISSING})" if album_only == "false" else f"({album_only} OR {_MISSING})"
    rules = {f: bad for f, bad, _w in VALUE_RULES}
    screens = [reader, screen_missing] if reader != "false" else [screen_missing]
    for f, bad in rules.items():
        if f in _BY_VALUE:
            # A projection, not a filter: as a filter, DuckDB spent 5-40 x longer on the
            # GTIN rule (measured on 100k distinct UPCs).
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _badv_{f} AS
                SELECT {f}, ({_BY_VALUE[f]}) AS bad
                FROM (SELECT DISTINCT {f} FROM _in WHERE {f} IS NOT NULL)""")
            if scalar(con, f"SELECT count(*) FILTER (bad) FROM _badv_{f}"):
                screens.append(f"{f} IN (SELECT {f} FROM _badv_{f} WHERE bad)")
        else:
            screens.append(f"({_SCREEN.get(f, bad)})")
    problem = f"""CASE {"WHEN " + reader + " THEN array_to_string(_problems, '; ')" if reader != "false" else ""}
        WHEN {album_only} THEN 'missing album_key'
        WHEN track_key IS NULL OR trim(track_key) = '' THEN 'missing track_key'
        ELSE 'missing title' END"""
    flags = ", ".join(f"({bad}) AS _b_{f}" for f, bad in rules.items())
    any_bad = " OR ".join(f"_b_{f}" for f in rules)
    reasons = ", ".join(
        f"CASE WHEN _b_{f} THEN {why} END AS _bad_{f}" for f, _b, why in VALUE_RULES
    )
    screen = " OR ".join(screens)
    # Usually no row passes the screen: counting them reads only the screened columns (the
    # statement below reads every checked column of every row first), 0.02 CPU-s per 1M rows.
    none = "" if scalar(con, f"SELECT count(*) FROM _in WHERE {screen}") else "LIMIT 0"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _chk AS
        SELECT _ord, _pos, CASE WHEN _p THEN {problem} END AS _problem, {reasons}, _isrc_fix,
               _p OR {any_bad} AS _flagged
        FROM (SELECT *, ({reader}) OR ({missing}) AS _p, {flags}, coalesce({_ISRC_FIX}, false) AS _isrc_fix
              FROM (SELECT {_CHECKED[1]} FROM (SELECT {_CHECKED[0]} FROM (
                  SELECT *, rowid + 1 AS _ord, {pos} AS _pos FROM _in
                  WHERE {screen}))))
        WHERE _p OR {any_bad} OR _isrc_fix {none}""")


def write_rejects(
    con: duckdb.DuckDBPyConnection,
    unit_no: int,
    input_name: str,
    word: str,
    exact: Callable[[], bool] | None,
    pos: str,
    dropped: int,
    flagged: int,
) -> int:
    """Rejected records and dropped values of the unit into ``_rejects``; returns the values."""
    if not dropped and not flagged:  # (``_chk`` may hold ISRCs to normalize only)
        return 0
    if exact is not None and not exact():
        word = "record"
    inp = sql_literal(input_name)
    con.execute(f"""
        INSERT INTO _rejects
        SELECT {unit_no}, d._ord, {inp}, coalesce(p._pos, '{word} ' || d._ord), d.reason, 'record', NULL, NULL
        FROM _drop d LEFT JOIN (SELECT rowid + 1 AS _ord, {pos} AS _pos FROM _in
                                WHERE rowid + 1 IN (SELECT _ord FROM _drop)) p USING (_ord)""")
    # A bad value shared by the rows of one record (a release's UPC on each of its tracks) is
    # reported once per record; values of dropped records are not reported.
    return scalar(
        con,
        "INSERT INTO _rejects SELECT * EXCLUDE (_rec) FROM ("
        + " UNION ALL ".join(
            f"""SELECT {unit_no} AS _unit, _ord, {inp} AS input, coalesce(_pos, '{word} ' || _ord) AS position,
                   _bad_{f} AS reason, 'value' AS kind, '{f}' AS field, NULL::VARCHAR AS value,
                   coalesce(_pos, _ord::VARCHAR) AS _rec
            FROM _chk WHERE _bad_{f} IS NOT NULL AND _ord NOT IN (SELECT _ord FROM _drop)"""
            for f, *_ in VALUE_RULES
        )
        + ") QUALIFY row_number() OVER (PARTITION BY _rec, field ORDER BY _ord) = 1",
    )
