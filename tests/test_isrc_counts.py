"""stats and dedup count every ISRC a track carries; dedup names groups by stable ID, checks --top."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from longplay.archive import Archive
from longplay.catalog import sources
from longplay.catalog.dedup import dedup, format_report
from longplay.catalog.export import export
from longplay.catalog.identifiers import stable_id
from longplay.catalog.sources.musicbrainz import ingest_musicbrainz
from longplay.catalog.stats import catalog_stats, format_stats
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError
from longplay.testing.musicbrainz_docs import Shape

FIRST, SECOND, OTHER = "GBAAA9900001", "GBAAA9900002", "GBAAA9900003"


def release_with_two_isrcs(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """One release: its first track's recording has two ISRCs, its second one, the rest none."""
    release = Shape(seed=4, artists=5, recordings=10).release(0)
    tracks = [t for m in release["media"] for t in m["tracks"]]
    assert len(tracks) >= 2
    for t in tracks:
        t["recording"]["isrcs"] = []
    tracks[0]["recording"]["isrcs"] = [FIRST, SECOND]
    tracks[1]["recording"]["isrcs"] = [OTHER]
    path = tmp_path / "release.jsonl"
    path.write_bytes(orjson.dumps(release) + b"\n")
    return path, release


def test_stats_count_a_recordings_second_isrc(archive: Archive, tmp_path: Path) -> None:
    path, _ = release_with_two_isrcs(tmp_path)
    ingest_musicbrainz(archive, [path])
    s = catalog_stats(CatalogStore(archive))
    assert s["unique_isrcs"] == 3  # FIRST, SECOND and OTHER: tracks.isrc alone holds two
    assert s["tracks_with_isrc"] == 2
    assert "unique isrcs                 3" in format_stats(s)


def test_an_isrc_in_two_places_counts_once(archive: Archive, tmp_path: Path) -> None:
    # A label knows the recording by its second ISRC: that ISRC is now shared, not new.
    path, _ = release_with_two_isrcs(tmp_path)
    ingest_musicbrainz(archive, [path])
    label = tmp_path / "label.jsonl"
    label.write_bytes(orjson.dumps({"track_key": "L-1", "title": "Same", "isrc": SECOND}) + b"\n")
    sources.ingest_flat(archive, [label], "label")
    s = catalog_stats(CatalogStore(archive))
    assert (s["unique_isrcs"], s["tracks_with_isrc"]) == (3, 3)


def test_dedup_counts_every_isrc_and_names_groups_by_stable_id(
    archive: Archive, tmp_path: Path
) -> None:
    path, release = release_with_two_isrcs(tmp_path)
    ingest_musicbrainz(archive, [path])
    label = tmp_path / "label.jsonl"
    label.write_bytes(orjson.dumps({"track_key": "L-1", "title": "Same", "isrc": SECOND}) + b"\n")
    sources.ingest_flat(archive, [label], "label")
    report = dedup(archive, top=1)
    assert (report["tracks_with_isrc"], report["unique_isrcs"]) == (3, 3)
    # SECOND is carried by the MusicBrainz track (as its second ISRC) and the label's track.
    assert (report["isrcs_shared"], report["tracks_sharing_an_isrc"]) == (1, 2)
    (group,) = report["largest"]
    assert (group["tracks"], group["isrcs"], group["sources"]) == (2, 2, ["label", "musicbrainz"])
    # The group's ID is the stable ID of its smallest key, the value a release stores in
    # tracks.recording_id, printed the same way in the JSON and the text report.
    first = release["media"][0]["tracks"][0]
    keys = [f"isrc:{FIRST}", f"isrc:{SECOND}", f"mbid:{first['recording']['id']}"]
    assert group["recording_id"] == min(stable_id(k) for k in keys)
    out = export(CatalogStore(archive), "sqlite", tmp_path / "release.sqlite")[0]
    with sqlite3.connect(out) as db:
        released = db.execute(
            "SELECT DISTINCT recording_id FROM tracks WHERE source = 'label'"
        ).fetchall()
    assert released == [(group["recording_id"],)]
    assert json.loads(json.dumps(report))["largest"][0]["recording_id"] == released[0][0]
    assert f" {released[0][0]} " in format_report(report)


def test_dedup_refuses_a_negative_top_before_any_work(archive: Archive) -> None:
    with pytest.raises(InputError, match=r"top \(--top\) must be 0 or more, not -1"):
        dedup(archive, top=-1)
    assert CatalogStore(archive).current_name() is None
