"""A file on disk over HTTP: one byte range per request, conditional requests by ETag.

`file_response` serves ``download``, ``stream`` of an original and a cached transcode, read in
chunks from an open descriptor, so a file replaced or evicted meanwhile is still served whole;
`read_cached` reads what the page cache holds without blocking the event loop. `ranged` and
`parse_range` are the Range header's rules, which the swarm's streams follow too.
"""

from __future__ import annotations

import email.utils
import os
import re
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from longplay.errors import InputError

# preadv2's RWF_NOWAIT (Linux): a read that would wait for the disk fails at once instead.
NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)
CHUNK = 64 * 1024  # bytes read from disk per send


def read_cached(fd: int, n: int, pos: int) -> bytes | None:
    """Up to ``n`` bytes at ``pos`` if the page cache holds them, read without blocking (on the
    event loop: a thread hop per chunk was most of a raw stream's time to first byte on a
    loaded machine); None when they must come from the disk (read them in a thread)."""
    if NOWAIT is None:
        return None
    buf = bytearray(n)
    try:
        got = os.preadv(fd, [buf], pos, NOWAIT)
    except OSError:  # EAGAIN: not cached; EOPNOTSUPP: a file system without it
        return None
    return bytes(memoryview(buf)[:got])


_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class _Unsatisfiable(Exception):
    pass


def _etag(st: os.stat_result) -> str:
    # Size, mtime and inode: a file replaced in place (new inode) or rewritten changes it.
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"'


def _none_match(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/"x" matches "x"."""
    if header.strip() == "*":
        return True
    return etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


def _if_range_holds(header: str | None, etag: str, mtime: float) -> bool:
    """Whether a Range may be honoured: If-Range absent, or naming this very version."""
    if header is None:
        return True
    header = header.strip()
    if header.startswith(('"', "W/")):
        return header == etag  # strong comparison: a weak tag never matches
    try:
        date = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return date.timestamp() == int(mtime)  # Last-Modified has whole seconds


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte, inclusive, of a one-range ``bytes=`` header for a ``size``-byte
    body; None when the header is to be ignored and the whole body sent.

    Another unit is ignored, as RFC 9110 asks; so are several ranges (a client asking for more
    than one gets the whole file once, which the RFC allows and every player accepts). A
    malformed or unsatisfiable range raises `_Unsatisfiable` (416).
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    m = _RANGE.match(spec)
    if m is None or m.group(1) == m.group(2) == "":
        raise _Unsatisfiable
    first, last = m.group(1), m.group(2)
    if first == "":  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise _Unsatisfiable
        return max(size - n, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise _Unsatisfiable
    return start, min(end, size - 1)


def ranged(wanted: str | None, size: int, headers: dict[str, str]) -> tuple[int, int, int] | None:
    """(start, length, status) of the answer to a ``Range`` header (None: the whole file) for a
    ``size``-byte file, with Content-Range set in ``headers``; None when it is unsatisfiable,
    and ``headers`` then carry what a 416 must say."""
    if wanted:
        try:
            span = parse_range(wanted, size)
        except _Unsatisfiable:
            headers["Content-Range"] = f"bytes */{size}"
            return None
        if span is not None:
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{size}"
            return span[0], span[1] - span[0] + 1, 206
    return 0, size, 200


class Fd:
    """An open descriptor closed exactly once: by the response, or when it is dropped unsent."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class _FileStream(StreamingResponse):
    """``length`` bytes of an open file from ``start``; HEAD sends the headers alone."""

    def __init__(self, fd: int, start: int, length: int, status: int, headers: dict[str, str]):
        self._fd = Fd(fd)
        weakref.finalize(self, self._fd.close)
        headers["Content-Length"] = str(length)
        super().__init__(self._chunks(start, length), status, headers)

    async def _chunks(self, pos: int, remaining: int) -> AsyncIterator[bytes]:
        while remaining > 0 and self._fd.fd is not None:
            n = min(CHUNK, remaining)
            data = read_cached(self._fd.fd, n, pos)
            if data is None:
                data = await anyio.to_thread.run_sync(os.pread, self._fd.fd, n, pos)
            if not data:
                return  # cut short since the stat: the server reports the short body
            pos += len(data)
            remaining -= len(data)
            yield data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.start", "status": self.status_code,
                            "headers": self.raw_headers})  # fmt: skip
                await send({"type": "http.response.body", "body": b""})
            else:
                await super().__call__(scope, receive, send)
        finally:
            self._fd.close()


def file_response(request: Request, path: Path, media_type: str) -> Response:
    """``path`` as a response to ``request``: 200, 206 for a Range, 304, 416; HEAD too.

    A file that cannot be opened is an `InputError` naming it.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        etag = _etag(st)
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(st.st_mtime, usegmt=True),
            "Content-Type": media_type,
        }
        none_match = request.headers.get("if-none-match")
        if none_match is not None and _none_match(none_match, etag):
            del headers["Content-Type"]
            return Response(status_code=304, headers=headers)
        wanted = request.headers.get("range")
        if not _if_range_holds(request.headers.get("if-range"), etag, st.st_mtime):
            wanted = None
        answer = ranged(wanted, st.st_size, headers)
        if answer is None:
            return Response(status_code=416, headers=headers)
        start, length, status = answer
        response = _FileStream(fd, start, length, status, headers)
        fd = -1  # the response owns it now
        return response
    finally:
        if fd >= 0:
            os.close(fd)
