"""The seeding status file: what a running `longplay seed` is doing, for the torrents page.

A seed session writes ``DIR/seeding.json`` every few seconds (atomic replace): per torrent its
upload and download rate, peers and bytes uploaded, with the time it was written and the
interval it promised. A reader trusts it only while it is fresh: older than twice the interval
means the seeder stopped without saying so (``kill -9``, a crash, a lost machine). A clean stop
writes one last status marked stopped.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from longplay.mirror.session import SessionStatus

STATUS_FILE = "seeding.json"
STATUS_EVERY_S = 5.0  # seconds between writes while seeding
STALE_AFTER = 2.0  # intervals without a write before a status is no longer believed


@dataclass(frozen=True)
class TorrentRate:
    upload_rate: int  # payload bytes/s
    download_rate: int
    peers: int
    uploaded: int  # all-time payload bytes
    state: str


@dataclass(frozen=True)
class Seeding:
    """A status read back: ``live`` when a seeder wrote it recently and has not stopped."""

    updated_at: str
    live: bool
    stopped: bool
    listen_port: int
    torrents: dict[str, TorrentRate]


def status_path(directory: Path) -> Path:
    return Path(directory) / STATUS_FILE


def write_status(
    directory: Path, status: SessionStatus, interval: float, *, stopped: bool = False
) -> None:
    """Replace the status file with ``status`` (written beside it, then renamed)."""
    now = time.time()
    doc = {
        "updated_at": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_unix": now,
        "interval_s": interval,
        "stopped": stopped,
        "pid": os.getpid(),
        "listen_port": status.listen_port,
        "torrents": {
            t.name: {
                "upload_rate": t.upload_rate,
                "download_rate": t.download_rate,
                "peers": t.peers,
                "uploaded": t.uploaded,
                "state": t.state,
            }
            for t in status.torrents
        },
    }
    path = status_path(directory)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _torrent(value: Any) -> TorrentRate:
    return TorrentRate(
        int(value["upload_rate"]),
        int(value["download_rate"]),
        int(value["peers"]),
        int(value["uploaded"]),
        str(value["state"]),
    )


def read_status(directory: Path, now: float | None = None) -> Seeding | None:
    """The last status written, or None when there is none or it cannot be read."""
    try:
        doc = json.loads(status_path(directory).read_text(encoding="utf-8"))
        updated, interval = float(doc["updated_unix"]), float(doc["interval_s"])
        stopped = bool(doc["stopped"])
        torrents = {str(k): _torrent(v) for k, v in dict(doc["torrents"]).items()}
        port = int(doc["listen_port"])
        when = str(doc["updated_at"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    age = (time.time() if now is None else now) - updated
    live = not stopped and -interval <= age <= STALE_AFTER * interval
    return Seeding(when, live, stopped, port, torrents)
