"""`longplay ingest release`: a published release (SQLite or Parquet) as a catalog generation.

A mirror that fetched only the metadata torrent gets the whole catalog from it. The release's
tables replace the catalog's in a new generation, row for row, KEEPING the publisher's IDs and
identity groups (no re-identity): the manifests name tracks by the publisher's IDs, so a mirror
that minted its own could not match a file to its track. One unit per table, each loaded and
written in one transaction, so a killed import resumes at the next table; a row that misses a
required value or whose value does not fit its column goes to the rejects log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import zstandard

from longplay import progress
from longplay.archive import Archive
from longplay.catalog import schema
from longplay.catalog.export import RELEASE_EXCLUDE
from longplay.catalog.ingest import rejects_path
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError
from longplay.rejects import RejectsLog

SOURCE = "release"
# The publisher's generation and schema version are not copied: commit() writes this one's.
OWN_META = ("generation", "schema_version")


@dataclass
class ReleaseReport:
    generation: str
    release: str
    kind: str
    rows: int = 0
    rejected: int = 0
    tables_skipped: int = 0
    rejects_path: Path | None = None

    def summary(self) -> str:
        line = (
            f"release ({self.kind}) {self.release}: {self.rows:,} rows kept, "
            f"{self.rejected:,} rejected; generation {self.generation}"
        )
        if self.tables_skipped:
            line += f" (resumed: {self.tables_skipped} tables already done)"
        if self.rejects_path is not None:
            line += f"\nrejects: {self.rejects_path}"
        return line


def locate(path: Path) -> tuple[str, Path]:
    """The release at ``path``: ("sqlite", file) or ("parquet", folder); InputError otherwise.

    ``path`` may be the metadata torrent's folder, its ``catalog/`` folder, a Parquet folder,
    or a SQLite file (``.sqlite`` or ``.sqlite.zst``)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        # The SQLite release first: one file, what the metadata torrent names the release.
        for candidate in (path, path / "catalog"):
            for name in ("catalog.sqlite", "catalog.sqlite.zst"):
                if (candidate / name).is_file():
                    return "sqlite", candidate / name
        for candidate in (path, path / "parquet", path / "catalog" / "parquet"):
            if (candidate / "tracks.parquet").is_file():
                return "parquet", candidate
        raise InputError(
            f"{path}: not a release (no tracks.parquet, catalog.sqlite or catalog.sqlite.zst)"
        )
    if path.name.endswith(".parquet") and (path.parent / "tracks.parquet").is_file():
        return "parquet", path.parent
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3\0") or head.startswith(b"\x28\xb5\x2f\xfd"):
        return "sqlite", path
    raise InputError(f"{path}: not a release (neither a SQLite database nor zstd-compressed)")


def _identity(path: Path) -> str:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    parts = []
    for f in files:
        st = f.stat()
        parts.append(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _sqlite_file(archive: Archive, path: Path, ident: str) -> Path:
    """The SQLite release as a plain file: decompressed once into work/ when zstd."""
    with open(path, "rb") as fh:
        compressed = fh.read(4) == b"\x28\xb5\x2f\xfd"
    if not compressed:
        return path
    out = archive.work_dir / "release" / f"{hashlib.sha256(ident.encode()).hexdigest()[:16]}.sqlite"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        with open(path, "rb") as fin, open(tmp, "wb") as fout:
            zstandard.ZstdDecompressor().copy_stream(fin, fout)
    except zstandard.ZstdError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: not a valid zstd stream ({exc})") from None
    os.replace(tmp, out)
    return out


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool]]:
    """(name, type, required) of a catalog table, in order."""
    rows = con.execute(
        "SELECT column_name, data_type, NOT is_nullable FROM duckdb_columns() "
        "WHERE table_name = ? AND database_name = current_database() ORDER BY column_index",
        [table],
    ).fetchall()
    return [(str(n), str(t), bool(req)) for n, t, req in rows]


