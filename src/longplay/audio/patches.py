"""Restore data: what turns a re-tagged file back into its original, byte for byte.

Tagging rewrites only metadata, so the original is a few long runs of the tagged file (the
audio) plus a little else (the old tags). Restore data lists those runs and carries the rest,
zstd-compressed with the tagged file's own leftover bytes as a dictionary (old and new tags
share most of their bytes). For Ogg files whose tagger renumbered every page after the headers,
a renumbering step (`containers.renumber`) is recorded instead of a patch per page.

Format, version 1 (integers are unsigned LEB128 varints unless said otherwise)::

    "LPRD"  u8 version=1  u8 flags (bit 0: Ogg renumbering follows)
    original size, 32-byte original SHA-256, tagged size, 32-byte tagged SHA-256
    [flags bit 0: serial, from_offset, delta (zigzag)]
    op count, then per op: literal length, copy offset in the tagged file, copy length
    the rest: one zstd frame holding all literal bytes (empty when there are none)

Rebuilding: check the tagged file's size and SHA-256; renumber its Ogg pages if flagged; for
each op append that many literal bytes, then that range of the tagged file; check the result's
size and SHA-256. Why not bsdiff (suffix-sorting whole files: seconds per file) or zstd's
--patch-from alone (it finds the runs in a large reference only at high levels, ~6 MB/s
measured): the run search below works at memcmp/memmem speed, milliseconds per file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import zstandard

from longplay.audio import containers
from longplay.errors import LongplayError

MAGIC = b"LPRD"
VERSION = 1
FLAG_OGG = 1
PROBE = 32  # anchor length searched for in the tagged file
MIN_RUN = 64  # shorter common runs are not worth an op
MAX_PROBES = 15
ZSTD_LEVEL = 19  # literals are small (old tags): compress them hard
MAX_ORIGINAL = 1 << 36  # 64 GiB: larger "originals" mean damaged (or hostile) restore data


class RestoreError(LongplayError):
    """Restore data that does not fit the file, or that does not rebuild the original."""


@dataclass(frozen=True)
class RestoreInfo:
    original_size: int
    original_sha256: str
    tagged_size: int
    tagged_sha256: str
    ogg: tuple[int, int, int] | None
    ops: tuple[tuple[int, int, int], ...]  # (literal length, copy offset, copy length)
    literals: bytes  # the zstd frame


# -- varints -------------------------------------------------------------------------------
def _put(out: bytearray, value: int) -> None:
    if value < 0:
        raise ValueError(value)
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


def _get(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 70:
            raise RestoreError("restore data is cut off or damaged")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


# -- finding common runs --------------------------------------------------------------------
def _prefix(a: memoryview, b: memoryview) -> int:
    """Length of the common prefix of ``a`` and ``b`` (block compares, then a binary search)."""
    n, i, step = min(len(a), len(b)), 0, 1 << 16
    while i < n:
        k = min(step, n - i)
        if a[i : i + k] == b[i : i + k]:
            i += k
            continue
        lo, hi = i, i + k
        while hi - lo > 64:
            mid = (lo + hi) // 2
            if a[lo:mid] == b[lo:mid]:
                lo = mid
            else:
                hi = mid
        while lo < hi and a[lo] == b[lo]:
            lo += 1
        return lo
    return n


def _suffix(a: memoryview, b: memoryview) -> int:
    """Length of the common suffix of ``a`` and ``b``."""
    n, i, step = min(len(a), len(b)), 0, 1 << 16
    la, lb = len(a), len(b)
    while i < n:
        k = min(step, n - i)
        if a[la - i - k : la - i] == b[lb - i - k : lb - i]:
            i += k
            continue
        lo, hi = i, i + k  # the mismatch is within suffix lengths (lo, hi]
        while hi - lo > 64:
            mid = (lo + hi) // 2
            if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
                lo = mid
            else:
                hi = mid
        while lo < hi and a[la - lo - 1] == b[lb - lo - 1]:
            lo += 1
        return lo
    return n


def _probe_points(lo: int, hi: int) -> list[int]:
    span = hi - lo - PROBE
    points: list[int] = []
    denom = 2
    while len(points) < MAX_PROBES and denom <= 64:
        points += [lo + span * k // denom for k in range(1, denom, 2)]
        denom *= 2
    return [lo, *points[:MAX_PROBES], lo + span]


def _runs(
    o: bytes, t: bytes, o_lo: int, o_hi: int, t_lo: int, t_hi: int, out: list[tuple[int, int, int]]
) -> None:
    """Append common runs (o_offset, t_offset, length) of the two ranges, in order."""
    ov, tv = memoryview(o), memoryview(t)
    stack = [(o_lo, o_hi, t_lo, t_hi, False)]
    while stack:
        a_lo, a_hi, b_lo, b_hi, emit = stack.pop()
        if emit:  # a found run, put on the stack between its two sides
            out.append((a_lo, a_hi, b_lo))
            continue
        if a_hi - a_lo < MIN_RUN or b_hi - b_lo < MIN_RUN:
            continue
        for p in _probe_points(a_lo, a_hi):
            probe = o[p : p + PROBE]
            j = t.find(probe, b_lo, b_hi)
            if j < 0 or t.find(probe, j + 1, b_hi) >= 0:
                continue  # absent, or not a unique anchor
            back = _suffix(ov[a_lo:p], tv[b_lo:j])
            fwd = _prefix(ov[p:a_hi], tv[j:b_hi])
            length = back + fwd
            if length < MIN_RUN:
                continue
            ro, rt = p - back, j - back
            stack.append((ro + length, a_hi, rt + length, b_hi, False))  # right side, last
            stack.append((ro, rt, length, 0, True))
            stack.append((a_lo, ro, b_lo, rt, False))  # left side, first
            break


def _gaps(size: int, copies: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges of the tagged file not copied by any op: the literals' dictionary."""
    gaps, pos = [], 0
    for off, length in sorted(copies):
        if off > pos:
            gaps.append((pos, off))
        pos = max(pos, off + length)
    if pos < size:
        gaps.append((pos, size))
    return gaps


