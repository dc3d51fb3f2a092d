"""Recording identity across sources: ISRC and MBID chains, canonical tracks, provenance, dedup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from longplay.archive import Archive
from longplay.catalog import sources
from longplay.catalog.dedup import dedup, format_report
from longplay.catalog.sources.musicbrainz import ingest_musicbrainz
from longplay.catalog.store import CatalogStore
from longplay.testing.musicbrainz_docs import Shape

M1 = "11111111-1111-4111-8111-111111111111"
M2 = "22222222-2222-4222-8222-222222222222"


def flat(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def groups(archive: Archive) -> dict[str, tuple[int, bool]]:
    with CatalogStore(archive).read() as con:
        return {
            k: (r, c)
            for k, r, c in con.execute(
                "SELECT source || ':' || source_key, recording_id, is_canonical FROM tracks"
            ).fetchall()
        }


def test_chain_by_isrc_then_mbid_is_one_recording(archive: Archive, tmp_path: Path) -> None:
    rows = [
        {"track_key": "a", "title": "A", "isrc": "USAAA0000001", "listen_count": 5},
        {"track_key": "b", "title": "B", "isrc": "USAAA0000001", "mbid": M1, "listen_count": 50},
        {"track_key": "c", "title": "C", "mbid": M1.upper(), "listen_count": 1},
        {"track_key": "d", "title": "D", "isrc": "USAAA0000002", "mbid": M2},
        {"track_key": "e", "title": "E"},
        {"track_key": "f", "title": "F"},
    ]
    sources.ingest_flat(archive, [flat(tmp_path / "t.jsonl", rows)], "label")
    g = groups(archive)
    assert g["label:a"][0] == g["label:b"][0] == g["label:c"][0]  # A–B by ISRC, B–C by MBID
    assert len({g["label:a"][0], g["label:d"][0], g["label:e"][0], g["label:f"][0]}) == 4
    assert [k for k, (_, canon) in sorted(g.items()) if canon] == [
        "label:b",
        "label:d",
        "label:e",
        "label:f",
    ]


def test_second_isrc_of_a_recording_links_and_sources_keep_their_keys(
    archive: Archive, tmp_path: Path
) -> None:
    shape = Shape(seed=4, artists=5, recordings=10)
    release = shape.release(0)
    track = release["media"][0]["tracks"][0]
    track["recording"]["isrcs"] = ["GBAAA9900001", "GBAAA9900002"]
    mb = tmp_path / "release.jsonl"
    mb.write_bytes(orjson.dumps(release) + b"\n")
    ingest_musicbrainz(archive, [mb])
    # Another source knows the recording only by its second ISRC, and has its own keys.
    sources.ingest_flat(
        archive,
        [
            flat(
                tmp_path / "label.jsonl",
                [
                    {
                        "track_key": "L-1",
                        "title": "Same song",
                        "isrc": "GBAAA9900002",
                        "listen_count": 10**6,
                    }
                ],
            )
        ],
        "label",
    )
    g = groups(archive)
    assert g["label:L-1"][0] == g[f"musicbrainz:{track['id']}"][0]
    assert (
        g["label:L-1"][1] and not g[f"musicbrainz:{track['id']}"][1]
    )  # most listened is canonical
    with CatalogStore(archive).read() as con:
        by_source = dict(
            con.execute("SELECT source, count(*) FROM tracks GROUP BY source").fetchall()
        )
        assert by_source == {
            "musicbrainz": sum(len(m["tracks"]) for m in release["media"]),
            "label": 1,
        }
        assert con.execute("SELECT source_key FROM tracks WHERE source = 'label'").fetchall() == [
            ("L-1",)
        ]
        assert (
            con.execute(
                "SELECT count(*) FROM source_records WHERE source = 'musicbrainz'"
            ).fetchone()[0]
            == 1
        )
    # Ingesting MusicBrainz again (a later dump) keeps the other source's rows and keys too.
    ingest_musicbrainz(archive, [mb])
    g2 = groups(archive)
    assert set(g2) == set(g) and g2["label:L-1"] == g["label:L-1"]


def test_dedup_reports_groups_and_marks_canonical(archive: Archive, tmp_path: Path) -> None:
    rows = [
        {
            "track_key": f"t{i}",
            "title": f"T{i}",
            "isrc": f"USAAA00000{i % 3:02d}",
            "listen_count": i,
        }
        for i in range(9)
    ] + [{"track_key": "solo", "title": "Solo"}]
    sources.ingest_flat(archive, [flat(tmp_path / "t.jsonl", rows)], "label")
    report = dedup(archive)
    assert report["generation"] == "gen-000002"
    assert (
        report["tracks"],
        report["unique_isrcs"],
        report["isrcs_shared"],
        report["tracks_sharing_an_isrc"],
    ) == (10, 3, 3, 9)
    assert (report["groups"], report["groups_with_several_tracks"], report["canonical_tracks"]) == (
        4,
        3,
        4,
    )
    assert report["redundant_tracks"] == 6
    assert report["group_sizes"] == [{"size": 1, "groups": 1}, {"size": 3, "groups": 3}]
    assert [g["tracks"] for g in report["largest"]] == [3, 3, 3, 1]
    assert {g["canonical"]["source_key"] for g in report["largest"][:3]} == {
        "t6",
        "t7",
        "t8",
    }  # most listens
    text = format_report(report)
    assert "tracks sharing an isrc" in text and "largest groups" in text


def test_a_track_that_stops_sharing_a_key_becomes_its_own_recording(
    archive: Archive, tmp_path: Path
) -> None:
    from longplay.catalog.identifiers import stable_id

    rows = [
        {"track_key": "a", "title": "A", "isrc": "USAAA0000001", "listen_count": 1},
        {"track_key": "b", "title": "B", "isrc": "USAAA0000001", "listen_count": 9},
    ]
    sources.ingest_flat(archive, [flat(tmp_path / "v1.jsonl", rows)], "label")
    g = groups(archive)
    assert g["label:b"] == (g["label:a"][0], True) and g["label:a"][1] is False
    # A later generation corrects b's ISRC: a and b are two recordings, each canonical (a's row
    # is not rewritten by the ingest; identity must notice it no longer shares its key).
    sources.ingest_flat(
        archive, [flat(tmp_path / "v2.jsonl", [{**rows[1], "isrc": "USAAA0000002"}])], "label"
    )
    g = groups(archive)
    assert g["label:a"] == (stable_id("isrc:USAAA0000001"), True)
    assert g["label:b"] == (stable_id("isrc:USAAA0000002"), True)
