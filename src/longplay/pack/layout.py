"""The layout of one torrent: checked paths, file order, pad files and the piece size.

Pure logic, no I/O. It reproduces the decisions libtorrent 2.1's ``create_torrent`` makes, so
that the torrents we assemble are byte-identical to the ones libtorrent would write:

* Files are ordered path element by path element, comparing UTF-8 bytes: the order of the v2
  file tree, whose keys are sorted per directory. libtorrent keeps v1 torrents in the order it
  is given and sorts hybrids by the whole path string instead; the two orders differ only when
  a name continues a sibling directory's name with a character below "/" ("Abba Gold/x" sorts
  before "Abba/y" as a string, after it in the tree), and there libtorrent 2.1 writes a hybrid
  that its own loader refuses ("the v1 and v2 file metadata does not match"). Everywhere else
  our bytes equal libtorrent's. We sort v1 torrents the same way, so the bytes never depend on
  the order a directory walk happened to return.
* ``hybrid``: in a torrent of more than one file, every non-empty file is followed by a BEP 47
  pad file (attr ``p``, path ``.pad/<size>``) up to the next piece boundary, the last file
  included, so each file starts and ends on a piece boundary and its v1 pieces and v2 merkle
  tree cover the same bytes. A single-file torrent has no pad file.
* ``v1``: no pad files; pieces run across file boundaries, as mktorrent and transmission make them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from longplay.errors import InputError

VERSIONS = ("hybrid", "v1")
BLOCK_SIZE = 16 * 1024  # the v2 merkle leaf size (BEP 52), also the smallest piece
MAX_PIECE_SIZE = 128 * 1024 * 1024  # libtorrent refuses larger pieces
MAX_NAME_BYTES = 240  # libtorrent truncates longer path elements when it loads a torrent
PAD_DIR = ".pad"

# libtorrent's automatic piece size: the smallest 16 KiB * 2**i with total <= table[i], i.e. a
# piece of about 10 * sqrt(total) bytes, so the piece list grows like sqrt(total) too; 16 MiB
# above the table (703 GB). Same table as libtorrent/src/create_torrent.cpp.
_AUTO_PIECE_TABLE = (
    2684355,
    10737418,
    42949673,
    171798692,
    687194767,
    2748779069,
    10995116278,
    43980465111,
    175921860444,
    703687441777,
)

# Characters libtorrent drops from a path element when it loads a torrent (zero-width and
# direction-changing formatting characters), or replaces with "_" (controls).
_DROPPED = {
    0x061C,
    0xFEFF,
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2060, 0x2065),
    *range(0x2066, 0x206A),
}


def choose_piece_size(total_bytes: int, version: str = "hybrid") -> int:
    """The piece size for a torrent of ``total_bytes`` of file data.

    The rule is libtorrent's own automatic choice: the smallest power of two from 16 KiB up to
    16 MiB that is at least about ``10 * sqrt(total_bytes)`` (512 KiB for 1 GB, 4 MiB for
    100 GB, 16 MiB above 703 GB). It keeps both the piece list and the pieces modest, and it is
    always a power of two of at least 16 KiB, as v2 requires, so both versions share it.
    """
    check_version(version)
    if total_bytes < 0:
        raise InputError(f"torrent size must not be negative, got {total_bytes}")
    index = sum(1 for limit in _AUTO_PIECE_TABLE if limit < total_bytes)
    return BLOCK_SIZE << index


def check_version(version: str) -> str:
    if version not in VERSIONS:
        raise InputError(f"torrent version {version!r} is not one of {', '.join(VERSIONS)}")
    return version


def check_piece_size(piece_size: int, version: str) -> int:
    """Refuse piece sizes libtorrent would refuse (v2: a power of two of at least 16 KiB)."""
    power_of_two = piece_size > 0 and piece_size & (piece_size - 1) == 0
    if version == "hybrid":
        ok = power_of_two and piece_size >= BLOCK_SIZE
        rule = "a power of two of at least 16 KiB"
    else:
        ok = piece_size > 0 and (power_of_two or piece_size % BLOCK_SIZE == 0)
        rule = "a power of two or a multiple of 16 KiB"
    if not ok or piece_size > MAX_PIECE_SIZE:
        raise InputError(
            f"piece size {piece_size} is not valid for a {version} torrent: "
            f"it must be {rule}, at most 128 MiB"
        )
    return piece_size


def check_element(element: str, what: str) -> str:
    """One path element (a directory or file name), exactly as libtorrent will load it back."""
    problem = None
    if element in ("", ".", ".."):
        problem = "is empty" if element == "" else f"is {element!r}"
    elif "/" in element or "\\" in element:
        problem = "contains a path separator"
    else:
        try:
            size = len(element.encode("utf-8"))
        except UnicodeEncodeError:
            size, problem = 0, "is not valid UTF-8"
        for char in element:
            code = ord(char)
            if code < 0x20 or 0x7F <= code <= 0x9F:
                problem = f"contains the control character U+{code:04X}"
            elif code in _DROPPED:
                name = unicodedata.name(char, "format character")
                problem = f"contains the invisible character U+{code:04X} {name}"
        if problem is None and size > MAX_NAME_BYTES:
            problem = f"is {size} bytes long (at most {MAX_NAME_BYTES})"
    if problem:
        raise InputError(f"{what}: {problem}")
    return element


def split_path(path: str, what: str = "path") -> tuple[str, ...]:
    """Split a relative POSIX path inside a torrent into checked elements."""
    if not isinstance(path, str):
        raise InputError(f"{what} {path!r}: must be a string")
    if path.startswith("/"):
        raise InputError(f"{what} {path!r}: is absolute; paths inside a torrent are relative")
    parts = tuple(path.split("/"))
    for part in parts:
        check_element(part, f"{what} {path!r}")
    if parts[0] == PAD_DIR:
        raise InputError(
            f"{what} {path!r}: the top directory {PAD_DIR!r} is reserved for BEP 47 pad files"
        )
    return parts


@dataclass(frozen=True)
class LayoutFile:
    """One file of the torrent in v1 order; ``source`` is None for a pad file."""

    # The file's key path in the v2 file tree: the elements inside the torrent's directory,
    # or (name,) for a single-file torrent.
    path: tuple[str, ...]
    size: int
    offset: int  # byte offset in the v1 stream (pad files included)
    source: str | None
    pad: bool = False


@dataclass(frozen=True)
class Layout:
    name: str
    version: str
    piece_size: int
    single_file: bool
    files: tuple[LayoutFile, ...]  # v1 order, pad files included

    @property
    def stream_size(self) -> int:
        """Bytes covered by v1 pieces, pad files included."""
        last = self.files[-1]
        return last.offset + last.size

    @property
    def data_size(self) -> int:
        """Bytes of real file data (what has to be read)."""
        return sum(f.size for f in self.files if not f.pad)

    @property
    def num_pieces(self) -> int:
        return -(-self.stream_size // self.piece_size)

    def real_files(self) -> list[LayoutFile]:
        return [f for f in self.files if not f.pad]


def plan(
    name: str,
    entries: Iterable[tuple[str, int, str | None]],
    *,
    version: str,
    piece_size: int | None,
    single_file: bool = False,
) -> Layout:
    """Check names and paths, order the files and insert pad files.

    ``entries`` are (relative path inside the torrent, size, source path). A single-file
    torrent has exactly one entry, whose path is the torrent ``name``.
    """
    check_version(version)
    check_element(name, f"torrent name {name!r}")
    items = []
    seen: dict[tuple[str, ...], str] = {}
    for path, size, source in entries:
        parts = (name,) if single_file else split_path(path)
        if not isinstance(size, int) or size < 0:
            raise InputError(f"path {path!r}: size must be a non-negative integer, got {size!r}")
        if parts in seen:
            raise InputError(f"path {path!r} appears twice in torrent {name!r}")
        seen[parts] = path
        items.append((parts, size, source))
    if not items:
        raise InputError(f"torrent {name!r} has no files")
    if single_file and len(items) != 1:
        raise InputError(f"a single-file torrent has one file, {name!r} was given {len(items)}")
    _refuse_file_directory_clashes(name, seen)
    total = sum(size for _, size, _ in items)
    if total == 0:
        raise InputError(f"torrent {name!r} holds no data: all {len(items)} file(s) are empty")
    piece = (
        check_piece_size(piece_size, version) if piece_size else choose_piece_size(total, version)
    )
    # The v2 file tree order (see the module docstring), so v1 and v2 list files alike.
    items.sort(key=lambda item: tuple(e.encode("utf-8") for e in item[0]))
    pad = version == "hybrid" and len(items) > 1
    files: list[LayoutFile] = []
    offset = 0
    for parts, size, source in items:
        files.append(LayoutFile(parts, size, offset, source))
        offset += size
        if pad and size and offset % piece:
            pad_size = piece - offset % piece
            files.append(LayoutFile((PAD_DIR, str(pad_size)), pad_size, offset, None, pad=True))
            offset += pad_size
    return Layout(name, version, piece, single_file, tuple(files))


def _refuse_file_directory_clashes(name: str, paths: dict[tuple[str, ...], str]) -> None:
    for parts, path in paths.items():
        for depth in range(1, len(parts)):
            if parts[:depth] in paths:
                raise InputError(
                    f"path {paths[parts[:depth]]!r} in torrent {name!r} is a file, "
                    f"but {path!r} needs it to be a directory"
                )
