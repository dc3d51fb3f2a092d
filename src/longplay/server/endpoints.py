"""The endpoint registry, the spec's endpoint list and :class:`Call`, what a handler receives.

Handler modules register functions with :func:`endpoint`; a plain handler runs in a worker
thread (SQLite and DuckDB block) and returns a :class:`~longplay.server.responses.Payload`; a
``raw`` one is a coroutine returning a Starlette response (streams, images). Every name of
:data:`SPEC_ENDPOINTS` answers: with its handler, or with the spec's error (not implemented, or
gone for the deprecated ``search``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from longplay.server.accounts import User
from longplay.server.errors import NOT_FOUND, SubsonicError, missing

if TYPE_CHECKING:
    from starlette.requests import Request

    from longplay.server.app import Server
    from longplay.server.holdings import View

# Every endpoint of OpenSubsonic 1.16.1 (../shared/data/opensubsonic-openapi/endpoints/; a test
# checks this list against the spec).
SPEC_ENDPOINTS = frozenset(
    [
        "addChatMessage",
        "changePassword",
        "createBookmark",
        "createInternetRadioStation",
        "createPlaylist",
        "createPodcastChannel",
        "createShare",
        "createUser",
        "deleteBookmark",
        "deleteInternetRadioStation",
        "deletePlaylist",
        "deletePodcastChannel",
        "deletePodcastEpisode",
        "deleteShare",
        "deleteUser",
        "download",
        "downloadPodcastEpisode",
        "findSonicPath",
        "getAlbum",
        "getAlbumInfo",
        "getAlbumInfo2",
        "getAlbumList",
        "getAlbumList2",
        "getArtist",
        "getArtistInfo",
        "getArtistInfo2",
        "getArtists",
        "getAvatar",
        "getBookmarks",
        "getCaptions",
        "getChatMessages",
        "getCoverArt",
        "getGenres",
        "getIndexes",
        "getInternetRadioStations",
        "getLicense",
        "getLyrics",
        "getLyricsBySongId",
        "getMusicDirectory",
        "getMusicFolders",
        "getNewestPodcasts",
        "getNowPlaying",
        "getOpenSubsonicExtensions",
        "getPlayQueue",
        "getPlayQueueByIndex",
        "getPlaylist",
        "getPlaylists",
        "getPodcastEpisode",
        "getPodcasts",
        "getRandomSongs",
        "getScanStatus",
        "getShares",
        "getSimilarSongs",
        "getSimilarSongs2",
        "getSong",
        "getSongsByGenre",
        "getSonicSimilarTracks",
        "getStarred",
        "getStarred2",
        "getTopSongs",
        "getTranscodeDecision",
        "getTranscodeStream",
        "getUser",
        "getUsers",
        "getVideoInfo",
        "getVideos",
        "hls.m3u8",
        "jukeboxControl",
        "ping",
        "refreshPodcasts",
        "reportPlayback",
        "savePlayQueue",
        "savePlayQueueByIndex",
        "scrobble",
        "search",
        "search2",
        "search3",
        "setRating",
        "star",
        "startScan",
        "stream",
        "tokenInfo",
        "unstar",
        "updateInternetRadioStation",
        "updatePlaylist",
        "updateShare",
        "updateUser",
    ]
)
PUBLIC = frozenset({"getOpenSubsonicExtensions"})
GONE = {"search": "search3"}  # deprecated by the spec: answered with "gone", not served


@dataclass(frozen=True)
class Endpoint:
    name: str
    handler: Callable[..., Any]
    raw: bool


ENDPOINTS: dict[str, Endpoint] = {}


def endpoint(name: str, *, raw: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        assert name in SPEC_ENDPOINTS, name
        ENDPOINTS[name] = Endpoint(name, fn, raw)
        return fn

    return register


def parse_id(value: str, prefix: str) -> int:
    """The number of a wire ID of the kind ``prefix``; not found (70) for anything else."""
    if value.startswith(prefix):
        digits = value[len(prefix) :]
        if digits.lstrip("-").isdigit() and len(digits) <= 20:
            return int(digits)
    raise SubsonicError(NOT_FOUND, f"no item {value[:40]!r}")


class Call:
    """One authenticated request: its parameters, user, server and catalog view."""

    def __init__(
        self,
        request: Request,
        params: dict[str, list[str]],
        server: Server,
        user: User | None = None,
    ):
        self.request = request
        self.params = params
        self.server = server
        self.user: User = user  # type: ignore[assignment]  # None only for public endpoints
        self._view: View | None = None
        # Set by a handler whose answer depends only on the view and the parameters, apart
        # from the caller's marks on its items (server/answers.py keeps such answers).
        self.shared = False

    @property
    def view(self) -> View:
        if self._view is None:
            self._view = self.server.follower.view()
        return self._view

    @property
    def state(self) -> sqlite3.Connection:
        return self.server.state()

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise missing(name)
        return value

    def all(self, name: str) -> list[str]:
        return self.params.get(name, [])

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise SubsonicError(0, f"parameter {name!r} is not a number") from None

    def flag(self, name: str) -> bool | None:
        value = self.get(name)
        return None if value is None else value.lower() in ("true", "1", "yes")

    def held_only(self) -> bool:
        """Folder 1 (Library, the default) or 2 (Catalog)."""
        return self.int("musicFolderId", 1) != 2
