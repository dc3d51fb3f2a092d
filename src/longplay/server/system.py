"""System endpoints: ping, getLicense, getOpenSubsonicExtensions (public) and getMusicFolders."""

from __future__ import annotations

from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint

LIBRARY, CATALOG = 1, 2  # music folder IDs: what the archive holds, and the whole catalog

EXTENSIONS = (
    r.Extension("apiKeyAuthentication", [1]),
    r.Extension("formPost", [1]),
    r.Extension("indexBasedQueue", [1]),
    r.Extension("songLyrics", [1]),
    r.Extension("transcodeOffset", [1]),
)


@endpoint("ping")
def ping(call: Call) -> r.Payload:
    return r.Payload()


@endpoint("getLicense")
def get_license(call: Call) -> r.Payload:
    return r.Payload("license", {"valid": True})


@endpoint("getOpenSubsonicExtensions")
def get_extensions(call: Call) -> r.Payload:
    return r.Payload("openSubsonicExtensions", list(EXTENSIONS))


@endpoint("getMusicFolders")
def get_music_folders(call: Call) -> r.Payload:
    folders = [r.MusicFolder(LIBRARY, "Library"), r.MusicFolder(CATALOG, "Catalog")]
    return r.Payload("musicFolders", {"musicFolder": folders})
