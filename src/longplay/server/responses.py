"""Response types of the OpenSubsonic API and their rendering as JSON (``f=json``) or XML.

Handlers return a :class:`Payload`: the element name the spec gives the answer (``album``,
``searchResult3``, ...) and a typed value built from the dataclasses below, never a database
row. Rendering follows Subsonic's two encodings: in XML scalars are attributes, nested objects
and lists are child elements, and a ``value`` field is the element's text; JSON mirrors it with
lists as arrays. Fields left ``None`` are omitted. IDs are strings with a kind prefix, since
JavaScript clients lose precision on 64-bit integers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson

from longplay import __version__

API_VERSION = "1.16.1"
SERVER_TYPE = "longplay"
XMLNS = "http://subsonic.org/restapi"

TRACK, ALBUM, ARTIST, PLAYLIST = "tr-", "al-", "ar-", "pl-"


def wire_id(prefix: str, number: int) -> str:
    return f"{prefix}{number}"


# -- entities ------------------------------------------------------------------------------------
@dataclass
class ItemGenre:
    name: str


@dataclass
class ArtistRef:
    id: str
    name: str


@dataclass
class ReplayGain:
    """OpenSubsonic's replayGain: dB gains and linear peaks; unknown values are omitted."""

    trackGain: float | None = None
    albumGain: float | None = None
    trackPeak: float | None = None
    albumPeak: float | None = None
    baseGain: float | None = None
    fallbackGain: float | None = None


@dataclass
class Child:
    id: str
    isDir: bool
    title: str
    parent: str | None = None
    album: str | None = None
    artist: str | None = None
    track: int | None = None
    year: int | None = None
    genre: str | None = None
    coverArt: str | None = None
    size: int | None = None
    contentType: str | None = None
    suffix: str | None = None
    duration: int | None = None
    bitRate: int | None = None
    path: str | None = None
    userRating: int | None = None
    playCount: int | None = None
    discNumber: int | None = None
    created: str | None = None
    starred: str | None = None
    albumId: str | None = None
    artistId: str | None = None
    type: str | None = None
    mediaType: str | None = None
    isVideo: bool | None = None
    musicBrainzId: str | None = None
    isrc: list[str] | None = None
    genres: list[ItemGenre] | None = None
    artists: list[ArtistRef] | None = None
    displayArtist: str | None = None
    explicitStatus: str | None = None
    bpm: int | None = None
    replayGain: ReplayGain | None = None
    # Longplay: whether the archive holds a file (not streamable yet when false).
    held: bool | None = None
    # Longplay: a song not held that a connected peer can deliver now (streamed from the swarm).
    playable: bool | None = None


@dataclass
class AlbumID3:
    id: str
    name: str
    songCount: int
    duration: int
    created: str
    artist: str | None = None
    artistId: str | None = None
    coverArt: str | None = None
    playCount: int | None = None
    starred: str | None = None
    year: int | None = None
    genre: str | None = None
    userRating: int | None = None
    musicBrainzId: str | None = None
    genres: list[ItemGenre] | None = None
    artists: list[ArtistRef] | None = None
    displayArtist: str | None = None
    releaseTypes: list[str] | None = None
    sortName: str | None = None
    isCompilation: bool | None = None
    song: list[Child] | None = None


@dataclass
class ArtistID3:
    id: str
    name: str
    coverArt: str | None = None
    albumCount: int | None = None
    starred: str | None = None
    musicBrainzId: str | None = None
    userRating: int | None = None
    album: list[AlbumID3] | None = None


@dataclass
class IndexID3:
    name: str
    artist: list[ArtistID3]


@dataclass
class ArtistsID3:
    ignoredArticles: str
    index: list[IndexID3]
    lastModified: int | None = None
    shortcut: list[ArtistID3] | None = None
    child: list[Child] | None = None


@dataclass
class Directory:
    id: str
    name: str
    parent: str | None = None
    starred: str | None = None
    playCount: int | None = None
    child: list[Child] = field(default_factory=list)


@dataclass
class MusicFolder:
    id: int
    name: str


@dataclass
class Genre:
    value: str
    songCount: int
    albumCount: int


