"""The MusicBrainz JSON dump layout: archives, folders and files as streams of document lines.

The official dumps ship one ``ENTITY.tar.xz`` per entity, each holding ``mbdump/ENTITY`` (one JSON
document a line) beside small metadata files (TIMESTAMP, JSON_DUMPS_SCHEMA_NUMBER, ...). Archives
are read as a stream (``tarfile`` mode ``r|xz``: nothing is extracted to disk). A folder may hold
such archives or an extracted ``mbdump/`` (or entity files directly); a plain JSON-lines file
names its entity (``release.jsonl``) or is recognized by its first document.

Input is cut into chunks of lines; a chunk carries its first line number and, when the input
ends early (a truncated archive, a corrupt compressed block), the problem, so the reader can
reject what was cut off and the run goes on with the next input.
"""

from __future__ import annotations

import lzma
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from longplay.errors import InputError

KINDS = ("artist", "release", "release-group", "recording")
# One document a line: the largest release documents of the real dumps are a few MB (box sets
# with hundreds of tracks); a longer "line" is not a document, and reading it whole would take
# as much memory as the input expands to (a tiny xz of gigabytes of zeros has no newline).
MAX_LINE_BYTES = 64 * 2**20
# The real dumps expand about 10-15x (xz of JSON); a stream past MIN_EXPANDED bytes that has
# expanded more than MAX_EXPANSION times what it read from disk is a decompression bomb.
MAX_EXPANSION = 200
MIN_EXPANDED = 64 * 2**20


# An opener yields the entity's byte stream (archives: once its member is found) and a function
# telling how many bytes of the file on disk have been consumed so far (for the progress bar).
Opener = Callable[[], Iterator[tuple[IO[bytes], Callable[[], int]]]]


@dataclass
class Stream:
    kind: str
    input: str  # what rejects name: path, or archive path + member
    open: Opener
    size: int  # bytes on disk, for the progress bar
    identity: str  # path, size and mtime: a changed input is a different job


class _Counting:
    """A read-only file wrapper that counts the bytes read through it."""

    def __init__(self, fh: IO[bytes]):
        self.fh = fh
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.count += len(data)
        return data


@dataclass
class Chunk:
    first_line: int
    lines: list[bytes]
    nbytes: int  # bytes on disk this chunk stands for (progress)
    truncated: str | None = None  # why the input ended early; the last line may be cut off


