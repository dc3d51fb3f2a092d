"""Untrusted input: relative paths (from torrents, manifests, listings) checked before any join,
and untrusted files read with a size bound.

A path is accepted only as a tuple of plain components: no ``..`` or ``.``, nothing absolute,
no separators or NUL inside a component, no Windows drive or reserved device tricks, bounded
depth and length. Callers join the parts under a directory they own; only ``read_bounded``
touches disk.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from longplay.errors import InputError

MAX_DEPTH = 16  # directories plus the file name; real archives use 2 or 3
MAX_COMPONENT = 255  # bytes of UTF-8, the usual file system limit
MAX_PATH = 1024  # bytes of UTF-8 for the whole relative path

_DRIVE = re.compile(r"^[A-Za-z]:")


def check_component(part: str, what: str) -> str:
    """One file or directory name; raises InputError naming ``what`` when it is unsafe."""
    if not isinstance(part, str):
        raise InputError(f"{what}: path component {part!r} is not a string")
    if part in ("", ".", ".."):
        raise InputError(f"{what}: path component {part!r} is not allowed")
    if "/" in part or "\\" in part:
        raise InputError(f"{what}: path component {part!r} contains a separator")
    if _DRIVE.match(part):
        raise InputError(f"{what}: path component {part!r} looks like a drive")
    if any(unicodedata.category(c) == "Cc" for c in part):
        raise InputError(f"{what}: path component {part!r} contains a control character")
    if len(part.encode("utf-8", "surrogatepass")) > MAX_COMPONENT:
        raise InputError(f"{what}: path component longer than {MAX_COMPONENT} bytes")
    return part


def check_parts(parts: list[str] | tuple[str, ...], what: str) -> tuple[str, ...]:
    """A path given as a list of components (as in a .torrent): every part checked."""
    if not parts:
        raise InputError(f"{what}: empty path")
    if len(parts) > MAX_DEPTH:
        raise InputError(f"{what}: path nested {len(parts)} deep (at most {MAX_DEPTH})")
    out = tuple(check_component(p, what) for p in parts)
    if len("/".join(out).encode("utf-8", "surrogatepass")) > MAX_PATH:
        raise InputError(f"{what}: path longer than {MAX_PATH} bytes")
    return out


def check_posix(path: str, what: str) -> tuple[str, ...]:
    """A POSIX relative path such as ``Artist/Album/01.ogg``; absolute paths are refused."""
    if not isinstance(path, str):
        raise InputError(f"{what}: path {path!r} is not a string")
    if path.startswith("/"):
        raise InputError(f"{what}: absolute path {path!r}")
    return check_parts(path.split("/"), what)


def check_name(name: str, what: str) -> str:
    """A single file or directory name (a torrent name, a .torrent file name)."""
    return check_component(name, what)


def check_unique(paths: list[tuple[str, ...]], what: str) -> None:
    """No path twice, and no path that is both a file and a directory of another."""
    seen: set[tuple[str, ...]] = set()
    for parts in paths:
        if parts in seen:
            raise InputError(f"{what}: duplicate path {'/'.join(parts)!r}")
        seen.add(parts)
    for parts in paths:
        for depth in range(1, len(parts)):
            if parts[:depth] in seen:
                raise InputError(
                    f"{what}: {'/'.join(parts[:depth])!r} is both a file and a directory"
                )


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of an untrusted file ``what`` (e.g. "torrents.json"), refused when it holds more
    than ``limit`` bytes; at most ``limit + 1`` bytes are ever read, however large it is."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    if len(data) > limit:
        raise InputError(f"{path}: more than {limit:,} bytes is too large for a {what}")
    return data
