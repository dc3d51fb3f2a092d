"""Rules that span units of one ingest: each file of `ingest flat` is a unit of its own."""

import json
from pathlib import Path

from longplay.archive import Archive
from longplay.catalog.sources import ingest_flat
from longplay.catalog.store import CatalogStore


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _credit(key: str, name: str, mbid: str | None = None) -> list[dict]:
    return [{"key": key, "name": name, "mbid": mbid, "join_phrase": ""}]


def test_albums_artists_and_duplicates_across_units(tmp_path: Path, archive: Archive) -> None:
    first = _jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "track_key": "t1",
                "title": "One",
                "album_key": "A",
                "album_title": "First seen",
                "artists": _credit("x", "Xavier"),
                "album_artists": _credit("x", "Xavier"),
                "album_genres": ["Jazz"],
            },
        ],
    )
    second = _jsonl(
        tmp_path / "b.jsonl",
        [
            {
                "track_key": "t2",
                "title": "Two",
                "album_key": "A",
                "album_title": "Seen later",
                "artists": _credit("x", "Xavier", "11111111-1111-1111-1111-111111111111"),
                "album_artists": _credit("y", "Yvonne"),
                "album_genres": ["Rock"],
            },
            {"track_key": "t1", "title": "One again", "album_key": "B"},
            {"track_key": "t3", "title": "Three", "album_key": "B", "album_title": "Bee"},
        ],
    )
    report = ingest_flat(archive, [first, second], "units")
    assert (report.read, report.kept, report.rejected) == (4, 3, 1)
    rejects = [json.loads(x) for x in report.rejects_path.read_text().splitlines()]
    assert [(r["input"], r["position"], r["reason"]) for r in rejects] == [
        (str(second), "line 2", 'duplicate track_key "t1" (first occurrence kept)')
    ]
    with CatalogStore(archive).read() as con:
        assert con.execute("SELECT title FROM tracks WHERE source_key = 't1'").fetchall() == [
            ("One",)
        ]
        # The album keeps its first row's values, credit and genres; a later unit adds nothing.
        assert con.execute("SELECT source_key, title FROM albums ORDER BY 1").fetchall() == [
            ("A", "First seen"),
            ("B", "Bee"),
        ]
        assert (
            con.execute("""SELECT ar.name FROM album_artists aa JOIN artists ar USING (artist_id)
                              JOIN albums al USING (album_id) WHERE al.source_key = 'A'""").fetchall()
            == [("Xavier",)]
        )
        assert (
            con.execute("""SELECT g.name FROM album_genres JOIN genres g USING (genre_id)
                              JOIN albums al USING (album_id) WHERE al.source_key = 'A'""").fetchall()
            == [("jazz",)]
        )
        # A credit with an MBID, in a later unit, wins over an earlier one without.
        assert con.execute("SELECT name, mbid FROM artists WHERE source_key = 'x'").fetchall() == [
            ("Xavier", "11111111-1111-1111-1111-111111111111")
        ]
        assert con.execute("SELECT count(*) FROM artists").fetchall() == [
            (2,)
        ]  # Xavier, Yvonne: one row each


def test_reingest_replaces_an_album_with_its_links(tmp_path: Path, archive: Archive) -> None:
    v1 = _jsonl(
        tmp_path / "v1.jsonl",
        [
            {
                "track_key": "t1",
                "title": "One",
                "album_key": "A",
                "album_title": "Old",
                "artists": _credit("x", "Xavier"),
                "album_artists": _credit("x", "Xavier"),
                "genres": ["Pop"],
                "album_genres": ["Jazz"],
            },
            {"track_key": "t2", "title": "Two", "album_key": "A"},
        ],
    )
    ingest_flat(archive, [v1], "re")
    v2 = _jsonl(
        tmp_path / "v2.jsonl",
        [{"track_key": "t1", "title": "One (new)", "album_key": "A", "album_title": "New"}],
    )
    ingest_flat(archive, [v2], "re")
    with CatalogStore(archive).read() as con:
        assert con.execute("SELECT title, generation FROM albums").fetchall() == [("New", 2)]
        # Newest wins whole: the new album row lists no credit or genres, so none are left.
        assert con.execute("SELECT count(*) FROM album_artists").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM album_genres").fetchall() == [(0,)]
        assert con.execute(
            "SELECT source_key, title, generation FROM tracks ORDER BY 1"
        ).fetchall() == [("t1", "One (new)", 2), ("t2", "Two", 1)]
        assert con.execute("SELECT count(*) FROM track_artists").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM track_genres").fetchall() == [(0,)]