def _identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def kind_from_name(name: str) -> str | None:
    stem = Path(name).name
    for suffix in (".tar.xz", ".jsonl", ".ndjson", ".json"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem if stem in KINDS else None


def sniff_kind(path: Path) -> str | None:
    """The entity of a JSON-lines file from the keys of its first document."""
    with open(path, "rb") as fh:
        first = fh.readline()
    try:
        doc = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    if {"media", "label-info", "release-group", "barcode"} & doc.keys():
        return "release"
    if {"isrcs", "video"} & doc.keys() or ("length" in doc and "title" in doc):
        return "recording"
    if {"primary-type", "secondary-types", "first-release-date"} & doc.keys():
        return "release-group"
    if {"sort-name", "life-span", "gender", "ipis"} & doc.keys():
        return "artist"
    return None


def _archive_streams(path: Path) -> list[Stream]:
    kind = kind_from_name(path.name)
    # Official archives are named for their entity; another name is searched for every entity.
    kinds = [kind] if kind else list(KINDS)
    return [
        Stream(
            k,
            f"{path}:mbdump/{k}",
            _member_opener(path, f"mbdump/{k}"),
            path.stat().st_size,
            _identity(path) + f":{k}",
        )
        for k in kinds
    ]


def _member_opener(path: Path, member: str) -> Opener:
    def opener() -> Iterator[tuple[IO[bytes], Callable[[], int]]]:
        with open(path, "rb") as raw:
            counted = _Counting(raw)
            # LZMAFile, not tarfile's own "r|xz": tarfile decompresses each 10 kB it reads in one
            # call and slices the rest on every small read, so a block of zeros (7000x) took
            # hundreds of MB and quadratic time; LZMAFile hands out bounded pieces.
            with (
                lzma.LZMAFile(counted) as xz,  # type: ignore[arg-type]
                tarfile.open(fileobj=xz, mode="r|") as tar,
            ):
                for info in tar:
                    if info.name.removeprefix("./") == member and info.isfile():
                        fh = tar.extractfile(info)
                        if fh is not None:
                            yield fh, lambda: counted.count
                        return

    return opener


def _file_opener(path: Path) -> Opener:
    def opener() -> Iterator[tuple[IO[bytes], Callable[[], int]]]:
        with open(path, "rb") as fh:
            yield fh, fh.tell

    return opener


def resolve(paths: list[Path], kind: str | None = None) -> list[Stream]:
    """The document streams of archives, folders and files, in the order given."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown MusicBrainz entity {kind!r} (one of {', '.join(KINDS)})")
    streams: list[Stream] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.tar.xz")) + [
                p for k in KINDS for p in (path / "mbdump" / k, path / k) if p.is_file()
            ]
            if not found:
                raise InputError(
                    f"{path}: no MusicBrainz dump here (expected ENTITY.tar.xz files, "
                    f"mbdump/ENTITY files or ENTITY files for {', '.join(KINDS)})"
                )
            for p in found:
                if p.name.endswith(".tar.xz") and kind_from_name(p.name) is None:
                    continue  # other entities of the dump (label, work, ...) are not mapped
                streams.extend(resolve([p], kind))
        elif path.name.endswith(".tar.xz") or path.name.endswith(".txz"):
            if not path.is_file():
                raise InputError(f"{path}: no such file")
            streams.extend(s for s in _archive_streams(path) if kind is None or s.kind == kind)
        elif path.is_file():
            k = kind or kind_from_name(path.name) or sniff_kind(path)
            if k is None:
                raise InputError(
                    f"{path}: cannot tell which MusicBrainz entity this file holds; name it "
                    f"after one ({', '.join(f'{x}.jsonl' for x in KINDS)}) or pass --kind"
                )
            streams.append(
                Stream(k, str(path), _file_opener(path), path.stat().st_size, _identity(path))
            )
        else:
            raise InputError(f"{path}: no such file or directory")
    return streams


def chunks(stream: Stream, chunk_lines: int) -> Iterator[Chunk]:
    """The stream's lines in chunks of ``chunk_lines``; a read error ends it with ``truncated``.

    A stream whose member is absent (an archive of another entity) yields nothing.
    """
    line_no = 0
    lines: list[bytes] = []
    first = 1
    done = 0
    position: Callable[[], int] = lambda: 0  # noqa: E731
    expanded = 0
    try:
        for fh, position in stream.open():
            while line := fh.readline(MAX_LINE_BYTES + 1):
                line_no += 1
                expanded += len(line)
                if len(line) > MAX_LINE_BYTES:
                    raise InputError(
                        f"{stream.input}: line {line_no} is longer than {MAX_LINE_BYTES // 2**20}"
                        " MiB; not a MusicBrainz document (one JSON document a line)"
                    )
                if expanded > MIN_EXPANDED and expanded > MAX_EXPANSION * max(1, position()):
                    raise InputError(
                        f"{stream.input}: expands more than {MAX_EXPANSION}x ({expanded:,} bytes "
                        f"from {position():,} on disk); refused as a decompression bomb "
                        "(real dumps expand about 15x)"
                    )
                lines.append(line)
                if len(lines) >= chunk_lines:
                    now = position()
                    yield Chunk(first, lines, now - done)
                    done, first, lines = now, line_no + 1, []
    except (EOFError, lzma.LZMAError, tarfile.TarError, OSError) as exc:
        yield Chunk(
            first,
            lines,
            max(0, stream.size - done),
            truncated=f"truncated or corrupt input after line {line_no}: {exc or type(exc).__name__}",
        )
        return
    if lines:
        yield Chunk(first, lines, max(0, stream.size - done))
