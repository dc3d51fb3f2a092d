"""Ingest of flat and tabular inputs: validation, rejects, reconciliation, replacement."""

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest

from longplay.archive import Archive
from longplay.catalog.sources import ingest_flat, ingest_tabular
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError

MAPPING = """
[source]
name = "netlabel"
table = "tracks"

[fields]
track_key = "id"
title = "name"
artists = "artist"
album_title = "album"
isrc = "isrc"
upc = "barcode"
duration = "seconds"
popularity = "pop"
license = "license"

[options]
artist_separator = ";"
duration_unit = "s"
"""

ROWS = [
    # id, name, artist, album, isrc, barcode, seconds, pop, license
    (
        "1",
        "Open Road",
        "Ana Lind",
        "Free Songs",
        "US-RC1-76-07839",
        "036000291452",
        "201.5",
        "40",
        "CC-BY-4.0",
    ),
    (
        "2",
        "Night Swim",
        "Ana Lind;Kai Novak",
        "Free Songs",
        "usrc17607840",
        "036000291452",
        "180",
        "0",
        "cc0",
    ),
    ("3", "", "Nobody", "Free Songs", "", "", "100", "1", ""),  # missing title
    (
        "4",
        "Bad Codes",
        "Kai Novak",
        "Odd Album",
        "NOT-AN-ISRC",
        "036000291453",
        "99",
        "7",
        "",
    ),  # bad values
    ("5", "Long", "Kai Novak", "Odd Album", "", "", "ten", "5", ""),  # bad duration
    ("1", "Open Road (dup)", "Ana Lind", "Free Songs", "", "", "1", "1", ""),  # duplicate key
    (
        "6",
        "Too Popular",
        "Kai Novak",
        "Odd Album",
        "",
        "",
        "60",
        "140",
        "",
    ),  # popularity out of range
]
HEADER = ("id", "name", "artist", "album", "isrc", "barcode", "seconds", "pop", "license")


def _write_inputs(tmp: Path) -> dict[str, Path]:
    csv = tmp / "in.csv"
    csv.write_text("\n".join(",".join(r) for r in [HEADER, *ROWS]) + "\n")
    jsonl = tmp / "in.jsonl"
    jsonl.write_text("".join(json.dumps(dict(zip(HEADER, r, strict=True))) + "\n" for r in ROWS))
    parquet = tmp / "in.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{csv}', all_varchar=true)) TO '{parquet}' (FORMAT PARQUET)"
    )
    db = tmp / "in.sqlite"
    con = sqlite3.connect(db)
    con.execute(f"CREATE TABLE tracks ({', '.join(HEADER)})")
    con.executemany(f"INSERT INTO tracks VALUES ({', '.join('?' * len(HEADER))})", ROWS)
    con.commit()
    con.close()
    mapping = tmp / "map.toml"
    mapping.write_text(MAPPING)
    return {"csv": csv, "jsonl": jsonl, "parquet": parquet, "sqlite": db, "mapping": mapping}


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet", "sqlite"])
def test_tabular_formats_validate_and_reconcile(
    tmp_path: Path, archive: Archive, kind: str
) -> None:
    paths = _write_inputs(tmp_path)
    report = ingest_tabular(archive, [paths[kind]], paths["mapping"])
    assert report.read == 7 and report.read == report.kept + report.rejected
    assert report.rejected == 3  # missing title, bad duration, duplicate key
    assert report.values_rejected == 3  # ISRC, UPC check digit, popularity
    rejects = [json.loads(x) for x in report.rejects_path.read_text().splitlines()]
    reasons = {(r["kind"], r["position"]): r["reason"] for r in rejects if r["kind"] == "record"}
    values = {(r["field"], r["position"]): r["reason"] for r in rejects if r["kind"] == "value"}
    first = 2 if kind == "csv" else 1  # CSV positions are file lines (line 1 is the header)
    word = "row" if kind in ("parquet", "sqlite") else "line"
    assert reasons[("record", f"{word} {first + 2}")] == "missing title"
    assert "is not a number" in reasons[("record", f"{word} {first + 4}")]
    assert "duplicate track_key" in reasons[("record", f"{word} {first + 5}")]
    assert "is not CC-XXX-YY-NNNNN" in values[("isrc", f"{word} {first + 3}")]
    assert "check digit" in values[("upc", f"{word} {first + 3}")]
    assert "outside 0..100" in values[("popularity", f"{word} {first + 6}")]
    assert all(r["input"] == str(paths[kind]) and r["source"] == "netlabel" for r in rejects)
    with CatalogStore(archive).read() as con:
        rows = dict(con.execute("SELECT source_key, isrc FROM tracks").fetchall())
        assert rows == {"1": "USRC17607839", "2": "USRC17607840", "4": None, "6": None}
        assert con.execute(
            "SELECT title, duration_ms, license FROM tracks WHERE source_key='1'"
        ).fetchone() == ("Open Road", 201500, "cc-by-4.0")
        assert con.execute("SELECT upc FROM albums WHERE title='Odd Album'").fetchone()[0] is None
        names = con.execute("""SELECT a.name, ta.position FROM track_artists ta JOIN artists a USING (artist_id)
                               JOIN tracks t USING (track_id) WHERE t.source_key='2' ORDER BY position""").fetchall()
        assert names == [("Ana Lind", 1), ("Kai Novak", 2)]
        assert con.execute("SELECT count(*) FROM ingest_log").fetchone()[0] == 1


