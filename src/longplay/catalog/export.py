"""Releases of a catalog generation: SQLite (with indexes) and Parquet, for strangers to open.

A release holds every catalog table as it is (IDs, provenance, raw source records), so the
source records can be rebuilt from it. Parquet releases are one file per table; SQLite releases
one database with an index on every ID and key column a reader joins or looks up by.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import zstandard

from longplay import progress
from longplay.catalog.schema import RELEASE_TABLES
from longplay.catalog.store import CatalogStore
from longplay.errors import LongplayError, writing

SQLITE_INDEXES = {
    "artists": ["artist_id", "mbid", "name"],
    "albums": ["album_id", "upc", "mbid"],
    "tracks": ["track_id", "album_id", "isrc", "mbid", "recording_id", "popularity"],
    "track_artists": ["track_id", "artist_id"],
    "album_artists": ["album_id", "artist_id"],
    "track_isrcs": ["track_id", "isrc"],
    "genres": ["genre_id"],
    "track_genres": ["track_id", "genre_id"],
    "album_genres": ["album_id", "genre_id"],
    "source_records": ["source, kind, source_key"],
}
_SQLITE_TYPES = {
    "BIGINT": "INTEGER",
    "INTEGER": "INTEGER",
    "SMALLINT": "INTEGER",
    "BOOLEAN": "INTEGER",
    "VARCHAR": "TEXT",
    "TIMESTAMP": "TEXT",
    "DOUBLE": "REAL",
}
BATCH = 100_000
# Columns a release leaves out: when a run happened is not catalog content, and leaving it out
# makes a release (and the metadata torrent carrying it) a function of the catalog alone.
RELEASE_EXCLUDE = {"ingest_log": ("finished_at",)}
# Columns a release rewrites, for the same reason: an ingest unit names its input file by where
# it lay on the operator's disk, and a file's unit by its size and modification time too
# ("/home/op/in/releases.jsonl:22345:1796483551386698470 lines 1-5"); a release says
# "releases.jsonl lines 1-5". (The README's tour made a new metadata torrent on every run.)
RELEASE_REPLACE = {
    "ingest_log": {
        "unit": r"regexp_replace(regexp_replace(unit, '^.*/', ''), ':[0-9]+:[0-9]+', '')"
    }
}


# Rows are released in a total order (every column, IDs first in each table), so a release's
# bytes do not depend on the order parallel inserts happened to store rows in.
def release_select(table: str) -> str:
    drop = RELEASE_EXCLUDE.get(table)
    cols = f"* EXCLUDE ({', '.join(drop)})" if drop else "*"
    if swap := RELEASE_REPLACE.get(table):
        cols += f" REPLACE ({', '.join(f'{e} AS {c}' for c, e in swap.items())})"
    return f"SELECT {cols} FROM {table} ORDER BY ALL"


def export_parquet(store: CatalogStore, out: Path, compression: str = "zstd") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    codec = "uncompressed" if compression == "none" else compression
    with (
        store.read() as con,
        progress.progress("export parquet", len(RELEASE_TABLES), "tables") as bar,
    ):
        for table in RELEASE_TABLES:
            path = out / f"{table}.parquet"
            tmp = path.with_name(path.name + ".tmp")
            con.execute(
                f"COPY ({release_select(table)}) TO '{tmp}' (FORMAT PARQUET, COMPRESSION {codec})"
            )
            os.replace(tmp, path)
            written.append(path)
            bar.advance()
    return written


def export_sqlite(store: CatalogStore, out: Path, compress: bool = False) -> Path:
    """Write a SQLite release to ``out`` (a file); with ``compress``, also ``out.zst``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with writing(out):  # SQLite's "database or disk is full" names no file
        _write_sqlite(store, tmp)
    os.replace(tmp, out)
    if compress:
        with writing(out.with_name(out.name + ".zst")):
            _zstd(out, out.with_name(out.name + ".zst"))
    return out


def _write_sqlite(store: CatalogStore, tmp: Path) -> None:
    dst = sqlite3.connect(tmp)
    dst.execute("PRAGMA journal_mode=OFF")
    dst.execute("PRAGMA synchronous=OFF")
    with store.read() as con:
        total = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in RELEASE_TABLES)  # type: ignore[index]
        with progress.progress("export sqlite", total, "rows") as bar:
            for table in RELEASE_TABLES:
                cols = con.execute(f"DESCRIBE {release_select(table)}").fetchall()
                ddl = ", ".join(
                    f'"{c[0]}" {_SQLITE_TYPES.get(c[1].split("(")[0], "TEXT")}' for c in cols
                )
                dst.execute(f'CREATE TABLE "{table}" ({ddl})')
                marks = ", ".join("?" for _ in cols)
                reader = con.sql(release_select(table)).to_arrow_reader(BATCH)
                for batch in reader:
                    values = [_sqlite_values(col) for col in batch.columns]
                    dst.executemany(
                        f'INSERT INTO "{table}" VALUES ({marks})', zip(*values, strict=True)
                    )
                    bar.advance(batch.num_rows)
    for table, index_cols in SQLITE_INDEXES.items():
        for col in index_cols:
            name = f"{table}_{col.replace(', ', '_')}"
            dst.execute(f'CREATE INDEX "{name}" ON "{table}" ({col})')
    dst.commit()
    if total < 1_000_000:  # small releases: compact; large ones are written compact already
        dst.execute("VACUUM")
    dst.close()


def _sqlite_values(col: Any) -> list[Any]:
    values = col.to_pylist()
    if values and isinstance(next((v for v in values if v is not None), None), bool):
        return [None if v is None else int(v) for v in values]
    return [v.isoformat(sep=" ") if hasattr(v, "isoformat") else v for v in values]


def _zstd(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    cctx = zstandard.ZstdCompressor(level=10, threads=-1)
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        cctx.copy_stream(fin, fout)
    os.replace(tmp, dst)


def export(
    store: CatalogStore, kind: str, out: Path, compression: str = "zstd", zstd_file: bool = False
) -> list[Path]:
    """Parquet: a folder of per-table files. SQLite: one file (``out``, or ``out/catalog.sqlite``
    for a folder), plus ``.zst`` beside it with ``zstd_file``."""
    if kind == "parquet":
        return export_parquet(store, out, compression)
    if kind == "sqlite":
        if out.exists() and out.is_dir():
            out = out / "catalog.sqlite"
        path = export_sqlite(store, out, compress=zstd_file)
        return [path] + ([path.with_name(path.name + ".zst")] if zstd_file else [])
    raise LongplayError(f"unknown export kind {kind!r} (sqlite or parquet)")
