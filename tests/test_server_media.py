"""stream, download, getCoverArt and lyrics over HTTP against a live server.

The streaming and cover modules come from the media work (server/streaming.py, audio/live.py,
audio/covers.py); the tests that need them are skipped until those modules are present.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from serverfixtures import Live


def _held_song(live: Live) -> dict[str, object]:
    songs = live.ok("search3", query="", songCount=50)["searchResult3"]["song"]
    flac = [s for s in songs if s["suffix"] == "flac"]
    return flac[0] if flac else songs[0]


def _path_of(live: Live, song_id: str) -> Path:
    view = live.archive  # the file the server streams: found through the held file, as it does
    from longplay.catalog.browse import Browse
    from longplay.catalog.serving import serving_dir

    gen = (view.catalog_dir / "CURRENT").read_text().strip()
    b = Browse(serving_dir(view) / f"{gen}.sqlite", serving_dir(view) / f"held-{gen}.sqlite")
    track = b.track(int(song_id[3:]))
    assert track is not None and track.path
    return Path(track.path)


def test_ids_never_reach_files_outside_the_archive(live: Live) -> None:
    for bad in ("../../etc/passwd", "tr-../../etc/passwd", "/etc/passwd", "tr-1"):
        for name in ("stream", "download", "getCoverArt", "getLyricsBySongId"):
            res = live.get(name, id=bad)
            body = res["subsonic-response"]
            assert body["status"] == "failed" and body["error"]["code"] == 70, (name, bad)


def test_a_song_the_archive_does_not_hold_is_listed_but_not_streamable(live: Live) -> None:
    songs = live.ok("search3", query="", songCount=100, musicFolderId=2)["searchResult3"]["song"]
    missing = next(s for s in songs if not s["held"])
    body = live.get("stream", id=missing["id"])["subsonic-response"]
    assert body["error"]["code"] == 70 and "holds no file" in body["error"]["message"]


def test_raw_stream_with_ranges(live: Live) -> None:
    pytest.importorskip("longplay.server.streaming")
    song = _held_song(live)
    data = _path_of(live, str(song["id"])).read_bytes()
    params = {**live.auth(), "id": song["id"]}
    whole = live.client.get(f"{live.base}/rest/stream", params=params)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers.get("etag")
    assert whole.headers["content-type"].startswith(str(song["contentType"]))
    assert int(whole.headers["content-length"]) == len(data)
    part = live.client.get(
        f"{live.base}/rest/stream", params=params, headers={"Range": "bytes=100-1099"}
    )
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    dl = live.client.get(f"{live.base}/rest/download", params=params)
    assert dl.content == data
    # stream is not a play
    assert live.ok("getSong", id=song["id"])["song"].get("playCount", 0) == 0


def test_opus_transcode_plays_with_the_right_duration_and_offset(live: Live) -> None:
    pytest.importorskip("longplay.server.streaming")
    import av

    song = _held_song(live)
    for offset, want in ((0, 3.0), (1, 2.0)):
        res = live.client.get(
            f"{live.base}/rest/stream",
            params={**live.auth(), "id": song["id"], "format": "opus", "timeOffset": offset},
        )
        assert res.status_code == 200 and res.content[:4] == b"OggS"
        with av.open(io.BytesIO(res.content)) as f:
            samples = sum(frame.samples for frame in f.decode(audio=0))
            rate = f.streams.audio[0].rate or 48000
        assert abs(samples / rate - want) < 0.15, (offset, samples / rate)


def test_cover_art_is_resized(live: Live) -> None:
    pytest.importorskip("longplay.audio.covers")
    from PIL import Image

    song = _held_song(live)
    folder = _path_of(live, str(song["id"])).parent
    if not any(folder.glob("cover.*")):
        Image.new("RGB", (640, 480), (200, 30, 30)).save(folder / "cover.jpg")
    res = live.client.get(
        f"{live.base}/rest/getCoverArt", params={**live.auth(), "id": song["albumId"], "size": 64}
    )
    assert res.status_code == 200 and res.headers["content-type"].startswith("image/")
    assert max(Image.open(io.BytesIO(res.content)).size) <= 64


def test_lyrics_by_song_id_answers_a_list(live: Live) -> None:
    pytest.importorskip("longplay.audio.covers")
    song = _held_song(live)
    got = live.ok("getLyricsBySongId", id=song["id"])["lyricsList"]
    assert isinstance(got.get("structuredLyrics", []), list)
