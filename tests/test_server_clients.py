"""Real Subsonic client libraries against a live server: py-sonic, py-opensonic, subsonic-api."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from serverfixtures import PASSWORD, USER, Live

JS = Path(__file__).parent / "js"


def _host_port(live: Live) -> tuple[str, int]:
    parts = urlsplit(live.base)
    return f"{parts.scheme}://{parts.hostname}", int(parts.port or 80)


@pytest.mark.parametrize("legacy", [False, True], ids=["token", "legacy"])
def test_py_sonic(live: Live, legacy: bool) -> None:
    import libsonic

    host, port = _host_port(live)
    conn = libsonic.Connection(host, USER, PASSWORD, port=port, legacyAuth=legacy, appName="t")
    assert conn.ping()
    artists = conn.getArtists()["artists"]["index"]
    assert artists
    found = conn.search3("", songCount=5)["searchResult3"]
    song = found["song"][0]
    assert conn.getSong(song["id"])["song"]["title"] == song["title"]
    album = conn.getAlbum(song["albumId"])["album"]
    assert song["id"] in {s["id"] for s in album["song"]}
    artist = conn.getArtist(album["artistId"])["artist"]
    assert album["id"] in {a["id"] for a in artist["album"]}
    conn.star(sids=[song["id"]])
    assert conn.getStarred2()["starred2"]["song"][0]["id"] == song["id"]
    conn.unstar(sids=[song["id"]])
    conn.scrobble(song["id"])
    made = conn.createPlaylist(name=f"py-sonic {legacy}", songIds=[song["id"]])
    assert made["status"] == "ok"
    names = {p["name"] for p in conn.getPlaylists()["playlists"]["playlist"]}
    assert f"py-sonic {legacy}" in names


def test_py_opensonic_api_key_extensions_and_index_queue(live: Live) -> None:
    import libopensonic

    host, port = _host_port(live)
    conn = libopensonic.Connection(host, api_key=live.api_key, port=port, app_name="t")
    assert conn.ping()
    assert conn.token_info().username == USER
    names = {e.name for e in conn.get_open_subsonic_extensions()}
    assert {"apiKeyAuthentication", "indexBasedQueue", "formPost"} <= names
    songs = conn.search3("", song_count=3).song
    ids = [s.id for s in songs]
    assert conn.save_play_queue_by_index(ids=ids, current_index=1, position=250)
    q = conn.get_play_queue_by_index()
    assert q.current_index == 1 and [e.id for e in q.entry] == ids


def test_subsonic_api_npm_package(live: Live) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None or not (JS / "node_modules" / "subsonic-api").is_dir():
        pytest.skip("nodejs or tests/js/node_modules missing (make test installs them)")
    out = subprocess.run(
        [node, str(JS / "client.mjs"), live.base, USER, PASSWORD],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ping"] == "ok" and result["songs"] > 0 and result["album"]
