"""search3 through the search index: words anywhere in a name, folded accents, typos, prefixes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from longplay.archive import Archive
from longplay.catalog.sources import ingest_flat
from longplay.server import accounts
from serverfixtures import PASSWORD, USER, Live, start

RECORDS = [
    ("t1", "Jóga", "Björk", "Homogenic", 70),
    ("t2", "Hunter", "Björk", "Homogenic", 40),
    ("t3", "Bohemian Rhapsody", "Queen", "A Night at the Opera", 90),
    ("t4", "Rhapsody in Blue", "George Gershwin", "Gershwin Plays", 30),
    ("t5", "光の港", "Harbour Lights", "港", 10),
]


def _archive(root: Path) -> Archive:
    archive = Archive.init(root / "archive")
    archive.toml_path.write_text("auth_attempts_per_minute = 0\n")
    archive = Archive.open(archive.root)
    lines = [
        json.dumps(
            {
                "track_key": key,
                "title": title,
                "artists": [{"key": artist, "name": artist, "mbid": None, "join_phrase": ""}],
                "album_key": album,
                "album_title": album,
                "popularity": popularity,
                "duration_ms": 200_000,
            }
        )
        for key, title, artist, album, popularity in RECORDS
    ]
    (root / "tracks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_flat(archive, [root / "tracks.jsonl"], "tests")
    accounts.add_user(archive, USER, PASSWORD, admin=True)
    return archive


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from netutil import free_port, wait_for

    archive = _archive(tmp_path_factory.mktemp("search3"))
    port = free_port()
    server, thread = start(archive, port)
    wait_for("the server", lambda: server.started, 30, every=0.05)
    with httpx.Client(timeout=30) as client:
        yield Live(archive, f"http://127.0.0.1:{port}", "", client)
    server.should_exit = True
    thread.join(15)


def titles(live: Live, query: str) -> list[str]:
    body = live.ok("search3", query=query, musicFolderId=2, artistCount=0, albumCount=0)
    return [s["title"] for s in body["searchResult3"].get("song", [])]


def test_search3_uses_the_index_once_it_is_built(served: Live) -> None:
    # Without an index: name prefixes only, so a word in the middle of a title is not found.
    assert titles(served, "rhapsody") == ["Rhapsody in Blue"]
    from longplay.search.build import build_index

    build_index(served.archive, workers=1)
    found = titles(served, "rhapsody")
    assert found[0] == "Bohemian Rhapsody" and "Rhapsody in Blue" in found  # popular first
    assert titles(served, "bjork joga") == ["Jóga"]  # folded accents, words of two fields
    assert titles(served, "bohemian rhaps") == ["Bohemian Rhapsody"]  # the last word a prefix
    assert "Bohemian Rhapsody" in titles(served, "quen bohemain")  # typos
    assert titles(served, "港")[:1] == ["光の港"]  # CJK by character
    # The first key typed: every song with a title or artist word starting with it.
    found = titles(served, "b")
    assert sorted(found) == ["Bohemian Rhapsody", "Hunter", "Jóga", "Rhapsody in Blue"], found
    assert found[0] == "Bohemian Rhapsody"


def test_text_the_query_language_refuses_falls_back_instead_of_failing(served: Live) -> None:
    body = served.get("search3", query='"bohem', musicFolderId=2)["subsonic-response"]
    assert body["status"] == "ok"  # a quote still open while someone types is not an error
    everything = served.ok("search3", query='""', musicFolderId=2, songCount=50)
    assert len(everything["searchResult3"]["song"]) == len(RECORDS)
