"""Playlist endpoints: getPlaylists, getPlaylist, createPlaylist, updatePlaylist, deletePlaylist."""

from __future__ import annotations

from longplay.server import convert
from longplay.server import library_state as ls
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint, parse_id
from longplay.server.errors import NOT_AUTHORIZED, SubsonicError, missing, not_found

MAX_ENTRIES = 10_000


def _track_ids(call: Call, name: str) -> list[int]:
    ids = [parse_id(v, r.TRACK) for v in call.all(name)]
    if len(ids) > MAX_ENTRIES:
        raise SubsonicError(0, f"a playlist holds at most {MAX_ENTRIES} songs")
    return ids


def _summary(call: Call, p: ls.Playlist, with_entries: bool) -> r.Playlist:
    tracks = call.view.browse.tracks(list(p.track_ids))
    out = r.Playlist(
        id=r.wire_id(r.PLAYLIST, p.playlist_id),
        name=p.name,
        songCount=len(tracks),
        duration=sum((t.duration_ms or 0) for t in tracks) // 1000,
        created=p.created,
        changed=p.changed,
        owner=p.owner,
        public=p.public,
        comment=p.comment,
    )
    if with_entries:
        out.entry = convert.songs(call.state, call.user.user_id, tracks, call.view.analysis)
    return out


def _mine(call: Call, playlist_id: int) -> ls.Playlist:
    p = ls.playlist(call.state, call.user.user_id, playlist_id)
    if p is None:
        raise not_found("playlist")
    return p


@endpoint("getPlaylists")
def get_playlists(call: Call) -> r.Payload:
    found = ls.playlists(call.state, call.user.user_id)
    return r.Payload("playlists", {"playlist": [_summary(call, p, False) for p in found]})


@endpoint("getPlaylist")
def get_playlist(call: Call) -> r.Payload:
    p = _mine(call, parse_id(call.require("id"), r.PLAYLIST))
    return r.Payload("playlist", _summary(call, p, True))


@endpoint("createPlaylist")
def create_playlist(call: Call) -> r.Payload:
    """A new playlist (``name``), or replace the songs of ``playlistId``."""
    songs = _track_ids(call, "songId")
    con, uid = call.state, call.user.user_id
    existing = call.get("playlistId")
    try:
        if existing:
            playlist_id = parse_id(existing, r.PLAYLIST)
            ls.replace_playlist(con, uid, playlist_id, songs)
        else:
            name = call.get("name")
            if not name:
                raise missing("name")
            playlist_id = ls.create_playlist(con, uid, name, songs)
    except LookupError:
        raise not_found("playlist") from None
    except PermissionError:
        raise SubsonicError(NOT_AUTHORIZED, "not your playlist") from None
    return r.Payload("playlist", _summary(call, _mine(call, playlist_id), True))


@endpoint("updatePlaylist")
def update_playlist(call: Call) -> r.Payload:
    playlist_id = parse_id(call.require("playlistId"), r.PLAYLIST)
    remove = [int(v) for v in call.all("songIndexToRemove") if v.lstrip("-").isdigit()]
    try:
        ls.update_playlist(
            call.state,
            call.user.user_id,
            playlist_id,
            name=call.get("name"),
            comment=call.get("comment"),
            public=call.flag("public"),
            add=_track_ids(call, "songIdToAdd"),
            remove_positions=remove,
        )
    except LookupError:
        raise not_found("playlist") from None
    except PermissionError:
        raise SubsonicError(NOT_AUTHORIZED, "not your playlist") from None
    return r.Payload()


@endpoint("deletePlaylist")
def delete_playlist(call: Call) -> r.Payload:
    try:
        ls.delete_playlist(call.state, call.user.user_id, parse_id(call.require("id"), r.PLAYLIST))
    except LookupError:
        raise not_found("playlist") from None
    except PermissionError:
        raise SubsonicError(NOT_AUTHORIZED, "not your playlist") from None
    return r.Payload()
