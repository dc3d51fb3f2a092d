"""Songs carry replayGain and bpm from `analyze`, picked up by a running server without restart."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any
from urllib.parse import urlsplit
from xml.dom import minidom

import pytest

from longplay.archive import Archive
from longplay.audio.analysisdb import AnalysisStore
from longplay.audio.analyze import analyze
from longplay.audio.trackanalysis import analysis_for_tracks, payload_tracks
from serverfixtures import Live
from test_server_api import valid
from test_server_snapshots import _check


def _held_song(live: Live) -> dict[str, Any]:
    songs = live.ok("search3", query="", songCount=50, artistCount=0, albumCount=0)
    return next(s for s in songs["searchResult3"]["song"] if s["held"])


def _wait_song(live: Live, song_id: str, ready: Any, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        song = live.ok("getSong", id=song_id)["song"]
        if ready(song):
            return song
        assert time.monotonic() < deadline, f"the server did not pick up the analysis: {song}"
        time.sleep(0.3)


def test_songs_carry_replaygain_and_bpm_after_analyze(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    song = _held_song(live)
    assert "replayGain" not in song and "bpm" not in song  # nothing analyzed yet

    monkeypatch.setenv("LONGPLAY_ANALYSIS_ESSENTIA", "false")  # fast and the same everywhere
    summary = analyze(Archive.open(live.archive.root), workers=1)
    assert summary.analyzed == 10 and summary.rejected == 0
    got = _wait_song(live, song["id"], lambda s: "replayGain" in s)

    track_id = int(song["id"][3:])
    expected = analysis_for_tracks(live.archive, [track_id])[track_id]
    rg = got["replayGain"]
    assert rg["trackGain"] == pytest.approx(expected.replaygain_track_gain_db)
    assert rg["trackPeak"] == pytest.approx(expected.replaygain_track_peak)
    assert rg["albumGain"] == pytest.approx(expected.replaygain_album_gain_db)
    assert rg["albumPeak"] == pytest.approx(expected.replaygain_album_peak)
    assert "bpm" not in got  # no Essentia: absent, not guessed
    valid("getSong", live.get("getSong", id=song["id"]))

    # Every song of an album answer has them; catalog-only songs do not.
    album = live.ok("getAlbum", id=got["albumId"])["album"]
    assert all(("replayGain" in s) == s["held"] for s in album["song"])
    valid("getAlbum", live.get("getAlbum", id=got["albumId"]))

    body = live.get("getSong", id=song["id"])
    _check("getSong-analyzed.json", json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    xml = live.get("getSong", f="xml", id=song["id"]).text
    _check("getSong-analyzed.xml", minidom.parseString(xml).toprettyxml(indent="  "))

    # A later run that adds a tempo (what Essentia stores) is picked up too, rounded.
    with AnalysisStore(live.archive) as store:
        payload = {t: p for p, t in payload_tracks(live.archive, store).items()}[track_id]
        features = store.features([payload])[payload]
        store.record(dataclasses.replace(features, bpm=119.6), [])
    got = _wait_song(live, song["id"], lambda s: "bpm" in s)
    assert got["bpm"] == 120 and got["replayGain"] == rg
    valid("getSong", live.get("getSong", id=song["id"]))

    # A real client reads them.
    import libopensonic

    parts = urlsplit(live.base)
    conn = libopensonic.Connection(
        f"{parts.scheme}://{parts.hostname}", api_key=live.api_key, port=parts.port, app_name="t"
    )
    child = conn.get_song(song["id"])
    assert child.replay_gain is not None
    assert child.replay_gain.track_gain == pytest.approx(rg["trackGain"])
    assert child.bpm == 120


def test_a_broken_analysis_database_keeps_the_values_served(live: Live) -> None:
    """Runs after the test above: a damaged analysis.sqlite must not take songs or the server down."""
    song = _held_song(live)
    before = live.ok("getSong", id=song["id"])["song"].get("replayGain")
    base = live.archive.root / "analysis" / "analysis.sqlite"
    for extra in ("-wal", "-shm"):
        base.with_name(base.name + extra).unlink(missing_ok=True)
    base.write_bytes(b"this is not a database" * 100)
    time.sleep(4)  # past the quiet time: the follower has tried and failed
    assert live.ok("getSong", id=song["id"])["song"].get("replayGain") == before
    assert live.ok("getAlbum", id=song["albumId"])["album"]["song"]
