"""A publisher that seeds and a mirror that holds no audio, served: the swarm tests' world.

The publisher is the packed demo archive (real clips, hybrid torrents). The mirror imports the
release from the publisher's metadata torrent folder, copies torrents/ (listing, .torrent
files, manifests) and nothing of files/, and serves on 127.0.0.1 with the seeder as its peer.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from longplay.archive import Archive
from longplay.catalog.sources.release import ingest_release
from longplay.pack.listing import ManifestRow, read_listing, read_manifest
from longplay.server import accounts
from netutil import free_port, wait_for
from serverfixtures import PASSWORD, USER, Live


@dataclass
class Track:
    row: ManifestRow
    torrent: str
    original: Path  # the publisher's file

    @property
    def wid(self) -> str:
        return f"tr-{self.row.track_id}"


def audio_tracks(publisher: Archive) -> list[Track]:
    out = []
    for t in read_listing(publisher.torrents_dir / "torrents.json").torrents:
        if t.is_metadata or not t.manifest:
            continue
        for row in read_manifest(publisher.torrents_dir / t.manifest):
            out.append(Track(row, t.name, publisher.files_dir / t.name / row.path))
    return sorted(out, key=lambda x: x.row.path)


def mirror_archive(root: Path, publisher: Archive, peer_port: int, timeout: float = 3.0) -> Archive:
    mirror = Archive.init(root)
    mirror.toml_path.write_text(
        "auth_attempts_per_minute = 0\n"
        'listen_interface = "127.0.0.1:0"\n'
        f'peers = "127.0.0.1:{peer_port}"\n'
        f"swarm_timeout = {timeout}\n"
    )
    mirror = Archive.open(root)
    shutil.copytree(publisher.torrents_dir, mirror.torrents_dir, dirs_exist_ok=True)
    meta = next(p for p in publisher.files_dir.iterdir() if p.name.endswith("-metadata"))
    ingest_release(mirror, meta)
    accounts.add_user(mirror, USER, PASSWORD, admin=True)
    return mirror


class Served:
    """uvicorn over an archive on a free port, on a thread."""

    def __init__(self, archive: Archive) -> None:
        import uvicorn

        from longplay.server.app import create_app

        self.app = create_app(archive)
        self.port = free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for("the server", lambda: self.server.started, 30, every=0.05)
        self.client = httpx.Client(timeout=60)
        self.live = Live(archive, f"http://127.0.0.1:{self.port}", "", self.client)

    @property
    def swarm(self) -> Any:
        return self.app.state.server.services.get("swarm")

    def close(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(15)
