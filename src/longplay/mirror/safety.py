"""Checks an untrusted .torrent before anything acts on it: every loader calls `load_torrent`.

Refused: paths with ``..``, ``.``, absolute or drive-like parts, separators or control
characters; symlink attributes (v1 ``attr`` or v2 file-tree ``attr`` with ``l``, or a
``symlink path``); duplicate paths and file/directory clashes; absurd piece counts, piece sizes,
file counts or totals; deep nesting of the bencoding or the v2 file tree. Both the raw bencoded
dictionary and libtorrent's parsed view are checked, so a name libtorrent would "fix up" (it
silently renames duplicates and sanitises paths) is refused instead of being written elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libtorrent as lt

from longplay import safepaths
from longplay.errors import InputError

MAX_TORRENT_BYTES = 256 * 2**20
MAX_PIECES = 4 * 2**20  # 4M pieces: 64 TB at 16 MiB pieces, far above any real torrent
MAX_FILES = 2_000_000
MIN_PIECE = 16 * 2**10
MAX_PIECE = 256 * 2**20
MAX_TOTAL = 2**50  # 1 PiB in one torrent is absurd for this archive
MAX_BENCODE_DEPTH = safepaths.MAX_DEPTH + 8  # file tree nodes plus the enclosing dicts


@dataclass(frozen=True)
class CheckedTorrent:
    """A torrent that passed every check: libtorrent's view plus the facts callers need."""

    info: lt.torrent_info
    name: str
    files: tuple[tuple[str, ...], ...]  # paths inside the torrent (no pad files), name excluded
    sizes: tuple[int, ...]
    single_file: bool

    @property
    def info_hash_v1(self) -> str | None:
        h = self.info.info_hashes()
        return str(h.v1) if h.has_v1() else None

    @property
    def info_hash_v2(self) -> str | None:
        h = self.info.info_hashes()
        return str(h.v2) if h.has_v2() else None


def _text(raw: Any, what: str) -> str:
    if not isinstance(raw, bytes):
        raise InputError(f"{what}: expected a byte string, got {type(raw).__name__}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what}: not valid UTF-8") from None


def _is_pad(attr: bytes, parts: tuple[str, ...]) -> bool:
    return b"p" in attr and len(parts) == 2 and parts[0] == ".pad" and parts[1].isdigit()


def _check_attr(entry: dict[bytes, Any], what: str) -> bytes:
    attr = entry.get(b"attr", b"")
    if not isinstance(attr, bytes):
        raise InputError(f"{what}: attr is not a string")
    if b"l" in attr or b"symlink path" in entry:
        raise InputError(f"{what}: symlinks are not allowed")
    return attr


def _length(entry: dict[bytes, Any], what: str) -> int:
    n = entry.get(b"length")
    if not isinstance(n, int) or n < 0 or n > MAX_TOTAL:
        raise InputError(f"{what}: missing or absurd length {n!r}")
    return n


def _v1_files(info: dict[bytes, Any], source: str) -> list[tuple[tuple[str, ...], int, bool]]:
    files = info.get(b"files")
    if files is None:
        return []
    if not isinstance(files, list) or not files:
        raise InputError(f"{source}: 'files' is not a non-empty list")
    if len(files) > MAX_FILES:
        raise InputError(f"{source}: {len(files)} files (at most {MAX_FILES})")
    out = []
    for i, entry in enumerate(files):
        what = f"{source}: files[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{what}: not a dictionary")
        attr = _check_attr(entry, what)
        if b"path" not in entry and b"path.utf-8" not in entry:
            raise InputError(f"{what}: no path")
        parts: tuple[str, ...] = ()
        for key in (b"path", b"path.utf-8"):  # libtorrent prefers path.utf-8: check both
            if key not in entry:
                continue
            raw = entry[key]
            if not isinstance(raw, list):
                raise InputError(f"{what}: {key.decode()} is not a list")
            if len(raw) > safepaths.MAX_DEPTH:
                raise InputError(
                    f"{what}: path nested {len(raw)} deep (at most {safepaths.MAX_DEPTH})"
                )
            parts = safepaths.check_parts([_text(p, what) for p in raw], what)
        out.append((parts, _length(entry, what), _is_pad(attr, parts)))
    return out


def _v2_files(tree: Any, source: str) -> list[tuple[tuple[str, ...], int]]:
    out: list[tuple[tuple[str, ...], int]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), tree)]
    while stack:
        prefix, node = stack.pop()
        if not isinstance(node, dict) or not node:
            raise InputError(f"{source}: file tree node {'/'.join(prefix)!r} is not a dictionary")
        if len(prefix) > safepaths.MAX_DEPTH:
            raise InputError(f"{source}: file tree nested deeper than {safepaths.MAX_DEPTH}")
        for key, child in node.items():
            if key == b"":
                if not prefix or len(node) != 1:
                    raise InputError(f"{source}: malformed file tree at {'/'.join(prefix)!r}")
                what = f"{source}: file tree {'/'.join(prefix)!r}"
                if not isinstance(child, dict):
                    raise InputError(f"{what}: leaf is not a dictionary")
                _check_attr(child, what)
                out.append((prefix, _length(child, what)))
                continue
            part = safepaths.check_component(_text(key, source), f"{source}: file tree")
            stack.append(((*prefix, part), child))
        if len(out) > MAX_FILES:
            raise InputError(f"{source}: more than {MAX_FILES} files")
    return out


