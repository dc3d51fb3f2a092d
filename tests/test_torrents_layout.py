"""Layout rules: path checks, file order, pad files, piece sizes (against libtorrent where it decides)."""

from __future__ import annotations

import re

import libtorrent as lt
import pytest

from longplay.errors import InputError
from longplay.pack.layout import choose_piece_size, plan
from longplay.pack.torrents import create_torrent

KIB = 1024


def entries(*paths: str, size: int = 10):
    return [(p, size, f"/src/{i}") for i, p in enumerate(paths)]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../escape.ogg", "is '..'"),
        ("a/../../b", "is '..'"),
        ("/etc/passwd", "is absolute"),
        ("a//b", "is empty"),
        ("a/", "is empty"),
        ("", "is empty"),
        ("./a", "is '.'"),
        ("a\\b", "path separator"),
        ("tab\there", "control character U+0009"),
        ("nul\x00byte", "control character U+0000"),
        ("c1\x85", "control character U+0085"),
        ("zero\u200bwidth", "invisible character U+200B"),
        ("rtl\u202eevil.ogg", "invisible character U+202E"),
        ("bom\ufeff", "invisible character U+FEFF"),
        ("x" * 241, "241 bytes long"),
        ("é" * 121, "242 bytes long"),
        ("bad\udcff", "not valid UTF-8"),
        (".pad/7", "reserved for BEP 47 pad files"),
    ],
)
def test_bad_paths_are_refused_naming_the_path(path, message):
    with pytest.raises(InputError, match=re.escape(message)) as caught:
        plan("t", entries(path, "ok.ogg"), version="hybrid", piece_size=None)
    assert repr(path) in str(caught.value)


def test_names_libtorrent_keeps_are_accepted():
    """Each of these loads back from a libtorrent torrent unchanged (checked below)."""
    names = [
        "sp ace",
        "trail ",
        "trail.",
        "...",
        ".hidden",
        "colon:x",
        'q?*<>|"',
        "CON",
        "ünï cødé ✓",
        "e\u0301",
        "x" * 240,
        "a.pad",
        "sub/.pad/x",
    ]
    layout = plan("t", entries(*names), version="hybrid", piece_size=None)
    assert sorted("/".join(f.path) for f in layout.real_files()) == sorted(names)
    ct = lt.create_torrent([lt.create_file_entry(f"t/{n}", 10) for n in names], 16 * KIB)
    for piece in range(ct.num_pieces()):
        ct.set_hash(piece, b"\x01" * 20)
    loaded = lt.torrent_info(lt.bencode(ct.generate())).layout()
    paths = {loaded.file_path(i) for i in range(loaded.num_files())}
    assert {f"t/{n}" for n in names} <= paths


def test_bad_torrent_names_are_refused():
    for name in ("", "..", "a/b", "x\ny"):
        with pytest.raises(InputError, match="torrent name"):
            plan(name, entries("a"), version="hybrid", piece_size=None)


def test_duplicates_and_file_directory_clashes_are_refused():
    with pytest.raises(InputError, match="'a/b' appears twice"):
        plan("t", entries("a/b", "c", "a/b"), version="v1", piece_size=None)
    with pytest.raises(InputError, match="'a' in torrent 't' is a file, but 'a/b/c' needs it"):
        plan("t", entries("a/b/c", "a"), version="v1", piece_size=None)


def test_empty_torrents_are_refused():
    with pytest.raises(InputError, match="has no files"):
        plan("t", [], version="hybrid", piece_size=None)
    with pytest.raises(InputError, match="holds no data"):
        plan("t", entries("a", "b", size=0), version="hybrid", piece_size=None)


@pytest.mark.parametrize(
    ("version", "piece_size"),
    [
        ("hybrid", 8 * KIB),
        ("hybrid", 48 * KIB),
        ("hybrid", 256 * 1024 * KIB),
        ("v1", 1000),
        ("v1", 0 - 1),
    ],
)
def test_bad_piece_sizes_are_refused(version, piece_size):
    with pytest.raises(InputError, match="piece size"):
        plan("t", entries("a"), version=version, piece_size=piece_size)


def test_v1_accepts_what_libtorrent_accepts():
    assert plan("t", entries("a"), version="v1", piece_size=48 * KIB).piece_size == 48 * KIB
    assert plan("t", entries("a"), version="v1", piece_size=8 * KIB).piece_size == 8 * KIB


def test_unknown_version_is_refused():
    with pytest.raises(InputError, match="'v2' is not one of hybrid, v1"):
        plan("t", entries("a"), version="v2", piece_size=None)


@pytest.mark.parametrize(
    "total",
    [
        1,
        2_684_355,
        2_684_356,
        10**8,
        10**9,
        100 * 10**9,
        703_687_441_777,
        703_687_441_778,
        300 * 10**12,
    ],
)
def test_piece_size_rule_is_libtorrents(total):
    ct = lt.create_torrent([lt.create_file_entry("t/a", total)], 0, lt.create_torrent.v1_only)
    assert choose_piece_size(total, "v1") == choose_piece_size(total, "hybrid") == ct.piece_length()


def test_piece_size_examples():
    assert choose_piece_size(10**9) == 512 * KIB
    assert choose_piece_size(100 * 10**9) == 4 * 1024 * KIB
    assert choose_piece_size(10**15) == 16 * 1024 * KIB


def test_hybrid_pads_every_nonempty_file_to_a_piece_boundary():
    layout = plan(
        "t",
        [("b", 5, "/b"), ("a", 16 * KIB, "/a"), ("c", 0, "/c"), ("d", 1, "/d")],
        version="hybrid",
        piece_size=16 * KIB,
    )
    assert [("/".join(f.path), f.size, f.offset, f.pad) for f in layout.files] == [
        ("a", 16 * KIB, 0, False),
        ("b", 5, 16 * KIB, False),
        (".pad/16379", 16379, 16 * KIB + 5, True),
        ("c", 0, 32 * KIB, False),
        ("d", 1, 32 * KIB, False),
        (".pad/16383", 16383, 32 * KIB + 1, True),
    ]
    assert layout.stream_size == 3 * 16 * KIB
    assert layout.data_size == 16 * KIB + 6


def test_v1_has_no_pads_and_single_file_hybrid_neither():
    v1 = plan("t", [("b", 5, "/b"), ("a", 7, "/a")], version="v1", piece_size=16 * KIB)
    assert [(f.path, f.offset) for f in v1.files] == [(("a",), 0), (("b",), 7)]
    single = plan(
        "song.ogg", [("ignored", 5, "/s")], version="hybrid", piece_size=16 * KIB, single_file=True
    )
    assert [(f.path, f.size, f.pad) for f in single.files] == [(("song.ogg",), 5, False)]


def test_sources_are_checked(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match=r"path 'x.ogg': cannot read its source .*missing"):
        create_torrent("t", [("x.ogg", tmp_path / "missing")])
    with pytest.raises(InputError, match=r"path 'd.ogg': its source .*dir is not a regular file"):
        create_torrent("t", [("d.ogg", tmp_path / "dir")])
