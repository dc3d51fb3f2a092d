"""List endpoints: album lists of every type, random songs, songs by genre, starred items.

Types the catalog answers (newest, alphabetical, byYear, byGenre, random) come from the serving
snapshot; those that depend on the user (frequent, recent, highest, starred) from state.sqlite,
then resolved against the snapshot.
"""

from __future__ import annotations

from longplay.catalog.browse import MAX_PAGE, Album, page
from longplay.server import convert
from longplay.server import library_state as ls
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint
from longplay.server.errors import SubsonicError, missing

CATALOG_TYPES = {"newest", "alphabeticalByName", "alphabeticalByArtist", "byYear", "byGenre"}
STATE_TYPES = {"frequent", "recent", "highest", "starred"}


def _albums(call: Call) -> list[Album]:
    kind = call.require("type")
    size, offset = page(call.int("size", 10) or 0, call.int("offset", 0) or 0)
    held = call.held_only()
    b = call.view.browse
    if kind == "byYear":
        if call.get("fromYear") is None or call.get("toYear") is None:
            raise missing("fromYear" if call.get("fromYear") is None else "toYear")
        call.shared = True
        return b.album_list(
            kind, size, offset, held, from_year=call.int("fromYear"), to_year=call.int("toYear")
        )
    if kind == "byGenre":
        call.shared = True
        return b.album_list(kind, size, offset, held, genre=call.require("genre"))
    if kind in CATALOG_TYPES:
        call.shared = True  # the same for everyone on this generation (random is not)
        return b.album_list(kind, size, offset, held)
    if kind == "random":
        return b.album_list(kind, size, offset, held)
    if kind not in STATE_TYPES:
        raise SubsonicError(0, f"unknown album list type {kind[:40]!r}")
    uid = call.user.user_id
    if kind in ("frequent", "recent"):
        ids = ls.albums_by_plays(call.state, uid, kind, size, offset)
    elif kind == "highest":
        ids = [int(i[3:]) for i in ls.highest_rated(call.state, uid, r.ALBUM, size, offset)]
    else:
        starred = ls.starred(call.state, uid, r.ALBUM, offset + size)[offset:]
        ids = [int(i[3:]) for i, _ in starred]
    return b.albums(ids)


@endpoint("getAlbumList2")
def get_album_list2(call: Call) -> r.Payload:
    albums = convert.albums(call.state, call.user.user_id, _albums(call))
    return r.Payload("albumList2", {"album": albums})


@endpoint("getAlbumList")
def get_album_list(call: Call) -> r.Payload:
    """The folder flavour: albums as directories."""
    dirs = convert.album_dirs(call.state, call.user.user_id, _albums(call))
    return r.Payload("albumList", {"album": dirs})


@endpoint("getRandomSongs")
def get_random_songs(call: Call) -> r.Payload:
    tracks = call.view.browse.random_tracks(
        call.int("size", 10) or 10,
        call.held_only(),
        genre=call.get("genre"),
        from_year=call.int("fromYear"),
        to_year=call.int("toYear"),
        min_popularity=call.int("minPopularity"),  # Longplay's own: catalog popularity 0-100
    )
    return r.Payload(
        "randomSongs",
        {"song": convert.songs(call.state, call.user.user_id, tracks, call.view.analysis)},
    )


@endpoint("getSongsByGenre")
def get_songs_by_genre(call: Call) -> r.Payload:
    tracks = call.view.browse.songs_by_genre(
        call.require("genre"),
        call.int("count", 10) or 10,
        call.int("offset", 0) or 0,
        call.held_only(),
    )
    return r.Payload(
        "songsByGenre",
        {"song": convert.songs(call.state, call.user.user_id, tracks, call.view.analysis)},
    )


def _starred(call: Call) -> dict[str, list[object]]:
    b, con, uid = call.view.browse, call.state, call.user.user_id
    artists = b.artists([int(i[3:]) for i, _ in ls.starred(con, uid, r.ARTIST, MAX_PAGE)])
    albums = b.albums([int(i[3:]) for i, _ in ls.starred(con, uid, r.ALBUM, MAX_PAGE)])
    tracks = b.tracks([int(i[3:]) for i, _ in ls.starred(con, uid, r.TRACK, MAX_PAGE)])
    return {
        "artist": list(convert.artists(con, uid, artists)),
        "album": list(convert.albums(con, uid, albums)),
        "song": list(convert.songs(con, uid, tracks, call.view.analysis)),
    }


@endpoint("getStarred2")
def get_starred2(call: Call) -> r.Payload:
    return r.Payload("starred2", _starred(call))


@endpoint("getStarred")
def get_starred(call: Call) -> r.Payload:
    found = _starred(call)
    found["artist"] = [
        {"id": a.id, "name": a.name, "starred": a.starred}  # type: ignore[attr-defined]
        for a in found["artist"]
    ]
    return r.Payload("starred", found)