@dataclass
class Playlist:
    id: str
    name: str
    songCount: int
    duration: int
    created: str
    changed: str
    owner: str | None = None
    public: bool | None = None
    comment: str | None = None
    entry: list[Child] | None = None


@dataclass
class PlayQueue:
    username: str
    changed: str
    changedBy: str
    current: str | None = None
    currentIndex: int | None = None
    position: int | None = None
    entry: list[Child] | None = None


@dataclass
class User:
    username: str
    adminRole: bool
    email: str | None = None
    scrobblingEnabled: bool = True
    settingsRole: bool = True
    downloadRole: bool = True
    uploadRole: bool = False
    playlistRole: bool = True
    coverArtRole: bool = True
    commentRole: bool = False
    podcastRole: bool = False
    streamRole: bool = True
    jukeboxRole: bool = False
    shareRole: bool = False
    videoConversionRole: bool = False
    folder: list[int] = field(default_factory=lambda: [1, 2])


@dataclass
class Extension:
    name: str
    versions: list[int]


@dataclass
class Lyrics:
    value: str
    artist: str | None = None
    title: str | None = None


@dataclass
class Line:
    value: str
    start: int | None = None


@dataclass
class StructuredLyrics:
    lang: str
    synced: bool
    line: list[Line]
    displayArtist: str | None = None
    displayTitle: str | None = None


# -- rendering ------------------------------------------------------------------------------------
@dataclass
class Payload:
    """One answer: ``name`` is its key in the envelope; ``value`` None means an empty answer."""

    name: str | None = None
    value: Any = None


_FIELDS: dict[type, tuple[str, ...]] = {}  # a response dataclass's field names, looked up once
_SCALARS = frozenset({str, int, float, bool})  # exact types kept as they are


def plain(value: Any) -> Any:
    """Dataclasses to dicts without None fields; lists and scalars as they are.

    Every field of every song of every answer passes through here, so scalars return first and
    a dataclass's field names are cached: ``dataclasses.fields`` and ``is_dataclass`` per value
    were a fifth of the server's CPU time under load (py-spy, bench/RESULTS.md).
    """
    if value is None or isinstance(value, (str, int, float)):
        return value
    names = _FIELDS.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        # Most fields are scalars: keep them without a call (half of plain's time was calls
        # that returned at once; an uncached getAlbum spent ~45% of its CPU here, h-srv).
        out = {}
        for n in names:
            v = getattr(value, n)
            if v is not None:
                out[n] = v if type(v) in _SCALARS else plain(v)
        return out
    if isinstance(value, dict):
        return {
            k: v if type(v) in _SCALARS else plain(v) for k, v in value.items() if v is not None
        }
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _SCALARS else plain(v) for v in value]
    return value


def envelope(payload: Payload | None, error: tuple[int, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "failed" if error else "ok",
        "version": API_VERSION,
        "type": SERVER_TYPE,
        "serverVersion": __version__,
        "openSubsonic": True,
    }
    if error:
        body["error"] = {"code": error[0], "message": error[1]}
    elif payload is not None and payload.name is not None:
        body[payload.name] = plain(payload.value) if payload.value is not None else {}
    return {"subsonic-response": body}


def to_json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _element(name, item, out)
        return
    if not isinstance(value, dict):
        out.append(f"<{name}>{escape(_scalar(value))}</{name}>")
        return
    attrs, children, text = [], [], None
    for k, v in value.items():
        if k == "value" and not isinstance(v, (dict, list)):
            text = _scalar(v)
        elif isinstance(v, (dict, list)):
            children.append((k, v))
        else:
            attrs.append(f" {k}={quoteattr(_scalar(v))}")
    if not children and text is None:
        out.append(f"<{name}{''.join(attrs)}/>")
        return
    out.append(f"<{name}{''.join(attrs)}>")
    if text is not None:
        out.append(escape(text))
    for k, v in children:
        _element(k, v, out)
    out.append(f"</{name}>")


def to_xml(doc: dict[str, Any]) -> bytes:
    body = dict(doc["subsonic-response"])
    body["xmlns"] = XMLNS
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    _element("subsonic-response", body, out)
    return "".join(out).encode()
