"""Streams of tracks the archive does not hold, read from the swarm as their pieces arrive.

``stream`` and ``download`` of a song with no held file land here when a torrent of
torrents.json carries it (`mirror.swarm`). The raw file goes out with Range support, its first
bytes awaited before any header is sent: a track no peer delivers within ``swarm_timeout``
is answered "not available right now" as a Subsonic error, never a hang. A transcode is fed
from the same reader (a seek for ``timeOffset`` moves its piece window). A peer that vanishes
mid-stream ends the response early (the connection is cut, as HTTP allows nothing better);
only hash-checked pieces are ever sent. All libtorrent waits run in worker threads.

Song listings mark a not-held song ``playable`` when a connected peer has all of its pieces
(or the cache has the file); a torrent the session has not tried yet is probed in the
background and counts as not playable until then.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from longplay.mirror.swarm import Place, Swarm, SwarmUnavailable
from longplay.server.convert import content_type
from longplay.server.errors import GENERIC, SubsonicError
from longplay.server.files import ranged

log = logging.getLogger("longplay.server")
CHUNK = 256 * 1024
BUFFER = 256 * 1024  # what a transcoder's reads are gathered into


def swarm_of(server: Any) -> Swarm:
    """The server's one swarm (created on first use; its session starts later still)."""
    services = server.services
    with server.services_lock:
        if "swarm" not in services:
            services["swarm"] = Swarm(server.archive, tuple(server.peers))
        swarm: Swarm = services["swarm"]
        return swarm


def availability(server: Any) -> Callable[[int], bool] | None:
    """A function telling whether a not-held track is playable now; None when no torrent of
    this archive carries any track (then songs carry no ``playable`` mark)."""
    swarm = swarm_of(server)
    if not swarm.has_places():
        return None
    probing: set[str] = server.services.setdefault("swarm_probing", set())

    def playable(track_id: int) -> bool:
        place = swarm.place(track_id)
        if place is None:
            return False
        try:
            known = swarm.available(place)
        except RuntimeError:  # the torrent left the session meanwhile
            return False
        if known is None and place.torrent not in probing:
            probing.add(place.torrent)
            threading.Thread(target=swarm.probe, args=(place.torrent,), daemon=True).start()
        return bool(known)

    return playable


def not_available(exc: Exception) -> SubsonicError:
    return SubsonicError(GENERIC, f"this song is not available right now ({exc})")


def _open(swarm: Swarm, place: Place) -> Any:
    try:
        return swarm.open(place)
    except RuntimeError as exc:  # libtorrent refused the torrent or the file
        raise not_available(exc) from None


async def raw_response(request: Request, swarm: Swarm, place: Place) -> Response:
    """The file of ``place`` as a response: 200, 206 for a Range, 416; HEAD without fetching."""
    suffix = place.path.rsplit(".", 1)[-1].lower() if "." in place.path else ""
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{place.sha256[:32]}"',
        "Content-Type": content_type(suffix),
    }
    answer = ranged(request.headers.get("range"), place.size, headers)
    if answer is None:
        return Response(status_code=416, headers=headers)
    start, length, status = answer
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    reader = await anyio.to_thread.run_sync(_open, swarm, place)
    try:
        first = await anyio.to_thread.run_sync(reader.read_at, start, min(CHUNK, length))
    except SwarmUnavailable as exc:
        await anyio.to_thread.run_sync(reader.close)
        raise not_available(exc) from None
    except BaseException:
        await anyio.to_thread.run_sync(reader.close)
        raise
    return _SwarmStream(reader, first, start, length, status, headers)


class _SwarmStream(StreamingResponse):
    """The rest of the range, piece by piece; the reader is closed however the response ends."""

    def __init__(
        self,
        reader: Any,
        first: bytes,
        start: int,
        length: int,
        status: int,
        headers: dict[str, str],
    ) -> None:
        self._reader = reader
        super().__init__(self._chunks(first, start, length), status, headers)

    async def _chunks(self, first: bytes, pos: int, remaining: int) -> AsyncIterator[bytes]:
        data = first[:remaining]
        while True:
            pos += len(data)
            remaining -= len(data)
            yield data
            if remaining <= 0:
                return
            try:
                data = await anyio.to_thread.run_sync(
                    self._reader.read_at, pos, min(CHUNK, remaining)
                )
            except SwarmUnavailable as exc:
                log.warning("swarm stream cut at byte %d: %s", pos, exc)
                raise
            if not data:
                return

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the client went away with a send pending (the iterator is left
            # suspended): the reader's piece deadlines must not outlive the request.
            await anyio.to_thread.run_sync(self._reader.close)


class SwarmSource:
    """A transcode source that is not a held file: the swarm reader, opened by the encoder."""

    def __init__(self, swarm: Swarm, place: Place) -> None:
        self.swarm = swarm
        self.place = place
        # The manifest hash names the bytes: a cached transcode of it is valid anywhere.
        self.ident = hashlib.sha256(f"swarm\0{place.sha256}".encode()).hexdigest()

    def open(self) -> io.BufferedReader:
        return io.BufferedReader(_open(self.swarm, self.place), BUFFER)
