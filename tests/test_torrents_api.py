"""create_torrent's results: facts, magnet links, reading back, errors, progress, real rechecks."""

from __future__ import annotations

import hashlib
import os

import libtorrent as lt
import pytest

from longplay.errors import InputError
from longplay.pack import hashing
from longplay.pack.layout import plan
from longplay.pack.torrents import (
    create_file_torrent,
    create_torrent,
    directory_files,
    read_torrent,
)
from torrent_reference import recheck, write_tree

KIB = 1024
SIZES = {
    "Artist/Album/01 Intro.ogg": 70_000,
    "Artist/Album/02 Song.ogg": 123_457,
    "Artist/cover.jpg": 9_999,
    "empty.txt": 0,
}


@pytest.fixture
def tree(tmp_path):
    return tmp_path, write_tree(tmp_path / "lp-t1-0001", SIZES)


def test_hybrid_facts(tree):
    _, files = tree
    created = create_torrent("lp-t1-0001", files, piece_size=32 * KIB)
    decoded = lt.bdecode(created.data)
    info = lt.bencode(decoded[b"info"])
    assert created.version == "hybrid"
    assert created.info_hash_v1 == hashlib.sha1(info).hexdigest()
    assert created.info_hash_v2 == hashlib.sha256(info).hexdigest()
    assert created.magnet == (
        f"magnet:?xt=urn:btih:{created.info_hash_v1}"
        f"&xt=urn:btmh:1220{created.info_hash_v2}&dn=lp-t1-0001"
    )
    assert created.total_size == sum(SIZES.values())
    assert created.file_count == len(SIZES)  # pad files are not counted
    assert created.piece_size == 32 * KIB
    assert read_torrent(created.data) == created.facts
    assert b"creation date" not in decoded and decoded[b"created by"] == b"Longplay"


def test_v1_facts_and_trackers(tree):
    _, files = tree
    trackers = ["udp://127.0.0.1:6969/announce", "http://127.0.0.1:6970/announce"]
    created = create_torrent(
        "lp-t1-0001",
        files,
        version="v1",
        trackers=trackers + trackers[:1],
        comment="tier 1",
        creation_date=1_700_000_000,
    )
    decoded = lt.bdecode(created.data)
    assert created.version == "v1" and created.info_hash_v2 is None
    assert "btmh" not in created.magnet and f"btih:{created.info_hash_v1}" in created.magnet
    assert decoded[b"announce"] == trackers[0].encode()
    assert decoded[b"announce-list"] == [[t.encode()] for t in trackers]
    assert decoded[b"creation date"] == 1_700_000_000 and decoded[b"comment"] == b"tier 1"
    assert b"files" in decoded[b"info"] and b".pad" not in created.data


def test_write_and_read_back_from_a_path(tree):
    tmp_path, files = tree
    created = create_torrent("lp-t1-0001", files)
    path = created.write(tmp_path / "out.torrent")
    assert path.read_bytes() == created.data
    assert read_torrent(path) == created.facts
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.parametrize("version", ["hybrid", "v1"])
def test_libtorrent_verifies_the_data_against_our_torrent(tree, version):
    tmp_path, files = tree
    created = create_torrent("lp-t1-0001", files, version=version, piece_size=16 * KIB)
    pieces = lt.torrent_info(created.data).num_pieces()
    assert recheck(created.data, tmp_path) == pieces
    # The same check fails once a byte of the data changes.
    target = tmp_path / "lp-t1-0001/Artist/Album/02 Song.ogg"
    data = bytearray(target.read_bytes())
    data[50_000] ^= 0xFF
    target.write_bytes(bytes(data))
    assert recheck(created.data, tmp_path) == pieces - 1


def test_single_file_torrent_facts(tmp_path):
    ((_, source),) = write_tree(tmp_path, {"catalog.sqlite": 100_000})
    created = create_file_torrent(source, name="longplay-catalog.sqlite", piece_size=16 * KIB)
    assert (created.name, created.file_count, created.total_size) == (
        "longplay-catalog.sqlite",
        1,
        100_000,
    )
    assert b"files" not in lt.bdecode(created.data)[b"info"]


def test_unreadable_torrents_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="is not a valid torrent"):
        read_torrent(b"d4:infoe")
    with pytest.raises(InputError, match="cannot read"):
        read_torrent(tmp_path / "missing.torrent")


def test_bad_options_are_refused(tree):
    _, files = tree
    with pytest.raises(InputError, match="creation date"):
        create_torrent("lp", files, creation_date=-5)
    with pytest.raises(InputError, match="list of URLs"):
        create_torrent("lp", files, trackers="udp://127.0.0.1:1/announce")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="tracker URL"):
        create_torrent("lp", files, trackers=[" udp://x "])
    with pytest.raises(InputError, match="executor 'fork'"):
        create_torrent("lp", files, executor="fork")


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_file_that_changes_after_planning_is_an_error(tmp_path, executor):
    files = write_tree(tmp_path, {"a.ogg": 40_000, "b.ogg": 40_000})
    layout = plan(
        "t",
        [(r, os.path.getsize(p), str(p)) for r, p in files],
        version="hybrid",
        piece_size=16 * KIB,
    )
    (tmp_path / "b.ogg").write_bytes(b"shorter")
    with pytest.raises(InputError, match=r"b.ogg is 7 bytes, expected 40000"):
        hashing.hash_layout(layout, workers=2, executor=executor)
    (tmp_path / "b.ogg").unlink()
    with pytest.raises(InputError, match=r"cannot read .*b.ogg"):
        hashing.hash_layout(layout, workers=2, executor=executor)


class Recorder:
    def __init__(self) -> None:
        self.done = 0.0

    def advance(self, amount: float = 1) -> None:
        self.done += amount

    def update_total(self, total: float | None) -> None:  # pragma: no cover - protocol
        pass


def test_progress_counts_every_data_byte(tree, monkeypatch):
    _, files = tree
    monkeypatch.setattr(hashing, "TASK_BYTES", 16 * KIB)
    recorder = Recorder()
    created = create_torrent("lp", files, piece_size=16 * KIB, progress=recorder, workers=2)
    assert recorder.done == created.total_size


def test_directory_files_lists_a_tree_for_create_torrent(tree):
    tmp_path, files = tree
    listed = directory_files(tmp_path / "lp-t1-0001")
    assert listed == sorted((rel, str(path)) for rel, path in files)
    assert create_torrent("lp-t1-0001", listed).data == create_torrent("lp-t1-0001", files).data


def test_directory_files_refuses_links_and_non_directories(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "outside.ogg").write_bytes(b"x")
    (tmp_path / "t" / "link.ogg").symlink_to(tmp_path / "outside.ogg")
    with pytest.raises(InputError, match=r"link\.ogg is a symbolic link"):
        directory_files(tmp_path / "t")
    with pytest.raises(InputError, match="is not a directory"):
        directory_files(tmp_path / "outside.ogg")
