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


def test_a_release_does_not_depend_on_where_or_when_its_inputs_lay(tmp_path: Path) -> None:
    """The same input files, in two folders with other modification times: the same release,
    byte for byte (an ingest unit's name held the file's path, size and time; the README's
    tour made a new metadata torrent on every run). A release says which file, not where."""
    import json
    import os

    from audiofixtures import require_shared_data
    from longplay.catalog.sources.musicbrainz import ingest_musicbrainz

    docs = sorted(require_shared_data("musicbrainz", "picard").glob("*.json"))
    lines = "".join(json.dumps(json.loads(p.read_text(encoding="utf-8"))) + "\n" for p in docs)
    out = []
    for k, when in ((1, 1_700_000_000), (2, 1_800_000_000)):
        inputs = tmp_path / f"operator-{k}" / "downloads"
        inputs.mkdir(parents=True)
        src = inputs / "releases.jsonl"
        src.write_text(lines, encoding="utf-8")
        os.utime(src, (when, when))
        a = Archive.init(tmp_path / f"a{k}")
        ingest_musicbrainz(a, [src])
        store = CatalogStore(a)
        with store.read() as con:  # the catalog itself keeps where the unit came from
            assert str(inputs) in con.execute("SELECT unit FROM ingest_log").fetchone()[0]
        rel = tmp_path / f"rel{k}"
        out.append(
            [*export(store, "parquet", rel / "parquet"), *export(store, "sqlite", rel / "c.sqlite")]
        )
    for one, two in zip(*out, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name
    units = duckdb.sql(f"SELECT unit FROM read_parquet('{out[0][0].parent}/ingest_log.parquet')")
    assert [u for (u,) in units.fetchall()] == [f"releases.jsonl lines 1-{len(docs)}"]
