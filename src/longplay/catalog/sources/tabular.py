"""Generic tabular exports (JSON lines, CSV, Parquet, SQLite) mapped onto catalog fields by TOML.

A mapping names the source and, for each catalog field, the column that holds it::

    [source]
    name = "netlabel"            # provenance: the source name IDs are derived from
    table = "tracks"             # SQLite only: the table (or give `query = "SELECT ..."`)

    [fields]
    track_key = "id"             # required
    title = "name"               # required
    artists = "artist"           # names; split on options.artist_separator
    album_title = "album"
    isrc = "isrc"
    duration = "length"          # see options.duration_unit

    [options]
    artist_separator = ";"
    duration_unit = "s"          # "ms" (default) or "s"

Fields: every flat-record field (docs/sources.md) plus ``artists``/``album_artists`` as plain
name columns and ``duration`` (with ``duration_unit``). A value that cannot be converted to its
field's type is a record reject naming the column and the value.
"""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from longplay.catalog.checks import sql_literal
from longplay.catalog.ingest import Unit
from longplay.catalog.schema import FLAT_COLUMNS
from longplay.errors import InputError

_TYPE_WORDS = {"BIGINT": "an integer", "INTEGER": "an integer", "BOOLEAN": "true or false"}
_NAME_LISTS = ("artists", "album_artists", "genres", "album_genres")
EXTRA_FIELDS = ("duration",)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_mapping(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: mapping file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    unknown_sections = set(data) - {"source", "fields", "options"}
    if unknown_sections:
        raise InputError(
            f"{path}: unknown section(s) {sorted(unknown_sections)} (expected source, fields, options)"
        )
    fields = data.get("fields", {})
    allowed = set(FLAT_COLUMNS) | set(EXTRA_FIELDS)
    for key, col in fields.items():
        if key not in allowed:
            raise InputError(
                f"{path}: unknown catalog field {key!r} in [fields] (known: {', '.join(sorted(allowed))})"
            )
        if not isinstance(col, str) or not col:
            raise InputError(f"{path}: field {key!r} must name a source column")
    for req in ("track_key", "title"):
        if req not in fields:
            raise InputError(f"{path}: [fields] must map {req!r}")
    source = data.get("source", {})
    if not isinstance(source.get("name", ""), str) or not source.get("name"):
        raise InputError(
            f"{path}: [source] name is required (it is the provenance of every record)"
        )
    opts = data.get("options", {})
    if opts.get("duration_unit", "ms") not in ("ms", "s"):
        raise InputError(f"{path}: options.duration_unit must be 'ms' or 's'")
    return {"source": source, "fields": fields, "options": opts}


def _select(mapping: dict[str, Any], columns: set[str], input_name: str) -> str:
    """SQL over the raw relation ``_raw`` producing flat records with ``_problems``."""
    fields = mapping["fields"]
    opts = mapping["options"]
    sep = str(opts.get("artist_separator", ";")).replace("'", "''")
    for key, col in fields.items():
        if col not in columns:
            raise InputError(
                f"{input_name}: mapped column {col!r} (for {key!r}) is not in the input "
                f"(columns: {', '.join(sorted(columns))})"
            )
    exprs: list[str] = []
    checks: list[str] = []
    for name, sql_type in FLAT_COLUMNS.items():
        col = fields.get(name)
        if name == "duration_ms" and col is None and "duration" in fields:
            col = fields["duration"]
            scale = "1000" if opts.get("duration_unit", "ms") == "s" else "1"
            raw = f"TRY_CAST({_q(col)} AS DOUBLE)"
            # TRY_CAST: 1e25 seconds, inf or nan are one record's problem, not the ingest's.
            ms = f"TRY_CAST(round({raw} * {scale}) AS BIGINT)"
            exprs.append(f"{ms} AS duration_ms")
            said = f"{sql_literal(f'column {col!r} (duration): ')} || to_json({_q(col)}::VARCHAR)"
            checks.append(
                f"CASE WHEN {_q(col)} IS NOT NULL AND {raw} IS NULL THEN {said} || ' is not a number' "
                f"WHEN {raw} IS NOT NULL AND {ms} IS NULL THEN {said} || ' is out of range' END"
            )
            continue
        if col is None:
            exprs.append(f"NULL::{sql_type} AS {name}")
            continue
        if name in _NAME_LISTS:
            parts = f"list_filter(list_transform(string_split({_q(col)}::VARCHAR, '{sep}'), lambda x: trim(x)), lambda x: x <> '')"
            if name in ("artists", "album_artists"):
                exprs.append(f"""list_transform({parts}, lambda x: {{'key': x, 'name': x, 'mbid': NULL::VARCHAR,
                                 'join_phrase': NULL::VARCHAR}})::{sql_type} AS {name}""")
            else:
                exprs.append(f"{parts} AS {name}")
            continue
        exprs.append(f"TRY_CAST({_q(col)} AS {sql_type}) AS {name}")
        if sql_type != "VARCHAR":
            checks.append(
                f"CASE WHEN {_q(col)} IS NOT NULL AND TRY_CAST({_q(col)} AS {sql_type}) IS NULL THEN "
                f"{sql_literal(f'column {col!r} ({name}): ')} || to_json({_q(col)}::VARCHAR) || "
                f"{sql_literal(f' is not {_TYPE_WORDS.get(sql_type, sql_type.lower())}')} END"
            )
    problems = (
        f"list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)"
        if checks
        else "NULL::VARCHAR[]"
    )
    return f"SELECT {', '.join(exprs)}, {problems} AS _problems FROM _raw"


def unit(path: Path, mapping: dict[str, Any]) -> Unit:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    kind = {
        ".jsonl": "json",
        ".ndjson": "json",
        ".json": "json",
        ".csv": "csv",
        ".tsv": "csv",
        ".parquet": "parquet",
        ".sqlite": "sqlite",
        ".sqlite3": "sqlite",
        ".db": "sqlite",
    }.get(suffix)
    if kind is None:
        raise InputError(
            f"{path}: unknown input format {suffix!r} (use .jsonl, .csv, .parquet or .sqlite)"
        )

    def load(con: duckdb.DuckDBPyConnection) -> None:
        pos_word = "row" if kind in ("parquet", "sqlite") else "line"
        try:
            if kind == "json":
                raw = "SELECT * FROM read_json(?, format='newline_delimited', ignore_errors=false)"
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _rawp AS SELECT row_number() OVER () AS _n, * FROM ({raw})",
                    [str(path)],
                )
            elif kind == "csv":
                con.execute(
                    """CREATE OR REPLACE TEMP TABLE _rawp AS SELECT row_number() OVER () AS _n, *
                               FROM read_csv(?, all_varchar=true, header=true)""",
                    [str(path)],
                )
            elif kind == "parquet":
                con.execute(
                    """CREATE OR REPLACE TEMP TABLE _rawp AS SELECT file_row_number + 1 AS _n, *
                               FROM read_parquet(?, file_row_number=true)""",
                    [str(path)],
                )
            else:
                con.register("_sqlite", _read_sqlite(path, mapping))
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE _rawp AS SELECT row_number() OVER () AS _n, * FROM _sqlite"
                )
                con.unregister("_sqlite")
        except duckdb.Error as exc:
            raise InputError(f"{path}: cannot read as {kind}: {str(exc).splitlines()[0]}") from None
        columns = {r[0] for r in con.execute("DESCRIBE _rawp").fetchall()} - {"_n"}
        con.execute("CREATE OR REPLACE TEMP VIEW _raw AS SELECT * FROM _rawp")
        select = _select(mapping, columns, str(path))
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _in AS
                        SELECT * EXCLUDE (_n), '{pos_word} ' || (_n + {1 if kind == "csv" else 0}) AS _pos
                        FROM ({select.replace("FROM _raw", ", _n FROM _raw")})""")
        con.execute("DROP VIEW _raw")
        con.execute("DROP TABLE _rawp")

    return Unit(name=f"{path.resolve()}", input=str(path), load=load, size=1)


def _read_sqlite(path: Path, mapping: dict[str, Any]) -> pa.Table:
    src = mapping["source"]
    query = src.get("query") or (f"SELECT * FROM {_q(src['table'])}" if src.get("table") else None)
    if query is None:
        raise InputError(
            f'{path}: a SQLite input needs [source] table = "..." or query = "..." in its mapping'
        )
    uri = f"file:{path.resolve()}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            cur = con.execute(query)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(f"{path}: SQLite query failed: {exc}") from None
    # Keep SQLite's dynamic types honest: everything as text, converted by the mapping's casts.
    cols: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table(
        {
            n: pa.array([None if v is None else str(v) for v in c], pa.string())
            for n, c in zip(names, cols, strict=True)
        }
    )
