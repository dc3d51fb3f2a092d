"""A tiny Starlette app around the media responses, and a real uvicorn server to run it on.

The streaming tests drive it through Starlette's TestClient (in process) and through httpx
against uvicorn on a free 127.0.0.1 port (real sockets: disconnects, time to first byte).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from longplay.errors import InputError
from longplay.server.files import file_response
from longplay.server.streaming import Busy, TranscodeService
from netutil import free_port, wait_for


def media_app(root: Path, service: TranscodeService) -> Starlette:
    """``/file/<name>`` serves a file of ``root``; ``/stream/<name>?fmt=&bitrate=&offset=&u=``
    transcodes one (``estimate=1&duration=`` for an estimated length)."""

    async def file(request: Request) -> Response:
        try:
            return file_response(request, root / request.path_params["name"], "audio/flac")
        except InputError as exc:
            return PlainTextResponse(str(exc), 404)

    async def stream(request: Request) -> Response:
        q = request.query_params
        try:
            return await service.response(
                request,
                root / request.path_params["name"],
                fmt=q.get("fmt", "opus"),
                bitrate=int(q["bitrate"]) if "bitrate" in q else None,
                offset_s=float(q.get("offset", 0)),
                user=q.get("u", "alice"),
                duration_s=float(q["duration"]) if "duration" in q else None,
                estimate_length=q.get("estimate") == "1",
            )
        except Busy as exc:
            return PlainTextResponse(str(exc), 503)
        except InputError as exc:
            return PlainTextResponse(str(exc), 400)

    return Starlette(
        routes=[
            Route("/file/{name}", file, methods=["GET", "HEAD"]),
            Route("/stream/{name}", stream, methods=["GET", "HEAD"]),
        ]
    )


@contextmanager
def uvicorn_server(app: Starlette) -> Iterator[str]:
    """Run ``app`` on uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    try:
        wait_for("uvicorn to start", lambda: server.started, timeout=10, every=0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