def _stage(con: duckdb.DuckDBPyConnection, kind: str, src: Path, table: str) -> str:
    """Load one table of the release into the temp table ``_rel``; returns what rejects name."""
    con.execute("DROP TABLE IF EXISTS _rel")
    if kind == "parquet":
        file = src / f"{table}.parquet"
        if not file.is_file():
            raise InputError(f"{src}: not a release (no {table}.parquet)")
        try:
            con.execute(
                "CREATE TEMP TABLE _rel AS SELECT * FROM read_parquet(?, file_row_number = true)",
                [str(file)],
            )
        except duckdb.Error as exc:
            raise InputError(f"{file}: not readable as Parquet ({exc})") from None
        return str(file)
    try:
        db = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        cur = db.execute(f'SELECT rowid - 1 AS file_row_number, * FROM "{table}"')
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{src}: not a release (table {table}: {exc})") from None
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    db.close()
    # Every value as text: the casts below judge them, so a SQLite value of the wrong type
    # becomes a reject rather than an error that stops the import.
    cols: list[tuple[object, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = [
        pa.array(list(c), type=pa.int64())
        if n == "file_row_number"
        else pa.array([None if v is None else str(v) for v in c], type=pa.string())
        for n, c in zip(names, cols, strict=True)
    ]
    staged = pa.table(dict(zip(names, arrays, strict=True)))  # noqa: F841 - read by DuckDB
    con.execute("CREATE TEMP TABLE _rel AS SELECT * FROM staged")
    return f"{src}#{table}"


def _load_table(
    con: duckdb.DuckDBPyConnection, table: str, where: str, log: list[tuple[str, str, str]]
) -> int:
    """Write the good rows of ``_rel`` into ``table``; the bad ones into ``log``."""
    staged = {r[0] for r in con.execute("DESCRIBE _rel").fetchall()}
    columns = _columns(con, table)
    excluded = set(RELEASE_EXCLUDE.get(table, ()))
    missing = [n for n, _, _ in columns if n not in staged and n not in excluded]
    if missing:
        raise InputError(f"{where}: not a release of this schema (no column {', '.join(missing)})")
    exprs, problems = [], []
    for name, typ, required in columns:
        if name in excluded:  # what a release leaves out: the time of this import
            exprs.append(f'CAST(now() AS {typ}) AS "{name}"')
            continue
        cast = f'TRY_CAST("{name}" AS {typ})'
        if typ == "BOOLEAN":  # SQLite keeps booleans as 0/1, the text of which DuckDB casts
            cast = f'TRY_CAST(TRY_CAST("{name}" AS INTEGER) AS BOOLEAN)'
        exprs.append(f'{cast} AS "{name}"')
        if required:
            problems.append(f"CASE WHEN \"{name}\" IS NULL THEN 'no {name}' END")
        problems.append(
            f'CASE WHEN "{name}" IS NOT NULL AND {cast} IS NULL '
            f"THEN '{name} is not a {typ.lower()}' END"
        )
    problem = f"concat_ws('; ', {', '.join(problems)})" if problems else "''"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _relc AS SELECT file_row_number, "
        f"{problem} AS _problem, {', '.join(exprs)} FROM _rel"
    )
    names = ", ".join(f'"{n}"' for n, _, _ in columns)
    keep = "_problem = ''"
    con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _relc WHERE {keep}")
    if table == "meta":  # this generation's own keys come from commit()
        con.execute(f"DELETE FROM meta WHERE key IN {OWN_META}")
    for pos, reason in con.execute(
        f"SELECT file_row_number, _problem FROM _relc WHERE NOT ({keep}) ORDER BY 1"
    ).fetchall():
        log.append((where, f"row {int(pos) + 1}", str(reason)))
    kept = int(con.execute(f"SELECT count(*) FROM _relc WHERE {keep}").fetchall()[0][0])
    con.execute("DROP TABLE _relc")
    con.execute("DROP TABLE _rel")
    return kept


def _check_schema(con: duckdb.DuckDBPyConnection, kind: str, src: Path) -> None:
    where = _stage(con, kind, src, "meta")
    rows = dict(con.execute("SELECT key, value FROM _rel").fetchall())
    con.execute("DROP TABLE _rel")
    version = rows.get("schema_version")
    if version is not None and str(version) != str(schema.SCHEMA_VERSION):
        raise InputError(
            f"{where}: a release of catalog schema {version}; this Longplay reads {schema.SCHEMA_VERSION}"
        )


def ingest_release(archive: Archive, path: Path) -> ReleaseReport:
    """Import the release at ``path`` as the next catalog generation (resumable)."""
    kind, src = locate(Path(path))
    ident = _identity(src)
    store = CatalogStore(archive)
    job = {"source": SOURCE, "kind": kind, "release": ident}
    if kind == "sqlite":
        src = _sqlite_file(archive, src, ident)
    with store.build(job) as gen:
        con = gen.con
        report = ReleaseReport(gen.name, str(path), kind)
        con.execute(
            "CREATE TABLE IF NOT EXISTS _rel_rejects (input VARCHAR, position VARCHAR, reason VARCHAR)"
        )
        done = gen.done_units()
        if "__clear__" not in done:
            _check_schema(con, kind, src)
            with gen.unit("__clear__"):  # the release replaces the catalog, it does not merge
                for table in schema.RELEASE_TABLES:
                    con.execute(f"DELETE FROM {table}")
        with progress.progress("ingest release", len(schema.RELEASE_TABLES), "tables") as bar:
            for table in schema.RELEASE_TABLES:
                if f"table:{table}" in done:
                    report.tables_skipped += 1
                    bar.advance()
                    continue
                where = _stage(con, kind, src, table)
                bad: list[tuple[str, str, str]] = []
                with gen.unit(f"table:{table}"):
                    kept = _load_table(con, table, where, bad)
                    if bad:
                        con.executemany("INSERT INTO _rel_rejects VALUES (?, ?, ?)", bad)
                    con.execute(
                        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                        [
                            gen.number,
                            SOURCE,
                            table,
                            kept + len(bad),
                            kept,
                            len(bad),
                            dt.datetime.now(dt.UTC).replace(tzinfo=None),
                        ],
                    )
                progress.note(f"ingest release: {table}: {kept} rows, {len(bad)} rejected")
                bar.advance()
        counts = con.execute(
            "SELECT coalesce(sum(records_kept), 0), coalesce(sum(records_rejected), 0) "
            "FROM ingest_log WHERE generation = ? AND source = ?",
            [gen.number, SOURCE],
        ).fetchall()[0]
        report.rows, report.rejected = int(counts[0]), int(counts[1])
        out = rejects_path(archive, SOURCE, gen.name)
        out.unlink(missing_ok=True)
        rows = con.execute("SELECT * FROM _rel_rejects ORDER BY input, position").fetchall()
        if rows:
            with RejectsLog(out) as log:
                for inp, pos, reason in rows:
                    log.add(source=SOURCE, input=inp, position=pos, reason=reason)
            report.rejects_path = out
        gen.commit()
    return report
