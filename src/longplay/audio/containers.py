"""Container structure: Ogg pages (walk, CRC, exact renumbering) and MP4 top-level atoms.

FFmpeg skips an Ogg page with a bad CRC and stops quietly at a partial page, and it reads an MP4
whose last atom is cut short; both still "decode". `structure_problem` walks the container's own
structure (no decoding) so that a scan can reject such files with a precise reason.

Tag writers may change how many pages the Ogg header packets take, and then renumber every later
page (new sequence number, new CRC). The audio packets stay the same, but the bytes of every page
change; `renumber` undoes that exactly, so restore data need not carry one patch per page.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

CAPTURE = b"OggS"
_HEADER = struct.Struct("<4sBBqIIiB")  # capture, version, flags, granule, serial, seq, crc, nsegs
FLAG_EOS = 0x04
_BITREV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc(page: bytes | bytearray | memoryview) -> int:
    """Ogg's CRC-32 (poly 0x04C11DB7, MSB-first, no reflection, init 0, no final xor).

    zlib's CRC-32 is the same polynomial bit-reflected: reversing the bits of every input byte
    and of the result turns one into the other, at C speed.
    """
    raw = zlib.crc32(bytes(page).translate(_BITREV), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


@dataclass(frozen=True)
class Page:
    offset: int
    length: int  # header + segment table + body
    flags: int
    granule: int
    serial: int
    seq: int


def pages(data: bytes | memoryview, start: int = 0) -> Iterator[Page]:
    """The pages of ``data`` from ``start``, in order; stops at the first thing that is not one."""
    pos, end = start, len(data)
    while pos + 27 <= end:
        capture, version, flags, granule, serial, seq, _crc, nsegs = _HEADER.unpack_from(data, pos)
        if capture != CAPTURE or version != 0 or pos + 27 + nsegs > end:
            return
        length = 27 + nsegs + sum(data[pos + 27 : pos + 27 + nsegs])
        if pos + length > end:
            return
        yield Page(pos, length, flags, granule, serial, seq)
        pos += length


def page_crc_ok(data: bytes | memoryview, page: Page) -> bool:
    raw = bytearray(data[page.offset : page.offset + page.length])
    stored = int.from_bytes(raw[22:26], "little")
    raw[22:26] = b"\0\0\0\0"
    return crc(raw) == stored


def ogg_structure_problem(data: bytes | memoryview) -> str | None:
    """None when ``data`` is whole Ogg pages with good CRCs ending in end-of-stream pages.

    A cut-off or damaged Ogg file still demuxes and decodes (the demuxer skips bad pages and
    stops at a partial one), so this is how a scan tells.
    """
    last: dict[int, Page] = {}
    end = 0
    for page in pages(data):
        if not page_crc_ok(data, page):
            return f"corrupt: the Ogg page at byte {page.offset} fails its CRC"
        last[page.serial] = page
        end = page.offset + page.length
    if not last:
        return "no Ogg page found"
    if end != len(data):
        return f"truncated: the Ogg page at byte {end} is cut off or damaged ({len(data) - end} bytes left)"
    if not all(p.flags & FLAG_EOS for p in last.values()):
        return "truncated: the last Ogg page is not marked end-of-stream"
    return None


def renumber(data: bytes, serial: int, from_offset: int, delta: int) -> bytes:
    """Add ``delta`` to the sequence number of every page of ``serial`` at or after
    ``from_offset`` and recompute those pages' CRCs; all other bytes are copied unchanged."""
    if delta == 0:
        return data
    out = bytearray(data)
    for page in pages(data, from_offset):
        if page.serial != serial:
            continue
        struct.pack_into("<I", out, page.offset + 18, (page.seq + delta) & 0xFFFFFFFF)
        struct.pack_into("<I", out, page.offset + 22, 0)
        body = memoryview(out)[page.offset : page.offset + page.length]
        struct.pack_into("<I", out, page.offset + 22, crc(body))
    return bytes(out)


def renumbering(original: bytes, tagged: bytes) -> tuple[int, int, int] | None:
    """How ``tagged``'s trailing pages were renumbered relative to ``original``'s.

    Walks both files' pages back from the end while they match in everything but sequence
    number and CRC, and returns ``(serial, from_offset_in_tagged, delta)`` such that
    ``renumber(tagged, serial, from_offset, delta)`` gives those pages their original bytes;
    None when nothing was renumbered or the files do not end alike.
    """
    a, b = list(pages(original)), list(pages(tagged))
    found = None
    while a and b:
        pa, pb = a.pop(), b.pop()
        if (pa.serial, pa.length, pa.granule, pa.flags) != (
            pb.serial,
            pb.length,
            pb.granule,
            pb.flags,
        ):
            break
        ha, hb = (
            original[pa.offset : pa.offset + pa.length],
            tagged[pb.offset : pb.offset + pb.length],
        )
        if ha[:18] != hb[:18] or ha[26:] != hb[26:]:
            break
        delta = pa.seq - pb.seq
        if found is not None and delta != found[2]:
            break
        found = (pb.serial, pb.offset, delta)
    if found is None or found[2] == 0:
        return None
    return found


# Top-level MP4 atoms a well-formed file may hold (anything else is damage or not MP4).
_MP4_TOP = {
    b"ftyp",
    b"moov",
    b"mdat",
    b"free",
    b"skip",
    b"wide",
    b"udta",
    b"uuid",
    b"meta",
    b"pdin",
    b"moof",
    b"mfra",
    b"styp",
    b"sidx",
    b"prfl",
    b"pnot",
    b"junk",
}


def mp4_structure_problem(data: bytes | memoryview) -> str | None:
    """None when ``data``'s top-level atoms tile it exactly, else what is wrong."""
    pos, end = 0, len(data)
    seen = set()
    while pos < end:
        if pos + 8 > end:
            return f"truncated: {end - pos} stray bytes after the last MP4 atom"
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return "truncated: the last MP4 atom header is cut off"
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if kind not in _MP4_TOP or size < header:
            return f"corrupt: no valid MP4 atom at byte {pos} (found {kind!r})"
        if pos + size > end:
            name = kind.decode("latin-1")
            return f"truncated: the MP4 '{name}' atom at byte {pos} runs {pos + size - end} bytes past the end"
        seen.add(kind)
        pos += size
    if b"moov" not in seen:
        return "corrupt: the MP4 file has no 'moov' atom"
    return None


def structure_problem(path: str, kind: str) -> str | None:
    """Check the container of ``path`` (kind as `formats.sniff` names it); None when sound."""
    if kind not in ("vorbis", "opus", "mp4"):
        return None
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return "zero-length file"
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            view = memoryview(mm)
            try:
                if kind == "mp4":
                    return mp4_structure_problem(view)
                return ogg_structure_problem(view)
            finally:
                view.release()
