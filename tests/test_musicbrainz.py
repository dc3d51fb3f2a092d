"""MusicBrainz JSON dumps: mapping, archives, bad input, resume, lossless rebuild."""

from __future__ import annotations

import copy
import io
import json
import lzma
import tarfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from audiofixtures import require_shared_data
from longplay.archive import Archive
from longplay.catalog import ingest
from longplay.catalog.identifiers import stable_id
from longplay.catalog.source_records import export_source_records
from longplay.catalog.sources.musicbrainz import ingest as mb_ingest
from longplay.catalog.sources.musicbrainz import ingest_musicbrainz
from longplay.catalog.store import CatalogStore
from longplay.testing.musicbrainz_docs import Shape


def lines(docs: list[Any]) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in docs)


def write_archive(path: Path, kind: str, payload: bytes) -> Path:
    """An archive in the official layout: metadata files and mbdump/KIND."""
    with tarfile.open(path, "w:xz") as tar:
        for name, data in (
            ("TIMESTAMP", b"2026-11-01 00:00:00.000000+00\n"),
            ("JSON_DUMPS_SCHEMA_NUMBER", b"1\n"),
            (f"mbdump/{kind}", payload),
            ("README", b"MusicBrainz JSON dump\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def exported(archive: Archive, tmp: Path, kind: str | None = None) -> dict[str, Any]:
    out = tmp / f"export-{kind}.jsonl"
    export_source_records(CatalogStore(archive), "musicbrainz", out, kind)
    return {d["id"]: d for d in map(orjson.loads, out.read_bytes().splitlines())}


def rejects(report: ingest.IngestReport) -> list[dict[str, Any]]:
    if report.rejects_path is None:
        return []
    return [json.loads(x) for x in report.rejects_path.read_text().splitlines()]


def picard_docs() -> list[dict[str, Any]]:
    folder = require_shared_data("musicbrainz", "picard")
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def test_real_release_documents_map_and_rebuild_exactly(archive: Archive, tmp_path: Path) -> None:
    docs = picard_docs()
    src = tmp_path / "release.jsonl"
    src.write_bytes(lines(docs))
    report = ingest_musicbrainz(archive, [src])
    counts = report.extra["documents"]["release"]
    assert counts["read"] == len(docs) == counts["kept"] + counts["rejected"]
    # release_null.json has no ID at all: the one document that cannot be identified.
    bad = [r for r in rejects(report) if r["kind"] == "record"]
    assert [(r["position"], r["reason"]) for r in bad] == [
        (
            f"line {next(i for i, d in enumerate(docs, 1) if d.get('id') is None)}",
            "missing key 'id'",
        )
    ]
    kept = {d["id"]: d for d in docs if d.get("id")}
    assert exported(archive, tmp_path) == kept  # equal as JSON values, every kept document
    with CatalogStore(archive).read() as con:
        dsotm = con.execute("""SELECT title, album_type, release_date, label, upc, total_tracks, mbid FROM albums
                               WHERE source_key = 'b84ee12a-09ef-421b-82de-0441a926375b'""").fetchone()
        assert dsotm == (
            "The Dark Side of the Moon",
            "album",
            "1973-03-24",
            "Harvest",
            None,
            10,
            "b84ee12a-09ef-421b-82de-0441a926375b",
        )  # barcode "123" is no UPC: a value reject
        tracks = con.execute("""SELECT t.track_number, t.disc_number, t.title, t.duration_ms, t.mbid FROM tracks t
                                JOIN albums a USING (album_id) WHERE a.title = 'The Dark Side of the Moon'
                                ORDER BY t.track_number""").fetchall()
        assert [t[0] for t in tracks] == list(range(1, 11)) and {t[1] for t in tracks} == {1}
        assert tracks[2] == (3, 1, "On the Run", 230600, "747a79a7-644e-42d4-be86-9adaf44393d8")
        multidisc = con.execute("""SELECT disc_number, count(*) FROM tracks t JOIN albums a USING (album_id)
                                   WHERE a.mbid = '6c4f766f-3351-4c10-a53d-b119452c27b2' GROUP BY 1 ORDER BY 1""").fetchall()
        assert multidisc == [(1, 4), (2, 3)]
        # Five media with disc IDs but no track lists: an album without tracks.
        assert (
            con.execute("""SELECT total_tracks, (SELECT count(*) FROM tracks t WHERE t.album_id = a.album_id)
                              FROM albums a WHERE mbid = 'f17a0f30-8eb1-4322-b54e-fb71edb78d7c'""").fetchone()
            == (49, 0)
        )
        artist = con.execute("""SELECT ar.name, ar.sort_name, ar.mbid, l.position FROM album_artists l
                                JOIN artists ar USING (artist_id) JOIN albums a USING (album_id)
                                WHERE a.title = 'Wish You Were Here'""").fetchall()
        assert artist == [("Pink Floyd", "Pink Floyd", "83d91898-7763-47d7-b03b-b92132375c47", 1)]
    assert report.extra["unknown_fields"] == {"media[].track": 1, "release.count": 1}
    # The residual holds much less than the document where the tables hold the values.
    with CatalogStore(archive).read() as con:
        stored = con.execute("SELECT sum(length(record)) FROM source_records").fetchone()[0]
    assert stored < 0.9 * sum(len(orjson.dumps(d)) for d in kept.values())


def test_generated_dump_archives_folder(archive: Archive, tmp_path: Path) -> None:
    shape = Shape(seed=3, artists=40, recordings=120)
    releases = list(shape.releases(150))
    artists = list(shape.artist_docs())
    recordings = list(shape.recording_docs())
    groups = [{**r["release-group"], "releases": []} for r in releases[:20]]
    dump = tmp_path / "dump"
    dump.mkdir()
    write_archive(dump / "release.tar.xz", "release", lines(releases))
    write_archive(dump / "artist.tar.xz", "artist", lines(artists))
    write_archive(dump / "recording.tar.xz", "recording", lines(recordings))
    write_archive(dump / "release-group.tar.xz", "release-group", lines(groups))
    write_archive(dump / "label.tar.xz", "label", b'{"id": "x"}\n')  # not mapped: ignored
    report = ingest_musicbrainz(archive, [dump])
    docs = report.extra["documents"]
    assert docs == {
        "artist": {"read": 40, "kept": 40, "rejected": 0},
        "recording": {"read": 120, "kept": 120, "rejected": 0},
        "release": {"read": 150, "kept": 150, "rejected": 0},
        "release-group": {"read": 20, "kept": 20, "rejected": 0},
    }
    n_tracks = sum(len(m["tracks"]) for r in releases for m in r["media"])
    assert report.read == report.kept == n_tracks and report.rejected == 0
    with CatalogStore(archive).read() as con:
        stored = con.execute(
            "SELECT sum(length(record)) FROM source_records WHERE kind = 'release'"
        ).fetchone()[0]
    assert stored < 0.55 * len(lines(releases))  # repeats within documents are not stored twice
    for kind, originals in (
        ("release", releases),
        ("artist", artists),
        ("recording", recordings),
        ("release-group", groups),
    ):
        assert exported(archive, tmp_path, kind) == {d["id"]: d for d in originals}, kind
    with CatalogStore(archive).read() as con:
        assert con.execute("SELECT count(*) FROM tracks").fetchone()[0] == n_tracks
        # A recording on several releases is one recording: one recording_id per recording MBID.
        per_mbid = con.execute("""SELECT mbid, count(*), count(DISTINCT album_id), count(DISTINCT recording_id)
                                  FROM tracks GROUP BY mbid HAVING count(DISTINCT album_id) > 1""").fetchall()
        assert per_mbid and all(r[3] == 1 for r in per_mbid)
        # Recordings with two ISRCs keep the second in track_isrcs.
        two = [r for r in recordings if len(r["isrcs"]) == 2]
        got = con.execute("""SELECT t.isrc, i.isrc FROM track_isrcs i JOIN tracks t USING (track_id)
                             WHERE i.position = 2""").fetchall()
        assert {
            tuple(r["isrcs"])
            for r in two
            if any(
                r["id"] == t["recording"]["id"]
                for x in releases
                for m in x["media"]
                for t in m["tracks"]
            )
        } == set(got)
        # Join phrases of credits: the " feat. " credits.
        feat = con.execute(
            "SELECT count(*) FROM track_artists WHERE join_phrase = ' feat. '"
        ).fetchone()[0]
        assert feat == sum(
            1
            for r in releases
            for m in r["media"]
            for t in m["tracks"]
            if t["artist-credit"][0]["joinphrase"] == " feat. "
        )
        # Artist rows come from the artist documents (name and sort name).
        a0 = artists[0]
        assert con.execute(
            "SELECT name, sort_name, mbid FROM artists WHERE artist_id = ?",
            [stable_id(f"musicbrainz:artist:{a0['id']}")],
        ).fetchone() == (a0["name"], a0["sort-name"], a0["id"])
        # Genres of releases (and their release groups) on albums, UPCs from barcodes.
        r0 = next(r for r in releases if r["genres"] and r["barcode"])
        assert sorted(
            x[0]
            for x in con.execute(
                """SELECT g.name FROM album_genres ag JOIN genres g USING (genre_id)
                      WHERE ag.album_id = ?""",
                [stable_id(f"musicbrainz:album:{r0['id']}")],
            ).fetchall()
        ) == sorted({g["name"] for g in r0["genres"]})
        assert (
            con.execute("SELECT upc FROM albums WHERE mbid = ?", [r0["id"]]).fetchone()[0]
            == r0["barcode"]
        )


def test_bad_input_is_rejected_with_line_and_reason(archive: Archive, tmp_path: Path) -> None:
    shape = Shape(seed=5, artists=10, recordings=30)
    good = list(shape.releases(6))
    wrong_type = copy.deepcopy(good[1])
    wrong_type["media"][0]["tracks"][0]["length"] = "3:12"
    no_track_id = copy.deepcopy(good[2])
    del no_track_id["media"][0]["tracks"][0]["id"]
    unknown = copy.deepcopy(good[3])
    unknown["new-field"] = {"added": "by a later schema"}
    payload = b"".join(
        [
            orjson.dumps(good[0]) + b"\n",
            orjson.dumps(wrong_type) + b"\n",
            b'{"id": "oops", \n',
            orjson.dumps(no_track_id) + b"\n",
            b"[1, 2]\n",
            b"\n",
            orjson.dumps(unknown) + b"\n",
            orjson.dumps(good[4]) + b"\n",
        ]
    )
    plain = tmp_path / "release.jsonl"
    plain.write_bytes(payload)
    # A truncated archive: the compressed stream is cut after its first documents.
    many = list(shape.releases(60, start=100))
    full = write_archive(tmp_path / "full.tar.xz", "release", lines(many))
    cut = tmp_path / "release.tar.xz"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    report = ingest_musicbrainz(archive, [plain, cut])
    by_pos = {
        (
            r["input"].split("/")[-1] if "tar.xz" not in r["input"] else "release.tar.xz",
            r["position"],
        ): r["reason"]
        for r in rejects(report)
        if r["kind"] == "record"
    }
    assert (
        by_pos[("release.jsonl", "line 2")]
        == "'media[0].tracks[0].length' should be an integer, got \"3:12\""
    )
    assert by_pos[("release.jsonl", "line 3")].startswith("malformed JSON")
    assert by_pos[("release.jsonl", "line 4")] == "missing key 'media[0].tracks[0].id'"
    assert by_pos[("release.jsonl", "line 5")] == "a JSON list, not an object"
    truncated = [v for (inp, _), v in by_pos.items() if inp.startswith("release.tar.xz")]
    assert len(truncated) == 1 and "truncated or corrupt input" in truncated[0]
    notes = [r for r in rejects(report) if r["kind"] == "note"]
    assert [(n["position"], n["field"]) for n in notes] == [("line 7", "release.new-field")]
    docs = report.extra["documents"]["release"]
    assert (
        docs["read"] == docs["kept"] + docs["rejected"] and docs["rejected"] == 5
    )  # 4 bad lines + truncation
    rebuilt = exported(archive, tmp_path)
    from_archive = [d for d in many if d["id"] in rebuilt]
    assert 0 < len(from_archive) < len(many)  # the lines before the cut went in, whole
    assert all(rebuilt[d["id"]] == d for d in from_archive)
    assert truncated[0].startswith(f"truncated or corrupt input after line {len(from_archive)}")
    assert docs["kept"] == 3 + len(from_archive) == len(rebuilt)  # 3 good lines of the plain file
    assert rebuilt[unknown["id"]] == unknown  # unknown fields survive, exactly
    assert report.read == report.kept + report.rejected


def test_repeated_documents_keep_the_first(archive: Archive, tmp_path: Path) -> None:
    shape = Shape(seed=7, artists=5, recordings=20)
    r = shape.release(1)
    changed = copy.deepcopy(r)
    changed["title"] = "Second copy"
    src = tmp_path / "release.jsonl"
    src.write_bytes(lines([r, changed]))
    report = ingest_musicbrainz(archive, [src])
    assert report.extra["documents"]["release"] == {"read": 2, "kept": 1, "rejected": 1}
    assert exported(archive, tmp_path)[r["id"]] == r
    assert {x["reason"].split(" (")[0].split(" ")[0] for x in rejects(report)} <= {
        "duplicate",
        "dropped",
    }


def test_artist_documents_own_their_rows_across_ingests(archive: Archive, tmp_path: Path) -> None:
    shape = Shape(seed=9, artists=3, recordings=10)
    artist = next(shape.artist_docs())
    artist = {**artist, "name": "Canonical Name", "sort-name": "Name, Canonical"}
    (tmp_path / "artist.jsonl").write_bytes(lines([artist]))
    ingest_musicbrainz(archive, [tmp_path / "artist.jsonl"])
    releases = [
        r
        for r in shape.releases(30)
        if any(c["artist"]["id"] == artist["id"] for c in r["artist-credit"])
    ]
    assert releases
    (tmp_path / "release.jsonl").write_bytes(lines(releases))
    ingest_musicbrainz(archive, [tmp_path / "release.jsonl"])  # credits say the pool's name
    with CatalogStore(archive).read() as con:
        assert con.execute(
            "SELECT name, sort_name FROM artists WHERE mbid = ?", [artist["id"]]
        ).fetchone() == ("Canonical Name", "Name, Canonical")
    assert exported(archive, tmp_path, "artist")[artist["id"]] == artist
    assert exported(archive, tmp_path, "release") == {r["id"]: r for r in releases}


def test_killed_ingest_resumes_to_the_same_catalog(archive: Archive, tmp_path: Path) -> None:
    archive.toml_path.write_text("musicbrainz_chunk_documents = 7\n")
    archive = Archive.open(archive.root)
    shape = Shape(seed=11, artists=10, recordings=40)
    docs = list(shape.releases(40))
    src = write_archive(tmp_path / "release.tar.xz", "release", lines(docs))
    real_units = mb_ingest.units

    def dying(streams, chunk):  # type: ignore[no-untyped-def]
        for i, unit in enumerate(real_units(streams, chunk)):
            if i == 3:
                raise KeyboardInterrupt  # the process is killed while reading unit 3
            yield unit

    mb_ingest.units = dying  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            ingest_musicbrainz(archive, [src])
    finally:
        mb_ingest.units = real_units  # type: ignore[assignment]
    assert CatalogStore(archive).current_name() is None
    report = ingest_musicbrainz(archive, [src])
    assert 0 < report.units_skipped < report.units == 6  # finished units are not done again
    assert report.extra["documents"]["release"] == {"read": 40, "kept": 40, "rejected": 0}
    assert exported(archive, tmp_path) == {d["id"]: d for d in docs}
    clean = Archive.init(tmp_path / "clean")
    clean.toml_path.write_text("musicbrainz_chunk_documents = 7\n")
    ingest_musicbrainz(Archive.open(clean.root), [src])
    with CatalogStore(archive).read() as a, CatalogStore(Archive.open(clean.root)).read() as b:
        for table in (
            "tracks",
            "albums",
            "artists",
            "track_artists",
            "album_artists",
            "track_isrcs",
            "source_records",
        ):
            q = f"SELECT * FROM {table} ORDER BY ALL"
            assert a.execute(q).fetchall() == b.execute(q).fetchall(), table


def test_edge_values_rebuild_exactly(archive: Archive, tmp_path: Path) -> None:
    """Values the tables would change (case, spaces, invalid codes, nulls) stay in the residual."""
    shape = Shape(seed=13, artists=4, recordings=8)
    r = shape.release(2)
    t = r["media"][0]["tracks"][0]
    t["title"] = "  padded title "
    t["position"] = 40000  # beyond SMALLINT: a value reject, kept in the residual
    t["length"] = None
    t["recording"]["id"] = t["recording"]["id"].upper()
    t["recording"]["isrcs"] = ["us-abc-12-34567", "USABC1234567"]
    del t["artist-credit"][0]["joinphrase"]
    t["artist-credit"][0]["artist"]["id"] = None
    r["barcode"] = "0036000291452 "
    r["date"] = "1999-02-30x"
    r["media"][0]["position"] = None
    r["media"].append({"position": 2, "format": "CD", "track-count": 0, "tracks": []})
    r = orjson.loads(orjson.dumps(r))  # no shared objects between track and recording credits
    if len(r["media"][0]["tracks"]) < 3:
        r["media"][0]["tracks"] += copy.deepcopy(shape.release(3)["media"][0]["tracks"][:2])
    t2, t3 = r["media"][0]["tracks"][1:3]
    for key in ("title", "length", "artist-credit"):
        del t2["recording"][key]  # absent keys the rebuild must not fill from the track
    t2["artist-credit"] = t2["artist-credit"] * 2  # the same artist twice in one credit
    t3["recording"]["artist-credit"][0]["name"] = "Credited otherwise"
    t3["recording"]["title"] = None
    del r["release-group"]["artist-credit"]
    src = tmp_path / "release.jsonl"
    src.write_bytes(lines([r]))
    report = ingest_musicbrainz(archive, [src])
    assert report.extra["documents"]["release"]["kept"] == 1
    assert exported(archive, tmp_path)[r["id"]] == r
    with CatalogStore(archive).read() as con:
        row = con.execute(
            "SELECT title, track_number, mbid, isrc FROM tracks WHERE source_key = ?", [t["id"]]
        ).fetchone()
    assert row == ("padded title", None, t["recording"]["id"].lower(), "USABC1234567")


def test_lzma_module_reads_what_tarfile_writes(tmp_path: Path) -> None:
    """The archives above are real xz streams (what `tar -cJf` makes), not a Python-only format."""
    path = write_archive(tmp_path / "x.tar.xz", "artist", b"{}\n")
    assert lzma.decompress(path.read_bytes())[:512].rstrip(b"\0").startswith(b"TIMESTAMP")


def test_folder_layouts_and_entity_detection(archive: Archive, tmp_path: Path) -> None:
    from longplay.catalog.sources.musicbrainz import dump
    from longplay.errors import InputError

    shape = Shape(seed=17, artists=6, recordings=12)
    extracted = tmp_path / "extracted" / "mbdump"
    extracted.mkdir(parents=True)
    (extracted / "release").write_bytes(lines(list(shape.releases(5))))
    (extracted / "artist").write_bytes(lines(list(shape.artist_docs())))
    odd = tmp_path / "some-export.jsonl"  # no entity in the name: recognized by its first document
    odd.write_bytes(lines(list(shape.recording_docs())))
    streams = dump.resolve([tmp_path / "extracted", odd])
    assert [s.kind for s in streams] == ["artist", "release", "recording"]
    report = ingest_musicbrainz(archive, [tmp_path / "extracted", odd])
    assert {k: v["kept"] for k, v in report.extra["documents"].items()} == {
        "artist": 6,
        "release": 5,
        "recording": 12,
    }
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"hello": 1}\n')
    with pytest.raises(InputError, match="cannot tell which MusicBrainz entity"):
        dump.resolve([junk])
    assert [s.kind for s in dump.resolve([junk], "artist")] == ["artist"]
    with pytest.raises(InputError, match="no MusicBrainz dump here"):
        dump.resolve([tmp_path])  # JSON files, but no dump layout


@pytest.mark.slow
def test_scale_100k_releases_from_an_archive(archive: Archive, tmp_path: Path) -> None:
    """Full size: 100k releases (~1.2M tracks) streamed from a .tar.xz; samples rebuild exactly."""
    import random

    shape = Shape(seed=99, artists=5_000, recordings=800_000)
    payload = tmp_path / "release"
    with open(payload, "wb") as fh:
        for doc in shape.releases(100_000):
            fh.write(orjson.dumps(doc) + b"\n")
    dump = tmp_path / "release.tar.xz"
    with tarfile.open(dump, "w:xz", preset=0) as tar:
        tar.add(payload, arcname="mbdump/release")
    payload.unlink()
    report = ingest_musicbrainz(archive, [dump])
    assert report.extra["documents"]["release"] == {"read": 100_000, "kept": 100_000, "rejected": 0}
    rebuilt = exported(archive, tmp_path, "release")
    assert len(rebuilt) == 100_000
    for n in random.Random(1).sample(range(100_000), 500):
        doc = shape.release(n)
        assert rebuilt[doc["id"]] == orjson.loads(orjson.dumps(doc))
    with CatalogStore(archive).read() as con:
        assert con.execute("SELECT count(*) FROM tracks").fetchone()[0] == report.kept
        assert (
            con.execute("""SELECT count(*) FROM (SELECT mbid FROM tracks GROUP BY mbid
                              HAVING count(DISTINCT recording_id) > 1)""").fetchone()[0]
            == 0
        )
