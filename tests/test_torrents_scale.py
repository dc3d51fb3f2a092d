"""At scale (about 1 GB of audio-sized files, the production piece size): still libtorrent's bytes."""

from __future__ import annotations

import numpy as np
import pytest

from longplay.pack.layout import choose_piece_size
from longplay.pack.torrents import create_torrent, directory_files
from torrent_reference import libtorrent_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive_tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("scale")
    rng = np.random.default_rng(5)
    total, index = 0, 0
    while total < 10**9:
        size = int(rng.integers(10**6, 8 * 10**6))
        path = (
            base
            / "lp-t1-0001"
            / f"artist-{index // 40:03d}"
            / f"album-{index // 10:04d}"
            / f"{index % 10:02d}.ogg"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.bytes(size))
        total, index = total + size, index + 1
    return base


@pytest.mark.parametrize("version", ["hybrid", "v1"])
def test_a_gigabyte_equals_libtorrent(archive_tree, version):
    files = directory_files(archive_tree / "lp-t1-0001")
    piece = choose_piece_size(100 * 10**9)  # what a 100 GB production torrent gets: 4 MiB
    created = create_torrent("lp-t1-0001", files, version=version, piece_size=piece)
    expected = libtorrent_bytes(
        archive_tree, "lp-t1-0001", [rel for rel, _ in files], version=version, piece_size=piece
    )
    assert created.data == expected
