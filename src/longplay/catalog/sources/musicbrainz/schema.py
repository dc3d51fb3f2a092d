"""What a MusicBrainz dump document may hold, and how a bad one is described.

``KNOWN`` lists the documented keys of each object of the WS/2 JSON documents with the dump's
includes; other keys are "unknown" (kept, counted, never rejected). ``Problem`` carries the one
line a rejected document gets: the path of the bad key and what is wrong with it.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
# An ISRC exactly as the tables store it: ``normalize_isrc(x) == x and isrc_problem(x) is None``
# in one C call (the pattern admits no space, dash or lower case, so normalizing is a no-op).
ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}")
SMALL = 32767
INT32 = 2**31 - 1
INT64 = 2**63  # exclusive bound: an int64 holds -2**63 .. 2**63 - 1 (INT32 above is inclusive)

# Keys of the WS/2 JSON documents with the dump's includes; anything else is "unknown".
_COMMON = {
    "id",
    "aliases",
    "annotation",
    "genres",
    "tags",
    "user-genres",
    "user-tags",
    "relations",
    "rating",
    "user-rating",
    "disambiguation",
    "moods",
    "user-moods",
}
KNOWN: dict[str, set[str]] = {
    "release": _COMMON
    | {
        "title",
        "status",
        "status-id",
        "quality",
        "packaging",
        "packaging-id",
        "text-representation",
        "date",
        "country",
        "release-events",
        "barcode",
        "asin",
        "cover-art-archive",
        "artist-credit",
        "label-info",
        "media",
        "release-group",
        "collections",
        "track-count",
        "score",
    },
    "medium": {
        "position",
        "title",
        "format",
        "format-id",
        "track-count",
        "track-offset",
        "tracks",
        "pregap",
        "data-tracks",
        "discs",
        "id",
    },
    "track": {"id", "number", "title", "position", "length", "artist-credit", "recording"},
    "recording": _COMMON
    | {"title", "length", "video", "first-release-date", "isrcs", "artist-credit"},
    "release-group": _COMMON
    | {
        "title",
        "primary-type",
        "primary-type-id",
        "secondary-types",
        "secondary-type-ids",
        "first-release-date",
        "artist-credit",
        "releases",
    },
    "artist": _COMMON
    | {
        "name",
        "sort-name",
        "type",
        "type-id",
        "country",
        "area",
        "begin-area",
        "end-area",
        "life-span",
        "gender",
        "gender-id",
        "ipis",
        "isnis",
    },
}


KNOWN_TRACK = frozenset(KNOWN["track"])
KNOWN_RECORDING = frozenset(KNOWN["recording"])


class Problem(Exception):
    """Why a document is rejected (one line: the path of the bad key and what is wrong)."""


class Below(Exception):
    """A wrong value below an object whose path only the caller knows (see ``Below.at``).

    Hot loops raise it with the path relative to the object they check, so that no path string
    or closure is built per track; the caller, which knows where it is, turns it into the
    ``Problem`` that ``want`` would have made with the whole path.
    """

    def __init__(self, path: str, what: str, value: Any) -> None:
        super().__init__(path)
        self.path, self.what, self.value = path, what, value

    def at(self, where: str) -> Problem:
        return want(where + self.path, self.what, self.value)


def show(value: Any) -> str:
    return orjson.dumps(value)[:60].decode(errors="replace")


def want(where: str, what: str, value: Any) -> Problem:
    if value is None:
        return Problem(f"missing key {where!r}")
    return Problem(f"{where!r} should be {what}, got {show(value)}")


def uuid(value: Any, where: str) -> str:
    if type(value) is not str or not UUID.fullmatch(value):
        raise want(where, "a MusicBrainz ID (UUID)", value)
    return value


def opt(value: Any, kind: type, where: str, what: str) -> Any:
    if value is not None and type(value) is not kind:
        raise want(where, what, value)
    return value
