"""Media endpoints: stream, download, getCoverArt, getLyrics and getLyricsBySongId.

Files are found only through the held file the server built (paths from the library and the
manifests, checked to lie inside their folders), never from a client's parameter. Streaming,
transcoding and cover extraction live in ``server/files.py``, ``server/streaming.py`` and
``audio/`` (imported when a request needs them). ``stream`` is not a play: only ``scrobble``
counts one.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from longplay.catalog.browse import Track
from longplay.errors import InputError
from longplay.server import responses as r
from longplay.server.convert import content_type
from longplay.server.endpoints import Call, endpoint, parse_id
from longplay.server.errors import GENERIC, NOT_FOUND, SubsonicError, not_found

RAW = (None, "", "raw")
MAX_COVER = 2048


def _held_track(call: Call, wid: str) -> Track:
    track = _song(call, wid)
    if not track.path:
        raise SubsonicError(NOT_FOUND, "this archive holds no file for the song (yet)")
    return track


def _song(call: Call, wid: str) -> Track:
    track = call.view.browse.track(parse_id(wid, r.TRACK))
    if track is None:
        raise not_found("song")
    return track


def _transcoder(call: Call) -> Any:
    from longplay.server.streaming import TranscodeService

    services = call.server.services
    if "transcodes" not in services:
        s = call.server.settings
        services["transcodes"] = TranscodeService(
            call.server.archive.root / "cache" / "transcodes",
            int(s.transcode_cache_size),
            int(s.max_transcodes),
            int(s.max_transcodes_per_user),
        )
    return services["transcodes"]


# Songs looked up for streams, per view (its tracks never change): a player's next request for
# a song, a seek say, finds it without a thread hop (bounded: cleared when full).
_SONGS: weakref.WeakKeyDictionary[Any, dict[str, Track]] = weakref.WeakKeyDictionary()
MAX_SONGS = 100_000


async def _song_of(call: Call) -> Track:
    wid = call.require("id")
    view = call.server.follower.built()  # never build it on the event loop
    known = _SONGS.setdefault(view.browse, {}) if view is not None else {}
    track = known.get(wid)
    if track is None:
        track = await run_in_threadpool(_song, call, wid)
        if len(known) >= MAX_SONGS:
            known.clear()
        known[wid] = track
    return track


async def _stream(call: Call, *, raw_only: bool) -> Response:
    track = await _song_of(call)
    from longplay.server.files import file_response  # after the lookup: ids fail first

    fmt = None if raw_only else call.get("format")
    max_bitrate = 0 if raw_only else (call.int("maxBitRate", 0) or 0)
    offset = 0 if raw_only else (call.int("timeOffset", 0) or 0)
    swarm = place = None
    if track.path:
        suffix = Path(track.path).suffix.lstrip(".").lower()
    else:  # not held: from the swarm, when a torrent of ours carries it
        from longplay.server import swarmstream

        swarm = swarmstream.swarm_of(call.server)
        place = await run_in_threadpool(swarm.place, track.track_id)
        if place is None:
            raise SubsonicError(NOT_FOUND, "this archive holds no file for the song (yet)")
        suffix = Path(place.path).suffix.lstrip(".").lower()
    if fmt == "raw" or (fmt in (None, "", suffix) and not max_bitrate and not offset):
        if swarm is not None and place is not None:
            return await swarmstream.raw_response(call.request, swarm, place)
        return file_response(call.request, Path(track.path or ""), content_type(suffix))
    target = fmt if fmt not in RAW else "opus"
    src: Any = Path(track.path or "")
    if swarm is not None and place is not None:
        src = swarmstream.SwarmSource(swarm, place)
    try:
        response = _transcoder(call).response(
            call.request,
            src,
            fmt=target,
            bitrate=max_bitrate * 1000 if max_bitrate else None,
            offset_s=float(offset),
            user=call.user.name,
            duration_s=(track.duration_ms or 0) / 1000,
            estimate_length=bool(call.flag("estimateContentLength")),
        )
        if hasattr(response, "__await__"):
            response = await response
    except Exception as exc:
        if swarm is not None and isinstance(exc, swarmstream.SwarmUnavailable):
            raise swarmstream.not_available(exc) from None
        raise
    return response


@endpoint("stream", raw=True)
async def stream(call: Call) -> Response:
    return await _stream(call, raw_only=False)


@endpoint("download", raw=True)
async def download(call: Call) -> Response:
    return await _stream(call, raw_only=True)


def _cover_source(call: Call, wid: str) -> Path | None:
    """A held audio file whose pictures (or folder image) stand for the item."""
    b = call.view.browse
    prefix = wid[:3]
    if prefix == r.TRACK:
        track = b.track(parse_id(wid, r.TRACK))
        if track and track.path:
            return Path(track.path)
        wid = r.wire_id(r.ALBUM, track.album_id) if track and track.album_id else ""
    elif prefix == r.ARTIST:
        albums = b.albums_of_artist(parse_id(wid, r.ARTIST), held=True)
        wid = r.wire_id(r.ALBUM, albums[0].album_id) if albums else ""
    if wid.startswith(r.ALBUM):
        for t in b.tracks_of_album(parse_id(wid, r.ALBUM), held=True):
            if t.path:
                return Path(t.path)
    return None


def _cover_bytes(call: Call, wid: str, size: int | None) -> tuple[bytes, str]:
    """The cover of an item at ``size`` px and its MIME type, resized once and kept on disk."""
    src = _cover_source(call, wid)
    if src is None:
        raise not_found("cover art")
    from longplay.audio.covers import find_cover, resize_cover

    size = min(size, MAX_COVER) if size and size > 0 else None
    cache = call.server.archive.root / "cache" / "covers"
    st = src.stat()
    key = hashlib.sha256(f"{src}|{st.st_mtime_ns}|{st.st_size}|{size}".encode()).hexdigest()[:32]
    for ext, mime in (("jpg", "image/jpeg"), ("png", "image/png")):
        cached = cache / f"{key}.{ext}"
        if cached.exists():
            return cached.read_bytes(), mime
    data = find_cover(src)
    if not data:
        raise not_found("cover art")
    try:
        data, mime = resize_cover(data, size)
    except InputError as exc:  # the file's picture is bad (a decompression bomb, garbage)
        raise SubsonicError(GENERIC, str(exc)) from None
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"{key}.{'png' if mime == 'image/png' else 'jpg'}"
    tmp = cached.with_name(f"{cached.name}.tmp-{threading.get_ident()}")
    tmp.write_bytes(data)
    tmp.replace(cached)
    return data, mime


@endpoint("getCoverArt", raw=True)
async def get_cover_art(call: Call) -> Response:
    wid = call.require("id")
    data, mime = await run_in_threadpool(_cover_bytes, call, wid, call.int("size"))
    etag = hashlib.sha256(data).hexdigest()[:32]
    return Response(
        data,
        media_type=mime,
        headers={"ETag": f'"{etag}"', "Cache-Control": "public, max-age=86400"},
    )


def _lyrics_of(track: Track) -> list[dict[str, Any]]:
    """structuredLyrics entries from the file's tags (and a .lrc beside it), synced first."""
    from longplay.audio.covers import lyrics

    return list(lyrics(Path(track.path or "")))