def _dictionary(t: bytes, ops: list[tuple[int, int, int]]) -> zstandard.ZstdCompressionDict | None:
    gaps = _gaps(len(t), [(off, n) for _, off, n in ops if n])
    content = b"".join(t[a:b] for a, b in gaps)[-(8 << 20) :]
    if len(content) < 64:
        return None
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


# -- making and applying --------------------------------------------------------------------
def make(original: bytes, tagged: bytes) -> bytes:
    """Restore data that rebuilds ``original`` from ``tagged`` (checked before it is returned)."""
    ogg = (
        containers.renumbering(original, tagged) if original[:4] == tagged[:4] == b"OggS" else None
    )
    base = containers.renumber(tagged, *ogg) if ogg else tagged
    runs: list[tuple[int, int, int]] = []
    _runs(original, base, 0, len(original), 0, len(base), runs)
    ops, literals, pos = [], bytearray(), 0
    for o_off, t_off, length in runs:
        literals += original[pos:o_off]
        ops.append((o_off - pos, t_off, length))
        pos = o_off + length
    if pos < len(original) or not ops:
        literals += original[pos:]
        ops.append((len(original) - pos, 0, 0))
    dictionary = _dictionary(base, ops)
    frame = b""
    if literals:
        frame = zstandard.ZstdCompressor(
            level=ZSTD_LEVEL,
            dict_data=dictionary,
            write_checksum=False,
            write_content_size=True,
            write_dict_id=False,
        ).compress(bytes(literals))
    out = bytearray(MAGIC)
    out += bytes([VERSION, FLAG_OGG if ogg else 0])
    _put(out, len(original))
    out += hashlib.sha256(original).digest()
    _put(out, len(tagged))
    out += hashlib.sha256(tagged).digest()
    if ogg:
        serial, from_offset, delta = ogg
        _put(out, serial)
        _put(out, from_offset)
        _put(out, (delta << 1) ^ (delta >> 63))  # zigzag
    _put(out, len(ops))
    for op in ops:
        for value in op:
            _put(out, value)
    blob = bytes(out) + frame
    if apply(tagged, blob) != original:  # never hand out restore data that does not restore
        raise RestoreError("restore data failed its own check (please report this file)")
    return blob


