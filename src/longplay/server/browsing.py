"""Browsing endpoints: artist indexes, directories, artists, albums, songs, genres, artist info."""

from __future__ import annotations

import weakref
from itertools import groupby

from longplay.catalog.browse import Artist, Browse
from longplay.server import convert
from longplay.server import library_state as ls
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint, parse_id
from longplay.server.errors import not_found

IGNORED_ARTICLES = ""  # sort names already put "The Beatles" under B


def _by_letter(artists: list[Artist]) -> list[tuple[str, list[Artist]]]:
    return [(letter, list(group)) for letter, group in groupby(artists, key=lambda a: a.letter)]


# The rendered artist index of a view (one per generation and holdings), by folder: at 10M
# tracks it is MAX_INDEX artists, and converting them for every request cost about 1 s under
# load (bench/RESULTS.md). Only the few artists the asking user starred or rated are redone.
_RENDERED: weakref.WeakKeyDictionary[Browse, dict[bool, _Rendered]] = weakref.WeakKeyDictionary()


class _Rendered:
    def __init__(self, artists: list[Artist]):
        self.artists = {r.wire_id(r.ARTIST, a.artist_id): a for a in artists}
        groups = _by_letter(artists)
        self.index = [
            r.plain(r.IndexID3(letter, [convert.artist(a) for a in group]))
            for letter, group in groups
        ]
        self.where = {
            r.wire_id(r.ARTIST, a.artist_id): (i, j)
            for i, (_, group) in enumerate(groups)
            for j, a in enumerate(group)
        }


def _rendered(b: Browse, held: bool) -> _Rendered:
    per_view = _RENDERED.setdefault(b, {})
    if held not in per_view:
        per_view[held] = _Rendered(b.artist_index(held))
    return per_view[held]


@endpoint("getArtists")
def get_artists(call: Call) -> r.Payload:
    cached = _rendered(call.view.browse, call.held_only())
    call.shared = True
    marked = [
        i for i in ls.marked_items(call.state, call.user.user_id, r.ARTIST) if i in cached.where
    ]
    index = cached.index
    if marked:  # copy only the letters that change; the cached index stays unmarked
        marks = convert.Marks(call.state, call.user.user_id, marked)
        index = list(index)
        for wid in marked:
            i, j = cached.where[wid]
            if index[i] is cached.index[i]:
                index[i] = {**index[i], "artist": list(index[i]["artist"])}
            index[i]["artist"][j] = r.plain(convert.artist(cached.artists[wid], marks))
    return r.Payload("artists", {"ignoredArticles": IGNORED_ARTICLES, "index": index})


@endpoint("getIndexes")
def get_indexes(call: Call) -> r.Payload:
    artists = call.view.browse.artist_index(call.held_only())
    index = [
        {
            "name": letter,
            "artist": [{"id": r.wire_id(r.ARTIST, a.artist_id), "name": a.name} for a in group],
        }
        for letter, group in _by_letter(artists)
    ]
    return r.Payload(
        "indexes", {"ignoredArticles": IGNORED_ARTICLES, "lastModified": 0, "index": index}
    )


@endpoint("getMusicDirectory")
def get_music_directory(call: Call) -> r.Payload:
    """Artists hold albums, albums hold songs (the folder view mirrors the ID3 one)."""
    wid = call.require("id")
    b = call.view.browse
    if wid.startswith(r.ARTIST):
        artist = b.artist(parse_id(wid, r.ARTIST))
        if artist is None:
            raise not_found("artist")
        albums = b.albums_of_artist(artist.artist_id, held=False)
        children = [
            r.Child(
                id=r.wire_id(r.ALBUM, a.album_id),
                isDir=True,
                title=a.title,
                parent=wid,
                album=a.title,
                artist=a.artist,
                year=a.year,
                genre=a.genre,
                coverArt=r.wire_id(r.ALBUM, a.album_id),
            )
            for a in albums
        ]
        return r.Payload("directory", r.Directory(wid, artist.name, child=children))
    album = b.album(parse_id(wid, r.ALBUM))
    if album is None:
        raise not_found("album")
    songs = convert.songs(
        call.state, call.user.user_id, b.tracks_of_album(album.album_id, False), call.view.analysis
    )
    parent = r.wire_id(r.ARTIST, album.artist_id) if album.artist_id is not None else None
    return r.Payload("directory", r.Directory(wid, album.title, parent=parent, child=songs))


@endpoint("getArtist")
def get_artist(call: Call) -> r.Payload:
    b = call.view.browse
    artist = b.artist(parse_id(call.require("id"), r.ARTIST))
    if artist is None:
        raise not_found("artist")
    albums = b.albums_of_artist(artist.artist_id, held=False)
    call.shared = True
    marks = convert.marks_for(call.state, call.user.user_id, albums=albums, artists=[artist])
    out = convert.artist(artist, marks)
    out.album = [convert.album(a, marks) for a in albums]
    out.albumCount = len(albums)
    return r.Payload("artist", out)


@endpoint("getAlbum")
def get_album(call: Call) -> r.Payload:
    b = call.view.browse
    album = b.album(parse_id(call.require("id"), r.ALBUM))
    if album is None:
        raise not_found("album")
    tracks = b.tracks_of_album(album.album_id, held=False)
    call.shared = True
    marks = convert.marks_for(
        call.state, call.user.user_id, tracks=tracks, albums=[album], analysis=call.view.analysis
    )
    songs = [convert.song(t, marks) for t in tracks]
    return r.Payload("album", convert.album(album, marks, songs))


@endpoint("getSong")
def get_song(call: Call) -> r.Payload:
    track = call.view.browse.track(parse_id(call.require("id"), r.TRACK))
    if track is None:
        raise not_found("song")
    call.shared = True
    return r.Payload(
        "song", convert.songs(call.state, call.user.user_id, [track], call.view.analysis)[0]
    )


@endpoint("getGenres")
def get_genres(call: Call) -> r.Payload:
    genres = [r.Genre(name, songs, albums) for name, songs, albums in call.view.browse.genres()]
    return r.Payload("genres", {"genre": genres})


@endpoint("getArtistInfo2")
def get_artist_info2(call: Call) -> r.Payload:
    """What the catalog knows of an artist: its MusicBrainz ID (no biography or images yet)."""
    artist = call.view.browse.artist(parse_id(call.require("id"), r.ARTIST))
    if artist is None:
        raise not_found("artist")
    info: dict[str, object] = {}
    if artist.mbid:
        info["musicBrainzId"] = artist.mbid
    return r.Payload("artistInfo2", info)


@endpoint("getTopSongs")
def get_top_songs(call: Call) -> r.Payload:
    """An artist's songs by catalog listens."""
    tracks = call.view.browse.top_songs(
        call.require("artist"), call.int("count", 50) or 50, call.held_only()
    )
    return r.Payload(
        "topSongs",
        {"song": convert.songs(call.state, call.user.user_id, tracks, call.view.analysis)},
    )
