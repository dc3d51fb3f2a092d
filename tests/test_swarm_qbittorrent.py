"""A song the mirror does not hold, streamed from qbittorrent-nox seeding the hybrid torrents."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import pytest

from clients import QBittorrent, qbt_has_all
from longplay.pack.listing import read_listing
from packfixtures import clips, packed_archive
from swarmfixtures import Served, audio_tracks, mirror_archive

pytestmark = pytest.mark.clients


def test_stream_not_held_songs_from_qbittorrent(tmp_path: Path) -> None:
    publisher, _ = packed_archive(tmp_path / "publisher", clips(tmp_path / "music"))
    tracks = audio_tracks(publisher)
    with QBittorrent(tmp_path / "qbt") as qbt:
        for e in read_listing(publisher.torrents_dir / "torrents.json").torrents:
            qbt.add_torrent((publisher.torrents_dir / e.file).read_bytes(), publisher.files_dir)
            qbt.wait_state(e.info_hash_v1, qbt_has_all, f"{e.name} to seed", timeout=60)
        served = Served(mirror_archive(tmp_path / "mirror", publisher, qbt.port, timeout=5))
        try:
            t = tracks[0]
            res = served.live.get("stream", f="raw", id=t.wid)
            assert res.status_code == 200, res.text[:300]
            assert res.content == t.original.read_bytes()
            data = tracks[1].original.read_bytes()
            a, b = len(data) // 4, len(data) // 2
            part = served.client.get(
                f"{served.live.base}/rest/stream",
                params={**served.live.auth(), "id": tracks[1].wid},
                headers={"Range": f"bytes={a}-{b}"},
            )
            assert part.status_code == 206 and part.content == data[a : b + 1]
            opus = served.live.get("stream", f="raw", id=tracks[2].wid, format="opus")
            with av.open(io.BytesIO(opus.content)) as c:
                assert sum(f.samples for f in c.decode(audio=0)) > 0
            qbt.stop()  # the only seeder goes away
            t0 = time.monotonic()
            body = served.live.get("stream", id=tracks[-1].wid)["subsonic-response"]
            assert body["status"] == "failed"
            assert "not available right now" in body["error"]["message"]
            assert time.monotonic() - t0 < 5 + 4
        finally:
            served.close()