def parse(blob: bytes) -> RestoreInfo:
    if blob[:4] != MAGIC:
        raise RestoreError("not Longplay restore data (bad magic)")
    if len(blob) < 6 or blob[4] != VERSION:
        raise RestoreError(
            f"restore data version {blob[4] if len(blob) > 4 else '?'} is not supported"
        )
    flags, pos = blob[5], 6
    original_size, pos = _get(blob, pos)
    original_sha, pos = blob[pos : pos + 32].hex(), pos + 32
    tagged_size, pos = _get(blob, pos)
    tagged_sha, pos = blob[pos : pos + 32].hex(), pos + 32
    ogg = None
    if flags & FLAG_OGG:
        serial, pos = _get(blob, pos)
        from_offset, pos = _get(blob, pos)
        zz, pos = _get(blob, pos)
        ogg = (serial, from_offset, (zz >> 1) ^ -(zz & 1))
    if original_size > MAX_ORIGINAL:
        raise RestoreError(f"restore data is damaged (original size {original_size})")
    count, pos = _get(blob, pos)
    if count > len(blob):
        raise RestoreError("restore data is damaged (impossible op count)")
    ops = []
    for _ in range(count):
        lit, pos = _get(blob, pos)
        off, pos = _get(blob, pos)
        n, pos = _get(blob, pos)
        ops.append((lit, off, n))
    if len(original_sha) != 64 or len(tagged_sha) != 64:
        raise RestoreError("restore data is cut off")
    return RestoreInfo(
        original_size, original_sha, tagged_size, tagged_sha, ogg, tuple(ops), blob[pos:]
    )


def _literals(info: RestoreInfo, base: bytes, total: int) -> bytes:
    """The literal bytes, decompressed a block at a time: a damaged header that claims a huge
    size must not make us allocate it up front (one-shot decompress did, a fuzzer found)."""
    dctx = zstandard.ZstdDecompressor(dict_data=_dictionary(base, list(info.ops)))
    chunks, got = [], 0
    try:
        with dctx.stream_reader(info.literals) as reader:
            while got <= total and (chunk := reader.read(1 << 20)):
                chunks.append(chunk)
                got += len(chunk)
    except zstandard.ZstdError as exc:
        raise RestoreError(f"restore data is damaged ({exc})") from None
    return b"".join(chunks)


def apply(tagged: bytes, blob: bytes) -> bytes:
    """The original file's bytes, rebuilt from ``tagged`` and its restore data (checked)."""
    info = parse(blob)
    if len(tagged) != info.tagged_size or hashlib.sha256(tagged).hexdigest() != info.tagged_sha256:
        raise RestoreError(
            "this is not the tagged file the restore data was made for "
            f"(expected SHA-256 {info.tagged_sha256})"
        )
    base = containers.renumber(tagged, *info.ogg) if info.ogg else tagged
    total_literals = sum(op[0] for op in info.ops)
    if (
        any(off + n > len(base) for _, off, n in info.ops)
        or total_literals + sum(op[2] for op in info.ops) != info.original_size
    ):
        raise RestoreError("restore data is damaged (ops do not fit the file)")
    literals = b""
    if total_literals:
        literals = _literals(info, base, total_literals)
    if len(literals) != total_literals:
        raise RestoreError("restore data is damaged (literal bytes missing)")
    out, pos = bytearray(), 0
    for lit, off, n in info.ops:
        out += literals[pos : pos + lit]
        pos += lit
        out += base[off : off + n]
    result = bytes(out)
    if hashlib.sha256(result).hexdigest() != info.original_sha256:
        raise RestoreError("the rebuilt file does not match the original's SHA-256")
    return result
