"""Our torrents are byte for byte what libtorrent's own create_torrent + set_piece_hashes make."""

from __future__ import annotations

import libtorrent as lt
import pytest

from longplay.pack import hashing
from longplay.pack.torrents import create_file_torrent, create_torrent
from torrent_reference import libtorrent_bytes, recheck, write_tree

KIB = 1024
PIECE = 32 * KIB

# name -> {relative path: size}; sizes chosen around the 16 KiB block and the piece boundary.
SHAPES = {
    "one-file-in-dir": {"only.ogg": 100_000},
    "odd-sizes": {f"disc/{i:02d}.ogg": 1 + i * 7919 for i in range(12)},
    "empty-files": {"a-empty": 0, "b.ogg": 5000, "c/empty": 0, "d.ogg": 70_001, "z-empty": 0},
    "nested": {"x/y/z/deep.flac": 40_000, "x/y/shallow": 3, "x/top": 16 * KIB, "w": 1},
    "exact-piece": {"p1": PIECE, "p2": 2 * PIECE, "p3": PIECE - 1, "p4": PIECE + 1},
    "tiny": {
        "one-byte": 1,
        "block": 16 * KIB,
        "under-block": 16 * KIB - 1,
        "over-block": 16 * KIB + 1,
    },
    "non-ascii": {
        "Björk/Homogénic/01 Hunter.ogg": 9000,
        "東京事変/教育/01.ogg": 33_000,
        "Sigur Rós/( )/untitled #1.ogg": 12_345,
        "emoji 🎵/♪.ogg": 777,
    },
    "many-pieces": {"long.ogg": 2_500_000, "short.ogg": 30_000},
    # Same order as a path string and as file tree keys: "a0" > "a/".
    "sort-order-agrees": {"a/b": 30_000, "a0": 20_000, "A": 4, "ab": 50_000},
}
# "Abba Gold/x" sorts before "Abba/y" as a string but after "Abba" as a file tree key.
DIVERGES = {"Abba Gold/01.ogg": 20_000, "Abba/01.ogg": 30_000, "Abba-live.ogg": 10, "Abba.ogg": 5}


@pytest.mark.parametrize("version", ["hybrid", "v1"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_bytes_equal_libtorrent(tmp_path, shape, version):
    sizes = SHAPES[shape]
    files = write_tree(tmp_path / shape, sizes)
    created = create_torrent(
        shape, files, version=version, piece_size=PIECE, workers=2, executor="thread"
    )
    expected = libtorrent_bytes(tmp_path, shape, list(sizes), version=version, piece_size=PIECE)
    assert created.data == expected
    assert created.total_size == sum(sizes.values())
    assert created.file_count == len(sizes)
    assert created.piece_size == PIECE
    assert (created.info_hash_v2 is not None) == (version == "hybrid")


@pytest.mark.parametrize("version", ["hybrid", "v1"])
@pytest.mark.parametrize("size", [1, 16 * KIB, PIECE, 3 * PIECE + 5, 200_000])
def test_single_file_torrent_equals_libtorrent(tmp_path, version, size):
    (source,) = write_tree(tmp_path, {"song.ogg": size})
    created = create_file_torrent(source[1], version=version, piece_size=PIECE, workers=2)
    expected = libtorrent_bytes(
        tmp_path, "song.ogg", [], version=version, piece_size=PIECE, single_file=True
    )
    assert created.data == expected
    assert created.name == "song.ogg"
    assert created.file_count == 1


@pytest.mark.parametrize("version", ["hybrid", "v1"])
@pytest.mark.parametrize("piece_size", [16 * KIB, 64 * KIB, 256 * KIB])
def test_piece_sizes_and_split_tasks_equal_libtorrent(tmp_path, monkeypatch, version, piece_size):
    """Small tasks split files across workers (and processes); the result must not change."""
    sizes = {"big.ogg": 1_300_000, "mid.ogg": 300_001, "small.ogg": 7, "e": 0}
    files = write_tree(tmp_path / "t", sizes)
    expected = libtorrent_bytes(tmp_path, "t", list(sizes), version=version, piece_size=piece_size)
    monkeypatch.setattr(hashing, "TASK_BYTES", piece_size)  # one piece per task
    for workers, executor in ((1, "thread"), (3, "thread"), (2, "process")):
        created = create_torrent(
            "t", files, version=version, piece_size=piece_size, workers=workers, executor=executor
        )
        assert created.data == expected, (workers, executor)


@pytest.mark.parametrize("version", ["hybrid", "v1"])
def test_metadata_outside_info_equals_libtorrent(tmp_path, version):
    sizes = {"a.ogg": 50_000, "b/c.ogg": 20_000}
    files = write_tree(tmp_path / "meta", sizes)
    trackers = (
        "udp://127.0.0.1:6969/announce",
        "http://127.0.0.1:8000/announce",
        "http://127.0.0.1:8001/announce",
    )
    options = dict(
        trackers=trackers,
        comment="Longplay test torrent ✓",
        creation_date=1_700_000_000,
        created_by="Longplay test",
    )
    created = create_torrent("meta", files, version=version, piece_size=PIECE, **options)
    expected = libtorrent_bytes(
        tmp_path, "meta", list(sizes), version=version, piece_size=PIECE, **options
    )
    assert created.data == expected
    one = create_torrent(
        "meta", files, version=version, piece_size=PIECE, created_by=None, trackers=trackers[:1]
    )
    assert one.data == libtorrent_bytes(
        tmp_path,
        "meta",
        list(sizes),
        version=version,
        piece_size=PIECE,
        created_by=None,
        trackers=trackers[:1],
    )


@pytest.mark.parametrize("version", ["hybrid", "v1"])
def test_automatic_piece_size_equals_libtorrent(tmp_path, version):
    sizes = {"x.ogg": 3_000_000, "y.ogg": 150_000}
    files = write_tree(tmp_path / "auto", sizes)
    created = create_torrent("auto", files, version=version)
    assert created.piece_size == 32 * KIB  # libtorrent's table: 2.7 MB < total <= 10.7 MB
    assert created.data == libtorrent_bytes(
        tmp_path, "auto", list(sizes), version=version, piece_size=0
    )


def test_v1_in_file_tree_order_equals_libtorrent(tmp_path):
    files = write_tree(tmp_path / "abba", DIVERGES)
    created = create_torrent("abba", files, version="v1", piece_size=PIECE)
    assert created.data == libtorrent_bytes(
        tmp_path, "abba", list(DIVERGES), version="v1", piece_size=PIECE
    )


def test_hybrid_where_libtorrent_writes_an_invalid_torrent(tmp_path):
    """libtorrent 2.1 sorts hybrid files by path string; its loader wants file tree order."""
    files = write_tree(tmp_path / "abba", DIVERGES)
    created = create_torrent("abba", files, version="hybrid", piece_size=PIECE)
    theirs = libtorrent_bytes(tmp_path, "abba", list(DIVERGES), version="hybrid", piece_size=PIECE)
    with pytest.raises(RuntimeError, match="v1 and v2 file metadata does not match"):
        lt.torrent_info(theirs)
    # Ours loads, lists v1 files in file tree order, and its hashes match the data.
    info = lt.torrent_info(created.data)
    layout = info.layout()
    real = [
        layout.file_path(i)
        for i in range(layout.num_files())
        if not layout.file_flags(i) & lt.file_storage.flag_pad_file
    ]
    assert real == [
        f"abba/{p}" for p in ("Abba/01.ogg", "Abba Gold/01.ogg", "Abba-live.ogg", "Abba.ogg")
    ]
    assert recheck(created.data, tmp_path) == info.num_pieces()
