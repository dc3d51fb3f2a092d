"""Running the server: uvicorn on the app, logs to stderr, a clean stop on SIGTERM.

uvicorn stops accepting on SIGTERM or Ctrl-C and lets requests in flight (streams included)
finish for ``GRACE_S`` seconds before closing them. The catalog view is built before the
first connection is accepted, so the first client never waits for a snapshot. The limits on
what one client may cost (server/limits.py) are set here from the ``server_*`` settings.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from longplay.archive import Archive
from longplay.server.app import create_app
from longplay.server.limits import guarded_http, raise_open_files

GRACE_S = 10
log = logging.getLogger("longplay.server")


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
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, **options(archive))
    uvicorn.Server(config).run()


def options(archive: Archive) -> dict[str, Any]:
    """uvicorn's settings for ``longplay serve``: the limits of docs/serve.md and the event loop."""
    s = archive.settings
    soft, _ = raise_open_files()
    log.info("open-file limit %d", soft)
    return {
        "access_log": False,  # our own access log leaves secrets out of the query
        "timeout_graceful_shutdown": GRACE_S,
        "server_header": False,
        "http": guarded_http(int(s.server_max_head), float(s.server_header_timeout)),
        "limit_concurrency": int(s.server_max_connections) or None,
        "timeout_keep_alive": int(s.server_keepalive_timeout),
        "backlog": 4096,  # a burst of new connections waits in the kernel, not refused
    }
