"""Scanning endpoints: startScan runs `scan` of the library's folders in the background.

The folders are the roots the library already knows (every folder `longplay scan` was given).
One scan at a time; getScanStatus reports it. When it ends the server re-reads its holdings.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint
from longplay.server.errors import NOT_AUTHORIZED, SubsonicError

if TYPE_CHECKING:
    from longplay.server.app import Server

log = logging.getLogger("longplay.server")
_lock = threading.Lock()


def _roots(server: Server) -> list[str]:
    from longplay.audio.library import LibraryStore

    if not server.archive.library_path.exists():
        return []
    with LibraryStore(server.archive, read_only=True) as lib:
        return [row[0] for row in lib.con.execute("SELECT DISTINCT root FROM files").fetchall()]


def _run(server: Server, roots: list[str]) -> None:
    from longplay.audio.scan import scan

    try:
        summary = scan(server.archive, roots)
        server.scan["count"] = int(summary.walked)
        server.follower.refresh_now()
    except Exception:
        log.exception("background scan failed")
    finally:
        server.scan["scanning"] = False


def _status(call: Call) -> r.Payload:
    return r.Payload(
        "scanStatus",
        {"scanning": bool(call.server.scan["scanning"]), "count": call.server.scan["count"]},
    )


@endpoint("getScanStatus")
def get_scan_status(call: Call) -> r.Payload:
    return _status(call)


@endpoint("startScan")
def start_scan(call: Call) -> r.Payload:
    if not call.user.is_admin:
        raise SubsonicError(NOT_AUTHORIZED, "only admins may start a scan")
    begin(call.server)
    return _status(call)


def begin(server: Server) -> bool:
    """Start a scan in the background unless one runs; whether one runs now (the web's admin
    page calls this too)."""
    with _lock:
        if not server.scan["scanning"]:
            roots = _roots(server)
            if roots:
                server.scan["scanning"] = True
                threading.Thread(target=_run, args=(server, roots), daemon=True).start()
        return bool(server.scan["scanning"])
