"""The swarm reader against a slow seeder that goes away mid-file, and a restart that resumes.

Library level (no server): `Swarm.open` on a mirror that has torrents/ and no data; the
seeder is rate-limited so that it can be stopped while the file is half fetched.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from longplay.archive import Archive
from longplay.mirror.swarm import Swarm, SwarmUnavailable
from seeding import Seeder
from torrentdata import TorrentSpec, build_mirror, random_files

SPEC = TorrentSpec("lp-t0-0001", random_files(7, 2, 1_000_000), 0, 100, (10, 90))
LIMIT = 150_000  # bytes/s from the seeder: several seconds for a file


def _mirror(root: Path, src: Path, port: int) -> Archive:
    mirror = Archive.init(root)
    mirror.toml_path.write_text(
        f'listen_interface = "127.0.0.1:0"\npeers = "127.0.0.1:{port}"\nswarm_timeout = 3\n'
    )
    shutil.copytree(src / "torrents", mirror.torrents_dir, dirs_exist_ok=True)
    return Archive.open(root)


def test_seeder_gone_mid_file_then_resumed_after_restart(tmp_path: Path) -> None:
    src = tmp_path / "source"
    build_mirror(src, [SPEC], piece_size=16384)
    rel, data = sorted(SPEC.files.items())[0]
    seeder = Seeder(src, upload_limit=LIMIT)
    mirror = _mirror(tmp_path / "mirror", src, seeder.port)
    swarm = Swarm(mirror)
    place = swarm.place(1)
    assert place is not None and place.path == rel
    got = bytearray()
    try:
        reader = swarm.open(place)
        with pytest.raises(SwarmUnavailable, match="not available right now"):
            while len(got) < len(data):
                chunk = reader.read_at(len(got), 64 * 1024)
                assert chunk, "ended before the file did"
                got += chunk
                # As soon as bytes arrive: waiting for a third of the file let a busy machine's
                # libtorrent fetch all of it before the reader got there (2 of 4 CI runs).
                if seeder is not None:
                    assert seeder.session.session is not None
                    seeder.session.session.pause()  # the only seeder goes away mid-file
                    seeder.close()
                    seeder = None
                    t0 = time.monotonic()
        assert time.monotonic() - t0 < 3 + 3
        # What was sent is exactly the file's first bytes: only hash-checked pieces go out.
        assert len(got) < len(data) and bytes(got) == data[: len(got)]
        reader.close()
    finally:
        if seeder is not None:
            seeder.close()
        swarm.close()
    partial = mirror.root / "cache" / "swarm" / SPEC.name / rel
    assert partial.is_file()
    # A restarted server (a new session) finds the partial file, re-checks it and goes on.
    seeder = Seeder(src)
    mirror = _mirror(tmp_path / "mirror", src, seeder.port)
    swarm = Swarm(mirror)
    try:
        reader = swarm.open(place)
        whole = bytearray()
        while len(whole) < len(data):
            whole += reader.read_at(len(whole), 256 * 1024)
        assert bytes(whole) == data
        reader.close()
    finally:
        swarm.close()
        seeder.close()
