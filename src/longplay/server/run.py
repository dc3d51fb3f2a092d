"""Running the server: uvicorn on the app, logs to stderr, a clean stop on SIGTERM.

uvicorn stops accepting on SIGTERM or Ctrl-C and lets requests in flight (streams included)
finish for ``GRACE_S`` seconds before closing them. The catalog view is built before the
first connection is accepted, so the first client never waits for a snapshot.
"""

from __future__ import annotations

import logging
import sys

from longplay.archive import Archive
from longplay.server.app import create_app

GRACE_S = 10


def url(host: str, port: int, base_url: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{base_url.rstrip('/')}/"


def serve(
    archive: Archive,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    peers: tuple[tuple[str, int], ...] = (),
) -> None:
    import uvicorn

    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    app = create_app(archive, peers)
    app.state.server.follower.view()  # build the snapshot and holdings before listening
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # our own access log leaves secrets out of the query
        timeout_graceful_shutdown=GRACE_S,
        server_header=False,
    )
    uvicorn.Server(config).run()