def test_mapping_errors_name_the_problem(tmp_path: Path, archive: Archive) -> None:
    paths = _write_inputs(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text('[source]\nname = "x"\n[fields]\ntrack_key = "id"\ntitle = "name"\nwat = "y"\n')
    with pytest.raises(InputError, match="unknown catalog field 'wat'"):
        ingest_tabular(archive, [paths["csv"]], bad)
    bad.write_text('[source]\nname = "x"\n[fields]\ntrack_key = "id"\ntitle = "nope"\n')
    with pytest.raises(InputError, match="mapped column 'nope'"):
        ingest_tabular(archive, [paths["csv"]], bad)
    with pytest.raises(InputError, match="mapping file not found"):
        ingest_tabular(archive, [paths["csv"]], tmp_path / "none.toml")


def test_flat_jsonl_bad_lines_fall_back_line_by_line(tmp_path: Path, archive: Archive) -> None:
    good = {
        "track_key": "a",
        "title": "A",
        "artists": [{"name": "X", "key": "x", "mbid": None, "join_phrase": None}],
        "album_title": "Al",
        "duration_ms": 1000,
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "track_key": "b", "duration_ms": "long"}),
        json.dumps([1, 2]),
        json.dumps({**good, "track_key": "c", "extra_field": 1}),
        json.dumps({**good, "track_key": "d", "disc_number": 2**40}),
        "",
    ]
    f = tmp_path / "flat.jsonl"
    f.write_text("\n".join(lines) + "\n")
    report = ingest_flat(archive, [f], "mixed")
    assert (report.read, report.kept, report.rejected) == (6, 2, 4)
    rejects = {
        r["position"]: r["reason"]
        for r in map(json.loads, report.rejects_path.read_text().splitlines())
    }
    assert rejects["line 2"].startswith("malformed JSON")
    assert "field 'duration_ms' should be a 64-bit integer" in rejects["line 3"]
    assert "not an object" in rejects["line 4"]
    # An integer too large for its column is this record's problem, not the whole file's.
    assert "field 'disc_number' should be a 32-bit integer, got 1099511627776" in rejects["line 6"]


def test_reingest_newest_wins_and_sources_keep_their_keys(tmp_path: Path, archive: Archive) -> None:
    paths = _write_inputs(tmp_path)
    ingest_tabular(archive, [paths["csv"]], paths["mapping"])
    changed = tmp_path / "v2.csv"
    changed.write_text(
        "id,name,artist,album,isrc,barcode,seconds,pop,license\n1,Open Road (Remaster),Ana Lind,Free Songs,,,200,41,\n"
    )
    ingest_tabular(archive, [changed], paths["mapping"])
    flat = tmp_path / "other.jsonl"
    flat.write_text(
        json.dumps({"track_key": "1", "title": "Same key, other source", "isrc": "USRC17607839"})
        + "\n"
    )
    ingest_flat(archive, [flat], "othersource")
    store = CatalogStore(archive)
    assert store.current_name() == "gen-000003"
    with store.read() as con:
        rows = con.execute(
            "SELECT source, source_key, title, generation FROM tracks ORDER BY source, source_key"
        ).fetchall()
        assert ("netlabel", "1", "Open Road (Remaster)", 2) in rows
        assert ("othersource", "1", "Same key, other source", 3) in rows
        assert ("netlabel", "2", "Night Swim", 1) in rows  # untouched rows keep their generation
        assert sum(1 for r in rows if r[0] == "netlabel" and r[1] == "1") == 1


def test_blank_lines_make_positions_record_ordinals(tmp_path: Path, archive: Archive) -> None:
    good = {"track_key": "a", "title": "A"}
    f = tmp_path / "blanks.jsonl"
    f.write_text("\n".join([json.dumps(good), "", json.dumps({"track_key": "b"}), ""]) + "\n")
    report = ingest_flat(archive, [f], "blanks")
    assert (report.read, report.kept, report.rejected) == (2, 1, 1)
    rejects = [json.loads(x) for x in report.rejects_path.read_text().splitlines()]
    assert [(r["position"], r["reason"]) for r in rejects] == [("record 2", "missing title")]


def test_parquet_value_too_large_for_its_field_rejects_that_row(
    tmp_path: Path, archive: Archive
) -> None:
    f = tmp_path / "big.parquet"
    duckdb.sql(f"""COPY (SELECT * FROM (VALUES ('a', 'A', 1::BIGINT), ('b', 'B', 1099511627776::BIGINT),
                                              ('c', 'C', NULL)) t(track_key, title, disc_number))
                   TO '{f}' (FORMAT PARQUET)""")
    report = ingest_flat(archive, [f], "big")
    assert (report.read, report.kept, report.rejected) == (3, 2, 1)
    rejects = [json.loads(x) for x in report.rejects_path.read_text().splitlines()]
    assert [(r["position"], r["reason"]) for r in rejects] == [
        ("row 2", "field 'disc_number' should be a 32-bit integer, got 1099511627776")
    ]
    # The ingest left DuckDB's module-level connection usable for the process's next query.
    assert duckdb.sql("SELECT 42").fetchall() == [(42,)]
