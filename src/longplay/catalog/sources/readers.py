"""Readers of flat track records from JSON lines and Parquet, as ingest units.

JSON lines are read by DuckDB with the declared column types (the fast path). When DuckDB
refuses a file (malformed JSON, a value of the wrong type), the file is read again line by line
with orjson: good lines are kept, and each bad line becomes a record carrying its problem, so it
is rejected with its line number while the rest of the file goes in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import orjson

from longplay.catalog.ingest import Unit
from longplay.catalog.schema import FLAT_COLUMNS
from longplay.errors import InputError

_COLUMNS_SQL = "{" + ", ".join(f"'{k}': '{v}'" for k, v in FLAT_COLUMNS.items()) + "}"
_ARTIST_FIELDS = ("key", "name", "mbid", "join_phrase")


def _file_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def jsonl_unit(path: Path, name_prefix: str = "", work_dir: Path | None = None) -> Unit:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")

    def load(con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE _in AS
                SELECT * FROM read_json(?, format='newline_delimited', columns={_COLUMNS_SQL})""",
                [str(path)],
            )
            return
        except (duckdb.InvalidInputException, duckdb.ConversionException):
            pass
        clean = _clean_copy(path, work_dir or path.parent)
        try:
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE _in AS
                SELECT * EXCLUDE (_line), 'line ' || _line AS _pos
                FROM read_json(?, format='newline_delimited',
                               columns={_COLUMNS_SQL[:-1]}, '_line': 'BIGINT', '_problems': 'VARCHAR[]'}})
                """,
                [str(clean)],
            )
        finally:
            clean.unlink(missing_ok=True)

    return Unit(
        name=f"{name_prefix}{path.name}",
        input=str(path),
        load=load,
        size=max(1, path.stat().st_size // 200),
        position_word="line",
        exact_positions=lambda: not _has_blank_lines(path),
    )


def _has_blank_lines(path: Path) -> bool:
    """True when the file has an empty line: DuckDB skips those, so record ordinals are not line
    numbers (the rejects then say "record N")."""
    with open(path, "rb") as fh:
        tail = b""
        while chunk := fh.read(1 << 22):
            block = tail + chunk
            if b"\n\n" in block or block.startswith(b"\n"):
                return True
            tail = block[-1:]
    return False


def _check(value: Any, sql_type: str) -> bool:
    if value is None:
        return True
    if sql_type == "VARCHAR":
        return isinstance(value, str)
    if sql_type in ("BIGINT", "INTEGER"):
        bits = 63 if sql_type == "BIGINT" else 31
        return (
            isinstance(value, int) and not isinstance(value, bool) and -(2**bits) <= value < 2**bits
        )
    if sql_type == "BOOLEAN":
        return isinstance(value, bool)
    if sql_type == "VARCHAR[]":
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    if sql_type.startswith("STRUCT"):
        return isinstance(value, list) and all(
            isinstance(a, dict) and all(isinstance(a.get(f), str | None) for f in _ARTIST_FIELDS)
            for a in value
        )
    return True


_TYPE_WORDS = {
    "VARCHAR": "a string",
    "BIGINT": "a 64-bit integer",
    "INTEGER": "a 32-bit integer",
    "BOOLEAN": "true or false",
    "VARCHAR[]": "a list of strings",
}


def clean_record(obj: Any) -> tuple[dict[str, Any], list[str]]:
    """Keep the declared fields of a decoded line; report (and null) values of the wrong type."""
    if not isinstance(obj, dict):
        return {}, [f"a JSON {type(obj).__name__}, not an object"]
    out: dict[str, Any] = {}
    problems = []
    for name, sql_type in FLAT_COLUMNS.items():
        value = obj.get(name)
        if _check(value, sql_type):
            out[name] = value
        else:
            want = _TYPE_WORDS.get(sql_type, "a list of {key, name, mbid, join_phrase} objects")
            problems.append(
                f"field {name!r} should be {want}, got {orjson.dumps(value)[:60].decode()}"
            )
    return out, problems


def _clean_copy(path: Path, work_dir: Path) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    out = work_dir / f".clean-{os.getpid()}-{path.name}"
    with open(path, "rb") as src, open(out, "wb") as dst:
        for line_no, line in enumerate(src, 1):
            if not line.strip():
                continue
            try:
                rec, problems = clean_record(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                rec, problems = {}, [f"malformed JSON: {exc}"]
            rec["_line"] = line_no
            rec["_problems"] = problems or None
            dst.write(orjson.dumps(rec) + b"\n")
    return out


def parquet_unit(path: Path, name_prefix: str = "") -> Unit:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")

    def load(con: duckdb.DuckDBPyConnection) -> None:
        try:
            names = {
                r[0]
                for r in con.execute("SELECT name FROM parquet_schema(?)", [str(path)]).fetchall()
            }
        except duckdb.Error as exc:
            raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
        cols = ", ".join(
            f"CAST({k} AS {v}) AS {k}" if k in names else f"NULL::{v} AS {k}"
            for k, v in FLAT_COLUMNS.items()
        )
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _in AS SELECT {cols} FROM read_parquet(?)",
                [str(path)],
            )
            return
        except (duckdb.ConversionException, duckdb.InvalidInputException):
            pass
        # A value that does not fit its field (a number too large, text where a number belongs):
        # read again with TRY_CAST, and make each such row a record with its problems.
        present = [k for k in FLAT_COLUMNS if k in names]
        cols = ", ".join(
            f"TRY_CAST({k} AS {v}) AS {k}" if k in names else f"NULL::{v} AS {k}"
            for k, v in FLAT_COLUMNS.items()
        )
        checks = ", ".join(
            f"CASE WHEN {k} IS NOT NULL AND TRY_CAST({k} AS {FLAT_COLUMNS[k]}) IS NULL THEN "
            f"'field ''{k}'' should be {_TYPE_WORDS.get(FLAT_COLUMNS[k], 'a list of artist objects')}, got ' || "
            f"left({k}::VARCHAR, 60) END"
            for k in present
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _in AS
                        SELECT {cols}, nullif(list_filter([{checks}], lambda x: x IS NOT NULL), []) AS _problems
                        FROM read_parquet(?)""",
            [str(path)],
        )

    # Its own connection: a result left open on DuckDB's module-level one (a count is one row,
    # never fetched to its end) made every later ``duckdb.sql`` of the process fail.
    with duckdb.connect() as con:
        rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0]
    return Unit(
        name=f"{name_prefix}{path.name}",
        input=str(path),
        load=load,
        size=max(1, rows),
        position_word="row",
    )


def flat_unit(path: Path, name_prefix: str = "", work_dir: Path | None = None) -> Unit:
    """A unit for a flat-record file by its extension (.jsonl/.ndjson/.json or .parquet)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return parquet_unit(path, name_prefix)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return jsonl_unit(path, name_prefix, work_dir)
    raise InputError(f"{path}: unknown flat-record format {suffix!r} (expected .jsonl or .parquet)")


file_identity = _file_identity