def check_info_dict(info: Any, source: str) -> None:
    """The raw checks on a decoded ``info`` dictionary (bytes keys, as lt.bdecode gives)."""
    if not isinstance(info, dict):
        raise InputError(f"{source}: no info dictionary")
    for key in (b"name.utf-8", b"name"):
        if key in info:
            safepaths.check_name(_text(info[key], f"{source}: {key.decode()}"), f"{source}: name")
    if b"name" not in info:
        raise InputError(f"{source}: no name")
    plen = info.get(b"piece length")
    if not isinstance(plen, int) or plen < MIN_PIECE or plen > MAX_PIECE or plen & (plen - 1):
        raise InputError(
            f"{source}: piece length {plen!r} is not a power of two in [{MIN_PIECE}, {MAX_PIECE}]"
        )
    v1 = _v1_files(info, source)
    if b"files" not in info and b"length" in info:
        _check_attr(info, source)
        total = _length(info, source)
    else:
        total = sum(n for _, n, _ in v1)
    if b"file tree" in info:
        v2 = _v2_files(info[b"file tree"], source)
        safepaths.check_unique([p for p, _ in v2], source)
        if not v1:
            total = sum(n for _, n in v2)
    if v1:
        safepaths.check_unique([p for p, _, pad in v1 if not pad], source)
    if total > MAX_TOTAL:
        raise InputError(f"{source}: {total} bytes of data is absurd")
    expected = -(-total // plen)
    if expected > MAX_PIECES:
        raise InputError(f"{source}: {expected} pieces (at most {MAX_PIECES})")
    if b"pieces" in info:
        pieces = info[b"pieces"]
        if not isinstance(pieces, bytes) or len(pieces) % 20:
            raise InputError(f"{source}: 'pieces' is not a list of SHA-1 hashes")
        if len(pieces) // 20 != expected:
            raise InputError(f"{source}: {len(pieces) // 20} pieces do not cover {total} bytes")


def load_torrent(data: bytes, source: str) -> CheckedTorrent:
    """Parse untrusted .torrent bytes; InputError naming ``source`` if anything is unsafe."""
    if len(data) > MAX_TORRENT_BYTES:
        raise InputError(f"{source}: {len(data)} bytes is too large for a .torrent")
    try:
        doc: Any = lt.bdecode(data)
    except RuntimeError as exc:
        raise InputError(f"{source}: not a valid torrent: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{source}: not a torrent (no top-level dictionary)")
    check_info_dict(doc.get(b"info"), source)
    limits = {
        "max_buffer_size": MAX_TORRENT_BYTES,
        "max_pieces": MAX_PIECES,
        "max_decode_depth": MAX_BENCODE_DEPTH,
        "max_decode_tokens": 8 * MAX_FILES,
    }
    try:
        ti = lt.torrent_info(data, limits)  # type: ignore[call-overload]  # stubs lack limits
    except RuntimeError as exc:
        raise InputError(f"{source}: libtorrent refuses it: {exc}") from None
    return _checked_view(ti, source)


def layout(ti: lt.torrent_info) -> lt.file_storage:
    """The torrent's file list (``layout()`` in libtorrent 2.1, ``files()`` before)."""
    return ti.layout() if hasattr(ti, "layout") else ti.files()


def _checked_view(ti: lt.torrent_info, source: str) -> CheckedTorrent:
    """Second line of defence: libtorrent's own file list, after its parsing."""
    fs = layout(ti)
    name = safepaths.check_name(ti.name(), f"{source}: name")
    single = fs.num_files() == 1 and fs.file_path(0) == name
    paths, sizes = [], []
    for i in range(fs.num_files()):
        flags = fs.file_flags(i)
        if flags & lt.file_storage.flag_symlink:
            raise InputError(f"{source}: symlinks are not allowed")
        if flags & lt.file_storage.flag_pad_file:
            continue
        full = safepaths.check_posix(fs.file_path(i).replace("\\", "/"), source)
        if single:
            rel: tuple[str, ...] = ()
        elif full[0] != name or len(full) < 2:
            raise InputError(f"{source}: file {'/'.join(full)!r} is not under {name!r}")
        else:
            rel = full[1:]
        paths.append(rel)
        sizes.append(fs.file_size(i))
    if not single:
        safepaths.check_unique(paths, source)
    return CheckedTorrent(ti, name, tuple(paths), tuple(sizes), single)


def read_torrent(path: Path) -> CheckedTorrent:
    return load_torrent(
        safepaths.read_bounded(Path(path), MAX_TORRENT_BYTES, ".torrent file"), str(path)
    )


def check_no_symlinks(files_dir: Path, torrent: CheckedTorrent) -> None:
    """Refuse when a directory or file below files/NAME/ is a symlink: writing through it would
    put data outside the target. files/NAME itself may be a link (an operator's choice of disk)."""
    base = Path(files_dir) / torrent.name
    if torrent.single_file or not base.is_dir():
        return
    seen: set[tuple[str, ...]] = set()
    for rel in torrent.files:
        for depth in range(1, len(rel) + 1):
            prefix = rel[:depth]
            if prefix in seen:
                continue
            seen.add(prefix)
            path = base.joinpath(*prefix)
            if path.is_symlink():
                raise InputError(f"{path} is a symbolic link; refusing to write through it")
            if not path.exists():
                break
