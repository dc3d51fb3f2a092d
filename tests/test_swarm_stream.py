"""Songs a mirror does not hold, streamed just in time from a real Longplay seeder on loopback.

One publisher seeds for the module; the mirror holds the catalog (imported release) and the
torrents, no audio. Raw bytes, a Range in the middle, a transcode with timeOffset (decoded
with PyAV), the cache and its manifest check, availability marks, and the seeder gone.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from longplay.archive import Archive
from packfixtures import clips, packed_archive
from seeding import Seeder
from swarmfixtures import Served, Track, audio_tracks, mirror_archive


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, Seeder, Served]]:
    root = tmp_path_factory.mktemp("swarm")
    publisher, _ = packed_archive(root / "publisher", clips(root / "music"))
    seeder = Seeder(publisher.root)
    mirror = mirror_archive(root / "mirror", publisher, seeder.port)
    served = Served(mirror)
    yield publisher, seeder, served
    served.close()
    seeder.close()


@pytest.fixture(scope="module")
def tracks(world: tuple[Archive, Seeder, Served]) -> list[Track]:
    return audio_tracks(world[0])


def _songs(served: Served, tracks: list[Track]) -> dict[str, dict[str, object]]:
    return {t.wid: served.live.ok("getSong", id=t.wid)["song"] for t in tracks}


def test_not_held_song_streams_bytes_equal_to_the_original(
    world: tuple[Archive, Seeder, Served], tracks: list[Track]
) -> None:
    _, _, served = world
    t = tracks[0]
    assert served.swarm is None or not served.swarm.started  # lazily, on the first need
    res = served.live.get("stream", f="raw", id=t.wid)
    assert res.status_code == 200, res.text[:300]
    assert res.headers["content-length"] == str(t.row.size)
    assert res.content == t.original.read_bytes()
    # It stays in the cache and is checked against its manifest hash, then kept seeding.
    cached = served.live.archive.root / "cache" / "swarm" / t.torrent / t.row.path
    assert cached.read_bytes() == t.original.read_bytes()
    swarm = served.swarm
    place = swarm.place(t.row.track_id)
    deadline = time.monotonic() + 15
    while not swarm.is_verified(place) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert swarm.is_verified(place)
    # download of the same song: the same bytes again, now from the cache.
    again = served.live.get("download", f="raw", id=t.wid)
    assert again.content == t.original.read_bytes()


def test_range_in_the_middle(world: tuple[Archive, Seeder, Served], tracks: list[Track]) -> None:
    _, _, served = world
    t = tracks[1]
    data = t.original.read_bytes()
    a, b = len(data) // 3, 2 * len(data) // 3
    res = served.client.get(
        f"{served.live.base}/rest/stream",
        params={**served.live.auth(), "id": t.wid},
        headers={"Range": f"bytes={a}-{b}"},
    )
    assert res.status_code == 206
    assert res.headers["content-range"] == f"bytes {a}-{b}/{len(data)}"
    assert res.content == data[a : b + 1]
    tail = served.client.get(
        f"{served.live.base}/rest/stream",
        params={**served.live.auth(), "id": t.wid},
        headers={"Range": "bytes=-1000"},
    )
    assert tail.status_code == 206 and tail.content == data[-1000:]


def test_transcode_with_time_offset_decodes(
    world: tuple[Archive, Seeder, Served], tracks: list[Track]
) -> None:
    _, _, served = world
    t = tracks[2]
    res = served.live.get("stream", f="raw", id=t.wid, format="opus", timeOffset=1)
    assert res.status_code == 200 and res.headers["content-type"].startswith("audio/ogg")
    with av.open(io.BytesIO(res.content)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
        rate = c.streams.audio[0].rate
    total = (t.row.duration_ms or 0) / 1000
    assert abs(samples / rate - (total - 1)) < 0.1, (samples / rate, total)


def test_songs_not_held_are_marked_playable_when_a_peer_has_them(
    world: tuple[Archive, Seeder, Served], tracks: list[Track]
) -> None:
    _, _, served = world

    def marks() -> dict[str, object]:
        return {k: v.get("playable") for k, v in _songs(served, tracks).items()}

    deadline = time.monotonic() + 20  # the first answers probe the torrents in the background
    while not all(marks().values()) and time.monotonic() < deadline:
        time.sleep(0.3)
    found = marks()
    assert found and all(v is True for v in found.values()), found
    assert all(s["held"] is False for s in _songs(served, tracks).values())


def test_web_player_knows_playable_songs() -> None:
    static = Path(__file__).parent.parent / "src" / "longplay" / "server" / "web" / "static"
    assert "s.playable === true" in (static / "dom.js").read_text()
    assert "canPlay" in (static / "views.js").read_text()


def test_cache_evicts_the_least_recently_played(
    world: tuple[Archive, Seeder, Served], tracks: list[Track]
) -> None:
    _, _, served = world
    cache = served.live.archive.root / "cache" / "swarm"
    first = tracks[0]
    other = next(t for t in tracks[3:] if t.torrent != first.torrent)
    # Tests of a module may run on different workers: this one fetches what it needs, and
    # the swarm service exists once something has been asked of it.
    assert served.live.get("stream", f="raw", id=first.wid).content == first.original.read_bytes()
    assert (cache / first.torrent / first.row.path).is_file()
    swarm = served.swarm
    assert swarm is not None
    swarm.cache_bytes = 1  # everything but what is being played must go
    res = served.live.get("stream", f="raw", id=other.wid)
    assert res.content == other.original.read_bytes()
    assert not (cache / first.torrent / first.row.path).exists()
    assert (cache / other.torrent / other.row.path).is_file()
    assert f"{first.torrent}/{first.row.path}" not in (cache / "index.json").read_text()
    # Played again, the evicted song is fetched again (its torrent re-added and re-checked).
    swarm.cache_bytes = 10**9
    again = served.live.get("stream", f="raw", id=first.wid)
    assert again.content == first.original.read_bytes()


def test_seeder_gone_answers_within_the_timeout(
    world: tuple[Archive, Seeder, Served], tracks: list[Track]
) -> None:
    _, seeder, served = world
    kept = tracks[4]
    assert served.live.get("stream", f="raw", id=kept.wid).content == kept.original.read_bytes()
    seeder.close()  # last test of the module: the publisher stops seeding
    cache = served.live.archive.root / "cache" / "swarm"
    # A song none of whose bytes came (probes fetch a torrent's smallest file at a trickle).
    t = next(x for x in reversed(tracks) if not (cache / x.torrent / x.row.path).exists())
    t0 = time.monotonic()
    body = served.live.get("stream", id=t.wid)["subsonic-response"]
    took = time.monotonic() - t0
    assert body["status"] == "failed" and "not available right now" in body["error"]["message"]
    assert took < 3.0 + 4.0, took
    # A song already in the cache still plays without any peer.
    res = served.live.get("stream", f="raw", id=kept.wid)
    assert res.content == kept.original.read_bytes()
