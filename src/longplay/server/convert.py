"""Catalog records and user state to response types: songs, albums and artists as the API shows them."""

from __future__ import annotations

import mimetypes
import os
import sqlite3
from collections.abc import Callable
from contextvars import ContextVar

from longplay.catalog.browse import Album, Artist, Track
from longplay.server import library_state as ls
from longplay.server import responses as r
from longplay.server.track_analysis import Gains, TrackAnalysis

EPOCH = "1970-01-01T00:00:00Z"  # albums carry no "added" date; a fixed one keeps answers stable
SUFFIX_TYPES = {
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "oga": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
}


def content_type(suffix: str) -> str:
    return SUFFIX_TYPES.get(suffix) or mimetypes.types_map.get(f".{suffix}", "audio/mpeg")


def _explicit(value: bool | None) -> str | None:
    return None if value is None else ("explicit" if value else "clean")


class Marks:
    """Stars, ratings and play counts of one user, and the songs' analysis values, fetched in
    one round per answer."""

    def __init__(
        self,
        con: sqlite3.Connection,
        user_id: int,
        item_ids: list[str],
        analysis: TrackAnalysis | None = None,
    ):
        self.marks = ls.marks_of(con, user_id, item_ids)
        track_ids = [int(i[3:]) for i in item_ids if i.startswith(r.TRACK)]
        self.plays = ls.play_counts(con, user_id, track_ids)
        self.gains = analysis.of(track_ids) if analysis is not None else {}

    def starred(self, item: str) -> str | None:
        return self.marks.get(item, (None, None))[0]

    def rating(self, item: str) -> int | None:
        return self.marks.get(item, (None, None))[1]


def marks_for(
    con: sqlite3.Connection,
    user_id: int,
    tracks: list[Track] | None = None,
    albums: list[Album] | None = None,
    artists: list[Artist] | None = None,
    analysis: TrackAnalysis | None = None,
) -> Marks:
    ids = [r.wire_id(r.TRACK, t.track_id) for t in tracks or ()]
    ids += [r.wire_id(r.ALBUM, a.album_id) for a in albums or ()]
    ids += [r.wire_id(r.ARTIST, a.artist_id) for a in artists or ()]
    return Marks(con, user_id, ids, analysis)


def replay_gain(g: Gains | None) -> r.ReplayGain | None:
    if g is None:
        return None
    return r.ReplayGain(
        trackGain=g.track_gain,
        albumGain=g.album_gain,
        trackPeak=g.track_peak,
        albumPeak=g.album_peak,
    )


# Set per request by the app: whether a song not held can be streamed from the swarm now.
# None (no torrent carries a track) leaves the ``playable`` mark out.
PLAYABLE: ContextVar[Callable[[int], bool] | None] = ContextVar("playable", default=None)


def song(t: Track, marks: Marks | None = None) -> r.Child:
    wid = r.wire_id(r.TRACK, t.track_id)
    available = PLAYABLE.get()
    suffix = size = ctype = None
    if t.path:
        suffix = os.path.splitext(t.path)[1].lstrip(".").lower() or None
        ctype = content_type(suffix or "")
        try:
            size = os.stat(t.path).st_size
        except OSError:
            size = None
    album = r.wire_id(r.ALBUM, t.album_id) if t.album_id is not None else None
    gains = marks.gains.get(t.track_id) if marks else None
    return r.Child(
        id=wid,
        isDir=False,
        title=t.title,
        parent=album,
        album=t.album,
        artist=t.artist,
        track=t.track_no,
        year=t.year,
        genre=t.genre,
        coverArt=album,
        size=size,
        contentType=ctype,
        suffix=suffix,
        duration=(t.duration_ms or 0) // 1000,
        discNumber=t.disc,
        created=EPOCH,
        albumId=album,
        artistId=r.wire_id(r.ARTIST, t.artist_id) if t.artist_id is not None else None,
        type="music",
        mediaType="song",
        isVideo=False,
        musicBrainzId=t.mbid,
        isrc=[t.isrc] if t.isrc else None,
        genres=[r.ItemGenre(t.genre)] if t.genre else None,
        displayArtist=t.artist,
        explicitStatus=_explicit(t.explicit),
        bpm=gains.bpm if gains else None,
        replayGain=replay_gain(gains),
        starred=marks.starred(wid) if marks else None,
        userRating=marks.rating(wid) if marks else None,
        playCount=marks.plays.get(t.track_id, 0) if marks else None,
        held=bool(t.path),
        playable=None if t.path or available is None else available(t.track_id),
    )


def album(a: Album, marks: Marks | None = None, songs: list[r.Child] | None = None) -> r.AlbumID3:
    wid = r.wire_id(r.ALBUM, a.album_id)
    artist_id = r.wire_id(r.ARTIST, a.artist_id) if a.artist_id is not None else None
    return r.AlbumID3(
        id=wid,
        name=a.title,
        songCount=a.song_count if songs is None else len(songs),
        duration=a.duration_s if songs is None else sum(s.duration or 0 for s in songs),
        created=EPOCH,
        artist=a.artist,
        artistId=artist_id,
        coverArt=wid,
        year=a.year,
        genre=a.genre,
        musicBrainzId=a.mbid,
        genres=[r.ItemGenre(a.genre)] if a.genre else None,
        artists=[r.ArtistRef(artist_id, a.artist or "")] if artist_id else None,
        displayArtist=a.artist,
        releaseTypes=[a.album_type] if a.album_type else None,
        isCompilation=a.album_type == "compilation" if a.album_type else None,
        starred=marks.starred(wid) if marks else None,
        userRating=marks.rating(wid) if marks else None,
        song=songs,
    )


def artist(a: Artist, marks: Marks | None = None) -> r.ArtistID3:
    wid = r.wire_id(r.ARTIST, a.artist_id)
    return r.ArtistID3(
        id=wid,
        name=a.name,
        coverArt=wid,
        albumCount=a.album_count,
        musicBrainzId=a.mbid,
        starred=marks.starred(wid) if marks else None,
        userRating=marks.rating(wid) if marks else None,
    )


def songs(
    con: sqlite3.Connection,
    user_id: int,
    tracks: list[Track],
    analysis: TrackAnalysis | None = None,
) -> list[r.Child]:
    marks = marks_for(con, user_id, tracks=tracks, analysis=analysis)
    return [song(t, marks) for t in tracks]


def albums(con: sqlite3.Connection, user_id: int, items: list[Album]) -> list[r.AlbumID3]:
    marks = marks_for(con, user_id, albums=items)
    return [album(a, marks) for a in items]


def artists(con: sqlite3.Connection, user_id: int, items: list[Artist]) -> list[r.ArtistID3]:
    marks = marks_for(con, user_id, artists=items)
    return [artist(a, marks) for a in items]


def album_dirs(con: sqlite3.Connection, user_id: int, items: list[Album]) -> list[r.Child]:
    """Albums as folder-style directories (getAlbumList, search2), with the user's marks."""
    return [
        r.Child(
            id=a.id,
            isDir=True,
            title=a.name,
            album=a.name,
            artist=a.artist,
            parent=a.artistId,
            year=a.year,
            genre=a.genre,
            coverArt=a.coverArt,
            starred=a.starred,
            userRating=a.userRating,
        )
        for a in albums(con, user_id, items)
    ]
