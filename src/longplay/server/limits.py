"""What one client may cost the server: request head size and time, body size, open files.

uvicorn bounds neither the time a client may take to send a request's head (a slowloris client
dribbling a header a byte a second holds its connection forever) nor its size (llhttp keeps
appending), and a connection that never sends a byte is never closed. :func:`guarded_http`
makes the httptools protocol close such connections: 408 past ``server_header_timeout`` seconds,
431 past ``server_max_head`` bytes, 414 for a URL over 64 KiB (httptools cannot parse one). :class:`BodyLimit` answers 413 to a body over
``server_max_body`` before reading it (by its Content-Length) or as soon as a chunked one passes
the limit. None of these count against other clients, so thousands of slow or idle connections
cost a file descriptor and a few kilobytes each, and :func:`raise_open_files` lifts the
descriptor limit to what the system allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL = 65535  # httptools' URL parser keeps offsets in 16 bits
LINGER_S = 2.0  # how long a refused connection's further bytes are read and dropped


class BodyTooLarge(Exception):
    """A request body passed ``server_max_body`` while it was read."""


def _refusal(status: int, text: str) -> bytes:
    return (
        f"HTTP/1.1 {status} {text}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(text)}\r\nconnection: close\r\n\r\n{text}"
    ).encode()


class GuardedHttp(HttpToolsProtocol):
    """httptools with a deadline and a size cap on each request's line and headers."""

    max_head = 256 << 10
    header_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = True  # waiting for (the rest of) a request's head
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False
        self._arm()  # a connection that never sends a byte is closed too

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, status: int, text: str) -> None:
        """Answer, then a lingering close: closing with unread bytes would send a reset that
        can destroy the answer before the client reads it, so read and drop for a while."""
        self._disarm()
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self.transport.write(_refusal(status, text))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)

    def _too_slow(self) -> None:
        self._deadline = None
        if self._in_head and (self.cycle is None or self.cycle.response_complete):
            self._refuse(408, "Request Timeout")
        elif self._in_head:  # a response still in flight (a long stream): look again later
            self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._arm()
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head:
                self._refuse(431, "Request Header Fields Too Large")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm()
        if self._refused:
            return
        if len(self.url) > MAX_URL:  # httptools cannot parse it: say so, not "invalid request"
            self._refuse(414, "URI Too Long")
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._in_head = True  # what comes next is the next request's head

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_http(max_head: int, header_timeout: float) -> type[GuardedHttp]:
    """The protocol class for uvicorn's ``http=`` with these limits."""
    attrs = {"max_head": int(max_head), "header_timeout": float(header_timeout)}
    return type("GuardedHttp", (GuardedHttp,), attrs)


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_body``, without reading it into memory."""

    def __init__(self, app: ASGIApp, max_body: int):
        self.app = app
        self.max_body = int(max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_body <= 0:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await too_large(self.max_body)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge
            return message

        await self.app(scope, counted, send)


def too_large(max_body: int) -> Response:
    return PlainTextResponse(
        f"Request body larger than {max_body} bytes (setting server_max_body).",
        413,
        headers={"connection": "close"},
    )


def body_too_large_handler(max_body: int) -> Any:
    """A Starlette exception handler: a chunked body that grew past the limit while read."""

    async def handler(request: Request, exc: Exception) -> Response:
        return too_large(max_body)

    return handler


def raise_open_files() -> tuple[int, int]:
    """Lift the soft open-file limit to the hard one (each connection holds a descriptor)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)
