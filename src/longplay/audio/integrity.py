"""Container checks a decoder does not make: Ogg page CRCs and ends, MP4 atom sizes.

FFmpeg skips an Ogg page with a bad CRC and stops quietly at a partial page, and it reads an MP4
whose last atom is cut short; both still "decode". These checks walk the container's own
structure (no decoding) so that a scan can reject such files with a precise reason.
"""

from __future__ import annotations

import mmap
import os
import struct

from longplay.audio import oggpages

# Top-level MP4 atoms a well-formed file may hold (anything else is damage or not MP4).
_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"udta", b"uuid", b"meta",
            b"pdin", b"moof", b"mfra", b"styp", b"sidx", b"prfl", b"pnot", b"junk"}


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
                return oggpages.structure_problem(view)
            finally:
                view.release()
