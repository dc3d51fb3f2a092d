"""XML and JSON snapshots of every response type, as a client sees them.

The archive is deterministic (seeded clips and catalog, stable IDs); dates that are set when a
request runs are replaced by ``<time>``. Regenerate after an intended change with
``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_server_snapshots.py`` and review
the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from xml.dom import minidom

import pytest

from serverfixtures import Live

SNAPSHOTS = Path(__file__).parent / "snapshots" / "server"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
_TIME = re.compile(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_VERSION = re.compile(r'(serverVersion"?[:=]\s*)"[^"]*"')


def _normal(text: str) -> str:
    return _VERSION.sub(r'\1"<version>"', _TIME.sub("<time>", text))


def _check(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    text = _normal(text)
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path} was missing and has been written; review and commit it")
        return
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept an intended change)"
    )


def _calls(live: Live) -> list[tuple[str, str, dict[str, Any]]]:
    albums = live.ok("getAlbumList2", type="alphabeticalByName", size=1)["albumList2"]["album"]
    album = live.ok("getAlbum", id=albums[0]["id"])["album"]
    song, artist = album["song"][0]["id"], album["artistId"]
    live.ok("star", id=song, albumId=album["id"], artistId=artist)
    live.ok("setRating", id=album["id"], rating=4)
    live.ok("scrobble", id=song, time=1_700_000_000_000)
    playlist = live.ok("createPlaylist", name="snap", songId=[song])["playlist"]["id"]
    live.ok("savePlayQueue", id=[song], current=song, position=1000)
    return [
        ("ping", "ping", {}),
        ("getLicense", "getLicense", {}),
        ("getOpenSubsonicExtensions", "getOpenSubsonicExtensions", {}),
        ("getMusicFolders", "getMusicFolders", {}),
        ("getIndexes", "getIndexes", {}),
        ("getArtists", "getArtists", {}),
        ("getArtist", "getArtist", {"id": artist}),
        ("getAlbum", "getAlbum", {"id": album["id"]}),
        ("getSong", "getSong", {"id": song}),
        ("getMusicDirectory", "getMusicDirectory", {"id": album["id"]}),
        ("getGenres", "getGenres", {}),
        ("getArtistInfo2", "getArtistInfo2", {"id": artist}),
        ("getAlbumList", "getAlbumList", {"type": "alphabeticalByName", "size": 3}),
        ("getAlbumList2", "getAlbumList2", {"type": "alphabeticalByArtist", "size": 3}),
        ("getSongsByGenre", "getSongsByGenre", {"genre": "rock", "count": 2, "musicFolderId": 2}),
        ("getTopSongs", "getTopSongs", {"artist": album["artist"], "count": 2}),
        ("getStarred", "getStarred", {}),
        ("getStarred2", "getStarred2", {}),
        ("search2", "search2", {"query": "", "artistCount": 2, "albumCount": 2, "songCount": 2}),
        ("search3", "search3", {"query": "", "artistCount": 2, "albumCount": 2, "songCount": 2}),
        ("getPlaylists", "getPlaylists", {}),
        ("getPlaylist", "getPlaylist", {"id": playlist}),
        ("getPlayQueue", "getPlayQueue", {}),
        ("getPlayQueueByIndex", "getPlayQueueByIndex", {}),
        ("getScanStatus", "getScanStatus", {}),
        ("getUser", "getUser", {}),
        ("getUsers", "getUsers", {}),
        ("tokenInfo", "tokenInfo", {"auth": {"apiKey": live.api_key}}),
        ("error-missing-parameter", "getAlbum", {}),
        ("error-not-found", "getAlbum", {"id": "al-1"}),
        ("error-not-implemented", "getPodcasts", {}),
        ("error-gone", "search", {}),
    ]


def test_snapshots(live: Live) -> None:
    for label, endpoint, params in _calls(live):
        body = live.get(endpoint, **params)
        _check(f"{label}.json", json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        xml = live.get(endpoint, f="xml", **params).text
        pretty = minidom.parseString(xml).toprettyxml(indent="  ")
        _check(f"{label}.xml", pretty)
