"""Hostile .torrent files are refused before anything is written, with a clear reason."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import libtorrent as lt
import pytest

from longplay.errors import InputError
from longplay.mirror.safety import load_torrent, read_torrent
from torrentdata import make_torrent, write_files


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[bytes, Any]:
    root = tmp_path_factory.mktemp("good")
    write_files(root, "t", {"a/1.ogg": b"x" * 40000, "a/2.ogg": b"y" * 30000, "b.ogg": b"z" * 100})
    return lt.bdecode(make_torrent(root, "t"))


def _with(good: dict[bytes, Any], change: Any) -> bytes:
    doc = copy.deepcopy(good)
    change(doc[b"info"])
    doc.pop(b"piece layers", None) if b"file tree" not in doc[b"info"] else None
    return lt.bencode(doc)


def _v1_only(info: dict[bytes, Any]) -> None:
    info.pop(b"file tree")
    info.pop(b"meta version")


def test_good_torrent_loads(good: dict[bytes, Any]) -> None:
    t = load_torrent(lt.bencode(good), "good.torrent")
    assert t.name == "t"
    assert sorted(t.files) == [("a", "1.ogg"), ("a", "2.ogg"), ("b.ogg",)]
    assert t.info_hash_v1 and t.info_hash_v2


def _set_v1_path(index: int, parts: list[bytes], key: bytes = b"path"):  # type: ignore[no-untyped-def]
    def change(info: dict[bytes, Any]) -> None:
        _v1_only(info)
        info[b"files"][index][key] = parts

    return change


def _v2_tree(change_tree):  # type: ignore[no-untyped-def]
    def change(info: dict[bytes, Any]) -> None:
        info.pop(b"files")
        info.pop(b"pieces")
        change_tree(info[b"file tree"])

    return change


HOSTILE = {
    "dotdot": (_set_v1_path(0, [b"..", b"..", b"evil.ogg"]), "not allowed"),
    "dotdot-utf8": (_set_v1_path(0, [b"..", b"evil.ogg"], b"path.utf-8"), "not allowed"),
    "dot": (_set_v1_path(0, [b".", b"x.ogg"]), "not allowed"),
    "absolute": (_set_v1_path(0, [b"/etc", b"passwd"]), "separator"),
    "backslash": (_set_v1_path(0, [b"..\\..\\evil"]), "separator"),
    "drive": (_set_v1_path(0, [b"C:", b"evil"]), "drive"),
    "nul": (_set_v1_path(0, [b"a\x00b"]), "control"),
    "empty-part": (_set_v1_path(0, [b"", b"x"]), "not allowed"),
    "not-utf8": (_set_v1_path(0, [b"\xff\xfe"]), "UTF-8"),
    "name-dotdot": (lambda i: i.__setitem__(b"name", b".."), "not allowed"),
    "name-absolute": (lambda i: i.__setitem__(b"name", b"/tmp/evil"), "separator"),
    "name-utf8-dotdot": (lambda i: i.__setitem__(b"name.utf-8", b".."), "not allowed"),
    "symlink-attr": (
        lambda i: (
            _v1_only(i),
            i[b"files"][0].update({b"attr": b"l", b"symlink path": [b"..", b"..", b"etc"]}),
        ),
        "symlink",
    ),
    "symlink-path-only": (
        lambda i: (_v1_only(i), i[b"files"][0].update({b"symlink path": [b"etc"]})),
        "symlink",
    ),
    "duplicate": (
        lambda i: (_v1_only(i), i[b"files"].__setitem__(2, dict(i[b"files"][0]))),
        "duplicate",
    ),
    "file-and-dir": (_set_v1_path(3, [b"a"]), "both a file and a directory"),
    "deep-path": (_set_v1_path(0, [b"d"] * 40), "deep"),
    "absurd-total": (
        lambda i: (_v1_only(i), i[b"files"][0].__setitem__(b"length", 2**62)),
        "absurd",
    ),
    "absurd-pieces": (
        lambda i: (
            _v1_only(i),
            i.__setitem__(b"piece length", 16384),
            i[b"files"][0].__setitem__(b"length", 2**46),
        ),
        "pieces",
    ),
    "piece-count-mismatch": (
        lambda i: (_v1_only(i), i.__setitem__(b"pieces", i[b"pieces"] * 3)),
        "do not cover",
    ),
    "piece-length-odd": (lambda i: i.__setitem__(b"piece length", 12345), "power of two"),
    "v2-dotdot": (_v2_tree(lambda t: t.__setitem__(b"..", t.pop(b"b.ogg"))), "not allowed"),
    "v2-symlink": (
        _v2_tree(
            lambda t: t[b"b.ogg"][b""].update({b"attr": b"l", b"symlink path": [b"..", b"x"]})
        ),
        "symlink",
    ),
    "v2-deep": (_v2_tree(lambda t: t.__setitem__(b"deep", _nest(40, t.pop(b"b.ogg")))), "deeper"),
}


def _nest(depth: int, leaf: Any) -> Any:
    node = leaf
    for _ in range(depth):
        node = {b"d": node}
    return node


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_torrent_refused(good: dict[bytes, Any], case: str, tmp_path: Path) -> None:
    change, reason = HOSTILE[case]
    data = _with(good, change)
    path = tmp_path / "torrents" / "hostile.torrent"
    path.parent.mkdir()
    path.write_bytes(data)
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(InputError, match=reason) as err:
        read_torrent(path)
    assert "hostile.torrent" in str(err.value)
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_deep_bencoding_refused() -> None:
    data = b"d4:info" + b"l" * 5000 + b"e" * 5000 + b"e"
    with pytest.raises(InputError, match=r"x\.torrent: not a valid torrent"):
        load_torrent(data, "x.torrent")


def test_garbage_refused() -> None:
    for data in (b"", b"garbage", b"i42e", b"d4:infoi1ee", b"l" * 10):
        with pytest.raises(InputError):
            load_torrent(data, "x.torrent")


def test_pad_files_with_same_path_are_not_duplicates(tmp_path: Path) -> None:
    # libtorrent names every pad file .pad/SIZE, so equal sizes repeat; they are never written.
    write_files(tmp_path, "t", {f"{i}.ogg": b"q" * 1000 for i in range(4)})
    t = load_torrent(make_torrent(tmp_path, "t"), "t.torrent")
    assert len(t.files) == 4
    assert all(p[0] != ".pad" for p in t.files)
