"""Same files and settings, different directories, orders and worker pools: the same bytes."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from longplay.pack import hashing
from longplay.pack.torrents import create_torrent
from torrent_reference import write_tree

SIZES = {
    f"Artist {a}/Album/{t:02d} Track.ogg": 20_000 + 7_777 * (a * 13 + t)
    for a in range(3)
    for t in range(5)
}
SIZES |= {"Artist 1/Album/cover.jpg": 4_321, "README.txt": 0, "Ünïcode/♪.ogg": 33_333}


def walk(root: Path) -> list[tuple[str, str]]:
    """Files as a directory walk finds them: in whatever order this directory lists them."""
    out = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            out.append((path.relative_to(root).as_posix(), str(path)))
    return out


def make_copy(root: Path, order_seed: int) -> list[tuple[str, str]]:
    """The same content as every other copy, written in a different order."""
    items = list(SIZES.items())
    random.Random(order_seed).shuffle(items)
    contents = {rel: data for rel, data in zip(SIZES, _contents(), strict=True)}
    for rel, _ in items:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[rel])
    return walk(root)


def _contents() -> list[bytes]:
    rng = random.Random(2024)
    return [rng.randbytes(size) for size in SIZES.values()]


@pytest.mark.parametrize("version", ["hybrid", "v1"])
def test_two_runs_in_different_directories_give_identical_torrents(tmp_path, monkeypatch, version):
    first = make_copy(tmp_path / "run-1" / "lp-t2-0007", order_seed=1)
    second = make_copy(tmp_path / "elsewhere" / "deeper" / "lp-t2-0007", order_seed=2)
    options = dict(version=version, creation_date=1_720_000_000, trackers=["udp://127.0.0.1:6969"])
    a = create_torrent("lp-t2-0007", first, workers=1, **options)
    monkeypatch.setattr(hashing, "TASK_BYTES", 64 * 1024)  # other task boundaries, other pool
    random.Random(3).shuffle(second)  # listing order must not matter
    b = create_torrent("lp-t2-0007", second, workers=2, executor="process", **options)
    assert a.data == b.data
    assert (a.info_hash_v1, a.info_hash_v2, a.magnet) == (b.info_hash_v1, b.info_hash_v2, b.magnet)


def test_info_hashes_do_not_depend_on_metadata_outside_info(tmp_path):
    files = write_tree(tmp_path / "t", {"a.ogg": 50_000})
    a = create_torrent("t", files, creation_date=1, comment="one", created_by="x")
    b = create_torrent("t", files, trackers=["http://127.0.0.1:1/announce"])
    assert a.data != b.data
    assert (a.info_hash_v1, a.info_hash_v2) == (b.info_hash_v1, b.info_hash_v2)
