"""The synthetic source: deterministic, realistic shape, streamed in chunks."""

import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pytest

from longplay.archive import Archive
from longplay.catalog import identifiers
from longplay.catalog.sources import ingest_synthetic, synthetic
from longplay.errors import InputError, SettingsError


def test_deterministic_and_chunk_independent() -> None:
    a = synthetic.generate_chunk(5000, 7, 1, 2000)
    b = synthetic.generate_chunk(5000, 7, 1, 2000)
    assert a.equals(b)
    assert not a.equals(synthetic.generate_chunk(5000, 8, 1, 2000))
    last = synthetic.generate_chunk(5000, 7, 2, 2000)
    assert last.num_rows == 1000 and a.num_rows == 2000
    assert a.column("track_key")[0].as_py() == "tr2000"


def test_shape_is_realistic() -> None:
    t = synthetic.with_popularity(synthetic.generate_chunk(200_000, 3, 0, 200_000))
    n = t.num_rows
    unique_isrc = len(pc.unique(t["isrc"]))
    assert abs(unique_isrc / n - 186 / 256) < 0.01  # ~a quarter share an ISRC
    for isrc in t["isrc"].to_pylist()[:2000]:
        assert identifiers.isrc_problem(isrc) is None
    for upc in pc.unique(t["upc"]).to_pylist()[:2000]:
        assert identifiers.upc_problem(upc) is None
    sizes = duckdb.sql("SELECT max(total_tracks), min(total_tracks) FROM t").fetchall()[0]
    assert sizes[0] <= 30 and sizes[1] >= 1
    # Zipf-like: the top 10 tracks outweigh the bottom half of the catalog.
    top10, bottom_half = duckdb.sql("""
        WITH r AS (SELECT listen_count, row_number() OVER (ORDER BY listen_count DESC) AS rk FROM t)
        SELECT (SELECT sum(listen_count) FROM r WHERE rk <= 10), (SELECT sum(listen_count) FROM r WHERE rk > 100000)
        """).fetchall()[0]
    assert top10 > bottom_half
    # Artists with many albums; popularity derived from listens by the catalog's rule.
    most_albums = duckdb.sql("""SELECT count(DISTINCT album_key) AS n FROM t, unnest(album_artists) AS u(a)
                                GROUP BY a.key ORDER BY n DESC LIMIT 1""").fetchall()[0][0]
    assert most_albums >= 20
    from longplay.catalog.popularity import popularity_from_listens

    sample = t.slice(0, 5000).to_pylist()
    assert all(r["popularity"] == popularity_from_listens(r["listen_count"]) for r in sample)
    assert set(pc.unique(t["album_type"]).to_pylist()) >= {"album", "single", "ep", "compilation"}


def test_write_streams_parquet_and_jsonl(tmp_path: Path) -> None:
    pq = synthetic.write(tmp_path / "pq", 2500, seed=5, fmt="parquet", chunk_tracks=1000)
    synthetic.write(tmp_path / "js", 2500, seed=5, fmt="jsonl", chunk_tracks=1000)
    assert [p.name for p in pq] == [
        "tracks-00000.parquet",
        "tracks-00001.parquet",
        "tracks-00002.parquet",
    ]
    a = duckdb.sql(
        f"SELECT track_key, isrc, listen_count FROM read_parquet('{tmp_path}/pq/*.parquet') ORDER BY 1"
    ).fetchall()
    b = duckdb.sql(
        f"SELECT track_key, isrc, listen_count FROM read_json('{tmp_path}/js/*.jsonl') ORDER BY 1"
    ).fetchall()
    assert a == b and len(a) == 2500


def test_ingest_synthetic_counts(archive: Archive) -> None:
    report = ingest_synthetic(archive, 3000, seed=2)
    assert (report.read, report.kept, report.rejected) == (3000, 3000, 0)
    from longplay.catalog.store import CatalogStore

    with CatalogStore(archive).read() as con:
        tracks, isrcs, recordings, canon = con.execute(
            "SELECT count(*), count(DISTINCT isrc), count(DISTINCT recording_id), count(*) FILTER (is_canonical) FROM tracks"
        ).fetchone()
        assert tracks == 3000 and recordings == isrcs == canon
        orphans = con.execute("""SELECT count(*) FROM track_artists ta LEFT JOIN artists a USING (artist_id)
                                 WHERE a.artist_id IS NULL""").fetchone()[0]
        assert orphans == 0
        assert (
            con.execute(
                "SELECT count(*) FROM tracks t LEFT JOIN albums a USING (album_id) WHERE a.album_id IS NULL"
            ).fetchone()[0]
            == 0
        )
        feat = con.execute("SELECT count(*) FROM track_artists WHERE position = 2").fetchone()[0]
        assert feat > 0


def test_bad_arguments_are_input_errors_naming_the_argument(
    archive: Archive, tmp_path: Path
) -> None:
    # Not ValueError (or ZeroDivisionError): the CLI shows a LongplayError as one clear line.
    with pytest.raises(InputError, match=r"tracks \(--tracks\) must be at least 1, not 0"):
        ingest_synthetic(archive, 0)
    with pytest.raises(InputError, match=r"seed \(--seed\) must be 0 or more, not -1"):
        ingest_synthetic(archive, 10, seed=-1)
    with pytest.raises(InputError, match=r"chunk_tracks \(--chunk-tracks\) must be at least 1"):
        synthetic.write(tmp_path / "out", 10, chunk_tracks=0)
    with pytest.raises(InputError, match="format must be parquet or jsonl, not 'csv'"):
        synthetic.write(tmp_path / "out", 10, fmt="csv")
    archive.toml_path.write_text("synthetic_chunk_tracks = 0\n")
    with pytest.raises(SettingsError, match="synthetic_chunk_tracks must be at least 1, not 0"):
        ingest_synthetic(Archive.open(archive.root), 10)
    assert not (tmp_path / "out").exists()


def test_the_cli_shows_a_bad_count_as_one_clear_line(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    cmd = [sys.executable, "-m", "longplay.cli", "--archive", str(tmp_path / "a")]
    subprocess.run([*cmd[:3], "init", str(tmp_path / "a")], env=cli_env, check=True)
    r = subprocess.run(
        [*cmd, "ingest", "synthetic", "--tracks", "0"], env=cli_env, capture_output=True, text=True
    )
    assert r.returncode == 1 and "internal error" not in r.stderr, r.stderr
    assert "tracks (--tracks) must be at least 1, not 0" in r.stderr