@endpoint("getLyricsBySongId")
def get_lyrics_by_song_id(call: Call) -> r.Payload:
    """Lyrics from the file's tags (the ``songLyrics`` extension)."""
    track = _held_track(call, call.require("id"))
    found = []
    for entry in _lyrics_of(track):
        found.append(
            r.StructuredLyrics(
                lang=str(entry.get("lang") or "und"),
                synced=bool(entry.get("synced")),
                line=[r.Line(str(x.get("value", "")), x.get("start")) for x in entry["line"]],
                displayArtist=entry.get("displayArtist") or track.artist,
                displayTitle=entry.get("displayTitle") or track.title,
            )
        )
    return r.Payload("lyricsList", {"structuredLyrics": found})


@endpoint("getLyrics")
def get_lyrics(call: Call) -> r.Payload:
    """Lyrics by artist and title: the first held song of that title among the artist's."""
    artist, title = call.get("artist"), call.get("title")
    if artist and title:
        for track in call.view.browse.top_songs(artist, 50, held=True):
            if track.title.lower() != title.lower() or not track.path:
                continue
            for entry in _lyrics_of(track):
                text = "\n".join(str(x.get("value", "")) for x in entry["line"])
                return r.Payload("lyrics", r.Lyrics(text, track.artist, track.title))
    return r.Payload("lyrics", {"value": ""})
