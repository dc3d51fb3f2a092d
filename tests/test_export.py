"""Releases a stranger can open: SQLite with indexes, Parquet per table, zstd."""

import sqlite3
from pathlib import Path

import duckdb
import zstandard

from longplay.archive import Archive
from longplay.catalog.export import export
from longplay.catalog.schema import RELEASE_TABLES
from longplay.catalog.sources import ingest_synthetic
from longplay.catalog.store import CatalogStore


def test_sqlite_and_parquet_releases_match_the_catalog(tmp_path: Path, archive: Archive) -> None:
    ingest_synthetic(archive, 2000, seed=4)
    store = CatalogStore(archive)
    sq = export(store, "sqlite", tmp_path / "rel" / "catalog.sqlite", zstd_file=True)
    pq = export(store, "parquet", tmp_path / "rel" / "parquet")
    assert [p.name for p in sq] == ["catalog.sqlite", "catalog.sqlite.zst"]
    assert {p.stem for p in pq} == set(RELEASE_TABLES)

    with store.read() as con:
        want = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in RELEASE_TABLES}
        top = con.execute("""SELECT t.title, a.name FROM tracks t JOIN track_artists ta USING (track_id)
                             JOIN artists a USING (artist_id) WHERE ta.position = 1
                             ORDER BY t.listen_count DESC, t.track_id LIMIT 5""").fetchall()
    db = sqlite3.connect(sq[0])
    assert {
        t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in RELEASE_TABLES
    } == want
    assert (
        db.execute("""SELECT t.title, a.name FROM tracks t JOIN track_artists ta USING (track_id)
                         JOIN artists a USING (artist_id) WHERE ta.position = 1
                         ORDER BY t.listen_count DESC, t.track_id LIMIT 5""").fetchall()
        == top
    )
    plan = " ".join(
        r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM tracks WHERE isrc = 'X'")
    )
    assert "USING INDEX" in plan
    assert db.execute("SELECT typeof(explicit) FROM tracks LIMIT 1").fetchone()[0] == "integer"
    db.close()
    # The .zst decompresses to the same database bytes.
    restored = zstandard.ZstdDecompressor().decompress(sq[1].read_bytes(), max_output_size=1 << 30)
    assert restored == sq[0].read_bytes()
    got = {
        t: duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{tmp_path}/rel/parquet/{t}.parquet')"
        ).fetchall()[0][0]
        for t in RELEASE_TABLES
    }
    assert got == want
