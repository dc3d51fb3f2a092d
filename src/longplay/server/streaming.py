"""Live transcodes over HTTP that fill a cache (files on disk: ``server.files``).

`TranscodeService` runs each transcode (`audio.live`) in a thread of its own, which writes the
encoded bytes into a part file of the transcode cache as fast as it can; the response tails
that file. So the encoder is never paced by the network: a slow client holds an open file, not
a CPU slot, and the finished transcode is cached even when its first client went away after the
encode ended. The first bytes go out as soon as the encoder's first page is on disk.

Limits: at most ``max_concurrent`` encodes on the server and ``max_per_user`` per user. A
request over a limit waits up to ``busy_wait_s`` (2 s) for a slot, then raises `Busy`. The wait
covers a client seeking: it drops the old stream and asks for the new offset at once, and the
old encoder needs a moment to notice. Waiting longer would leave a request hanging with nothing
sent while the client times out, so the handler answers Busy with an error the client can show.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from longplay.audio import live
from longplay.errors import InputError, LongplayError
from longplay.server.files import CHUNK, Fd, file_response
from longplay.server.transcode_cache import TranscodeCache, cache_key, ident_key

TAIL_CHUNK = 256 * 1024  # at most this much of a growing transcode per send
# The encoder thread checks for a cancel between chunks: 16 KiB is ~0.7 s of 192k MP3, encoded
# in ~30 ms, so a client that went away stops its encoder that soon (64 KiB took ~4x longer).
ENCODE_CHUNK = 16 * 1024
THREAD_PREFIX = "longplay-transcode"


class OpenedSource(Protocol):
    """A transcode source that is no file on disk (a track read from the swarm)."""

    ident: str  # names the bytes: the transcode cache key is made from it

    def open(self) -> BinaryIO: ...


class Busy(LongplayError):
    """Too many transcodes run on the server, or for this user; try again shortly."""


class _Job:
    """One transcode written into a part file by its own thread, and what the readers see."""

    def __init__(self, part: Path) -> None:
        self.part = part
        self.loop = asyncio.get_running_loop()
        self.changed = asyncio.Event()  # set (from the thread) when written or done change
        self.cancelled = threading.Event()
        self.written = 0
        self.done = False
        self.error: BaseException | None = None

    def notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
            self.loop.call_soon_threadsafe(self.changed.set)

    async def wait(self, ready: Any) -> None:
        """Until ``ready()`` is true (checked after each change the thread reports)."""
        while not ready():
            self.changed.clear()
            if ready():  # a change between the check and the clear is not lost
                return
            await self.changed.wait()


class _TranscodeStream(StreamingResponse):
    """The tail of a growing transcode; a client that goes away stops the encoder."""

    def __init__(self, content: AsyncIterator[bytes], headers: dict[str, str], job: _Job):
        self._job = job
        super().__init__(content, 200, headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the client disconnected while a send was pending, which leaves the
            # content iterator suspended rather than closed.
            self._job.cancelled.set()


class TranscodeService:
    """Transcodes for the ``stream`` endpoint: live from a thread, then from the cache."""

    def __init__(
        self,
        cache_dir: Path,
        cache_bytes: int,
        max_concurrent: int,
        max_per_user: int,
        *,
        busy_wait_s: float = 2.0,
    ) -> None:
        self.cache = TranscodeCache(cache_dir, cache_bytes)
        # A StreamingResponse makes an anyio task group, and anyio imports its asyncio backend
        # on the first one a process makes: that added 130 ms to the first stream's first byte
        # (300 ms on the loaded machine). Running anyio once here, in a thread of its own as
        # the caller may be inside an event loop, moves the cost to server start.
        warm = threading.Thread(target=anyio.run, args=(anyio.sleep, 0), name="anyio-warm-up")
        warm.start()
        warm.join()
        self.max_concurrent = max_concurrent
        self.max_per_user = max_per_user
        self.busy_wait_s = busy_wait_s
        self._lock = threading.Lock()
        self._running = 0
        self._per_user: dict[str, int] = {}

    @property
    def running(self) -> int:
        """Encodes running now."""
        return self._running

    def _try_acquire(self, user: str) -> bool:
        with self._lock:
            if self._running >= self.max_concurrent:
                return False
            if self._per_user.get(user, 0) >= self.max_per_user:
                return False
            self._running += 1
            self._per_user[user] = self._per_user.get(user, 0) + 1
            return True

    def _release(self, user: str) -> None:
        with self._lock:
            self._running -= 1
            left = self._per_user.pop(user) - 1
            if left:
                self._per_user[user] = left

    async def _acquire(self, user: str) -> None:
        deadline = time.monotonic() + self.busy_wait_s
        while not self._try_acquire(user):
            if time.monotonic() >= deadline:
                raise Busy(
                    f"too many transcodes running (at most {self.max_concurrent}, "
                    f"{self.max_per_user} per user); try again shortly"
                )
            await anyio.sleep(0.05)

    async def response(
        self,
        request: Request,
        src: Path | OpenedSource,
        *,
        fmt: str,
        bitrate: int | None,
        offset_s: float,
        user: str,
        duration_s: float | None,
        estimate_length: bool,
    ) -> Response:
        """The transcode of ``src`` to ``fmt``: from the cache as a file (with Range) when
        finished before, else streamed while it is encoded.

        ``estimate_length`` with a known ``duration_s`` sends `live.estimate_length` as the
        Content-Length and pads the stream with zero bytes to it (or cuts it there), as Subsonic
        servers do for clients that need a length up front; MP3, ADTS and Ogg decoders skip
        the zeros while looking for the next frame. Raises `InputError` for an unreadable
        source or a bad format, `Busy` when over a limit.
        """
        bitrate = live.clamp_bitrate(fmt, bitrate)
        offset_s = max(offset_s, 0.0)
        media_type = live.content_type(fmt)
        try:
            if isinstance(src, Path):
                key = cache_key(src, fmt, bitrate, offset_s)
            else:  # a source that is no file on disk names its own bytes
                key = ident_key(src.ident, fmt, bitrate, offset_s)
        except OSError as exc:
            raise InputError(f"{src}: cannot be read ({exc.strerror})") from None
        cached = self.cache.lookup(key, fmt)
        if cached is not None:
            try:
                return file_response(request, cached, media_type)
            except InputError:
                pass  # evicted since the lookup: transcode it again
        headers = {"Content-Type": media_type, "Accept-Ranges": "none"}
        length = None
        if estimate_length and duration_s is not None:
            length = live.estimate_length(max(duration_s - offset_s, 0.0), fmt, bitrate)
            headers["Content-Length"] = str(length)
        if request.method == "HEAD":
            head = Response(status_code=200, headers=headers)
            if length is None:
                del head.headers["content-length"]
            return head
        await self._acquire(user)
        try:
            job = _Job(self.cache.partial_path(key))
            wfd = os.open(job.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            rfd = os.open(job.part, os.O_RDONLY)
        except BaseException:
            self._release(user)
            raise
        args = (job, wfd, key, src, fmt, bitrate, offset_s, user)
        threading.Thread(target=self._encode, args=args, name=f"{THREAD_PREFIX}-{user}").start()
        try:
            # The first bytes, or the failure: a source that cannot be decoded is an InputError
            # the handler answers, not a 200 that ends at once.
            await job.wait(lambda: job.written or job.done)
        except BaseException:
            job.cancelled.set()
            os.close(rfd)
            raise
        if job.error is not None and not job.written:
            os.close(rfd)
            raise job.error
        return _TranscodeStream(self._tail(job, rfd, length), headers, job)

    def _encode(
        self,
        job: _Job,
        wfd: int,
        key: str,
        src: Path | OpenedSource,
        fmt: str,
        bitrate: int,
        offset_s: float,
        user: str,
    ) -> None:
        """The encoder thread: transcode into the part file, then move it into the cache."""
        kept = False
        opened: Any = None
        try:
            opened = src if isinstance(src, Path) else src.open()
            chunks = live.transcode_chunks(
                opened, fmt, bitrate=bitrate, offset_s=offset_s, chunk_bytes=ENCODE_CHUNK
            )
            try:
                for chunk in chunks:
                    if job.cancelled.is_set():
                        break
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(wfd, view) :]
                    job.written += len(chunk)
                    job.notify()
            finally:
                chunks.close()  # stops the encoder where it is, closing both containers
                os.close(wfd)
            if not job.cancelled.is_set():
                self.cache.add(key, fmt, job.part)
                kept = True
        except BaseException as exc:
            job.error = exc
        finally:
            if opened is not None and not isinstance(opened, Path):
                opened.close()
            if not kept:
                job.part.unlink(missing_ok=True)  # a reader holding it open reads on
            self._release(user)
            job.done = True
            job.notify()

    async def _tail(self, job: _Job, rfd: int, length: int | None) -> AsyncIterator[bytes]:
        """The part file as it grows; then zero padding up to ``length``, if one was sent."""
        fd = Fd(rfd)
        pos = 0
        sent = 0
        try:
            while True:
                await job.wait(lambda at=pos: at < job.written or job.done)
                if pos < job.written:
                    n = min(job.written - pos, TAIL_CHUNK)
                    data = await anyio.to_thread.run_sync(os.pread, rfd, n, pos)
                    pos += len(data)
                    if length is not None:
                        data = data[: max(length - sent, 0)]
                    sent += len(data)
                    if data:
                        yield data
                    continue
                if job.error is not None:
                    raise job.error  # the server drops the connection: a cut-off stream
                break
            while length is not None and sent < length:
                pad = min(length - sent, CHUNK)
                sent += pad
                yield bytes(pad)
        finally:
            job.cancelled.set()
            fd.close()
