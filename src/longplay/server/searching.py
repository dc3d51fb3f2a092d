"""Search endpoints: search2 and search3 (an empty query, or a literal ``""``, lists everything).

Until the search index serves the server, matching is by name prefix on the serving snapshot's
sort keys: one index range per kind, paged by key, bounded at any catalog size.
"""

from __future__ import annotations

from typing import Any

from longplay.catalog.browse import Album, Artist, Track
from longplay.server import convert
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint


def _search(call: Call) -> tuple[list[Artist], list[Album], list[Track]]:
    query = call.get("query", "") or ""
    b, held = call.view.browse, call.held_only()

    def kind(name: str, prefix: str) -> list[Any]:
        count = call.int(f"{prefix}Count", 20)
        if not count:
            return []
        return b.search(query, name, count, call.int(f"{prefix}Offset", 0) or 0, held)

    return kind("artist", "artist"), kind("album", "album"), kind("track", "song")


@endpoint("search3")
def search3(call: Call) -> r.Payload:
    artists, albums, tracks = _search(call)
    con, uid = call.state, call.user.user_id
    return r.Payload(
        "searchResult3",
        {
            "artist": convert.artists(con, uid, artists),
            "album": convert.albums(con, uid, albums),
            "song": convert.songs(con, uid, tracks),
        },
    )


@endpoint("search2")
def search2(call: Call) -> r.Payload:
    artists, albums, tracks = _search(call)
    con, uid = call.state, call.user.user_id
    dirs = [
        r.Child(
            id=a.id,
            isDir=True,
            title=a.name,
            album=a.name,
            artist=a.artist,
            parent=a.artistId,
            year=a.year,
            coverArt=a.coverArt,
        )
        for a in convert.albums(con, uid, albums)
    ]
    return r.Payload(
        "searchResult2",
        {
            "artist": [{"id": r.wire_id(r.ARTIST, a.artist_id), "name": a.name} for a in artists],
            "album": dirs,
            "song": convert.songs(con, uid, tracks),
        },
    )
