"""`longplay mirror verify`: check the data held against piece hashes, merkle roots, manifests.

Each byte is read once. A torrent's files are cut into spans of consecutive files; a task
(:func:`verify_span`) streams one span and feeds every chunk to the hashes that cover it: SHA-1
of the v1 pieces that start in the span (reading on past its end to finish the last one), and,
per file, SHA-256 for the manifest and the 16 KiB SHA-256 leaves of the v2 merkle root. Tasks
run in threads (hashlib releases the GIL, so threads use every core) or, with a ``cluster``,
on Dask workers that read the same paths (docs/cluster.md). Pad files are virtual zeros.

Per file: ``missing`` (absent), ``partial`` (short, or sparse as an unfinished download leaves
it), ``corrupt`` (full size but a hash disagrees), else ``ok``. A failing v1 piece that spans
several files blames only those not proven good by a per-file hash when another file in it is
already bad.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libtorrent as lt

from longplay import progress
from longplay import workers as workers_mod
from longplay.errors import InputError
from longplay.mirror.choose import chosen_entries
from longplay.mirror.safety import CheckedTorrent, layout, read_torrent
from longplay.pack.listing import ManifestRow, read_manifest
from longplay.units import format_bytes

BLOCK = 16 * 1024
CHUNK = 1 << 20  # read size; a multiple of BLOCK
SEGMENT = 64 << 20  # bytes of files per worker task (at least 8 pieces)
ZERO32 = b"\0" * 32


@dataclass
class _File:
    index: int
    rel: tuple[str, ...]  # () for a single-file torrent
    path: Path | None  # None for pad files
    offset: int
    size: int
    root: bytes | None  # v2 pieces root
    sha256: str | None  # from the manifest
    problems: list[str] = field(default_factory=list)
    status: str = "ok"
    proven: bool = False  # a per-file hash (v2 root or manifest SHA-256) matched
    sparse: bool = False  # has holes, as a download in progress leaves a file

    def fail(self, problem: str) -> None:
        self.problems.append(problem)
        if self.status == "ok":
            self.status = "partial" if self.sparse else "corrupt"


@dataclass(frozen=True)
class FileProblem:
    torrent: str
    path: str
    status: str  # missing | partial | corrupt
    detail: str


@dataclass
class VerifyReport:
    torrents: list[str] = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    torrent_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.torrent_problems

    def count(self, status: str) -> int:
        return sum(1 for p in self.problems if p.status == status)

    def text(self) -> str:
        """What `longplay mirror verify` prints: each problem, then one summary line."""
        lines = [f"problem: {line}" for line in self.torrent_problems]
        lines += [f"{p.status}: {p.torrent}/{p.path}: {p.detail}" for p in self.problems]
        head = (
            f"{len(self.torrents)} torrent(s), {self.files_checked} file(s), "
            f"{format_bytes(self.bytes_checked)}: "
        )
        if self.ok:
            return "\n".join([*lines, head + "all well"])
        tail = (
            f"{self.count('missing')} missing, {self.count('partial')} partial, "
            f"{self.count('corrupt')} corrupt, {len(self.torrent_problems)} other problem(s)"
        )
        return "\n".join([*lines, head + tail])


def merkle_root(leaves: list[bytes]) -> bytes:
    """BEP 52 root: leaves padded with zero hashes to a power of two, hashed pairwise."""
    level, pad = leaves, ZERO32
    while len(level) > 1:
        if len(level) % 2:
            level = [*level, pad]
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
        pad = hashlib.sha256(pad + pad).digest()
    return level[0]


class _Torrent:
    """One torrent's files and hashes, and the per-piece outcome of checking them."""

    def __init__(
        self, checked: CheckedTorrent, files_dir: Path, manifest: list[ManifestRow] | None
    ):
        self.checked = checked
        ti = checked.info
        self.name = checked.name
        self.plen = ti.piece_length()
        self.total = ti.total_size()
        info: Any = lt.bdecode(ti.info_section())
        self.pieces: bytes = info.get(b"pieces", b"")
        self.has_v2 = ti.info_hashes().has_v2()
        by_path = {r.parts: r for r in manifest or []}
        self.listing_problems: list[str] = []
        fs = layout(ti)
        self.files: list[_File] = []
        for i in range(fs.num_files()):
            off, size = fs.file_offset(i), fs.file_size(i)
            if fs.file_flags(i) & lt.file_storage.flag_pad_file:
                self.files.append(_File(i, (), None, off, size, None, None))
                continue
            rel = tuple(fs.file_path(i).split("/"))[0 if checked.single_file else 1 :]
            root = bytes.fromhex(str(fs.root(i))) if self.has_v2 and size else None
            row = by_path.pop(rel, None)
            if row is not None and row.size != size:
                self.listing_problems.append(
                    f"{self.name}: manifest says {row.path} is "
                    f"{row.size} bytes, the torrent says {size}"
                )
            path = files_dir.joinpath(self.name, *rel)
            self.files.append(_File(i, rel, path, off, size, root, row.sha256 if row else None))
        self.listing_problems += [
            f"{self.name}: manifest names {path}, which the torrent lacks"
            for path in sorted(r.path for r in by_path.values())
        ]
        self.bad_pieces: set[int] = set()

    def spans(self) -> Iterator[Span]:
        """The torrent cut into tasks: runs of whole files of about SEGMENT bytes (at least 8
        pieces), each with the files past its end that finish its last piece."""
        target = max(SEGMENT, 8 * self.plen)
        start, size = 0, 0
        for i, f in enumerate(self.files):
            size += f.size
            if size >= target or i == len(self.files) - 1:
                yield self._span(start, i + 1)
                start, size = i + 1, 0

    def _span(self, a: int, b: int) -> Span:
        seg_start = self.files[a].offset
        seg_end = self.files[b - 1].offset + self.files[b - 1].size
        first = -(-seg_start // self.plen)  # the pieces that start in the span are its own
        stream_end = min(self.total, -(-seg_end // self.plen) * self.plen)
        end = b
        while end < len(self.files) and self.files[end].offset < stream_end:
            end += 1
        pieces = self.pieces[20 * first : 20 * -(-stream_end // self.plen)]
        return Span(
            self.plen, self.total, first, stream_end, pieces, tuple(self.files[a:end]), b - a
        )


@dataclass(frozen=True)
class Span:
    """One verify task: a run of a torrent's files by path, and the v1 hashes it checks."""

    plen: int
    total: int
    first_piece: int  # the first piece that starts in the span
    stream_end: int  # read up to here, past the span's own files, to finish its last piece
    pieces: bytes  # v1 SHA-1s from first_piece on (empty for a v2-only torrent)
    files: tuple[_File, ...]  # the span's own files, then those read to finish the last piece
    own: int


@dataclass
class SpanResult:
    files: list[_File]  # the span's own files, with their verdicts
    bad_pieces: set[int]
    data_bytes: int


class _PieceHasher:
    """SHA-1 of consecutive v1 pieces from the span's first; unreadable bytes break a piece."""

    def __init__(self, span: Span, bad: set[int]):
        self.span, self.bad = span, bad
        self.index, self.end = span.first_piece, span.stream_end
        self.pos = span.first_piece * span.plen
        self.h = hashlib.sha1()
        self.broken = False

    def _finish(self) -> None:
        at = 20 * (self.index - self.span.first_piece)
        if self.broken or self.h.digest() != self.span.pieces[at : at + 20]:
            self.bad.add(self.index)
        self.index += 1
        self.h, self.broken = hashlib.sha1(), False

    def feed(self, offset: int, data: memoryview | None, length: int) -> None:
        """Bytes [offset, offset+length) of the torrent; data None when they could not be read."""
        if not self.span.pieces:
            return  # a v2-only torrent has no v1 pieces; its merkle roots do the work
        start = max(offset, self.pos)
        stop = min(offset + length, self.end)
        while start < stop:
            piece_end = min((self.index + 1) * self.span.plen, self.span.total)
            n = min(stop, piece_end) - start
            if data is None:
                self.broken = True
            else:
                self.h.update(data[start - offset : start - offset + n])
            start += n
            self.pos = start
            if start == piece_end:
                self._finish()


def verify_span(span: Span) -> SpanResult:
    """Read a span's files once and check them (a task: runs in a thread or on a cluster)."""
    bad: set[int] = set()
    pieces = _PieceHasher(span, bad)
    buf = bytearray(CHUNK)
    stream_end = span.stream_end
    read = 0
    for i, f in enumerate(span.files):
        own = i < span.own
        if f.size == 0:
            if own and f.path is not None:
                _check_exists(f)
            continue
        if f.path is None:
            zeros = memoryview(bytes(min(f.size, stream_end - f.offset)))
            pieces.feed(f.offset, zeros, len(zeros))
            continue
        limit = f.size if own else min(f.size, stream_end - f.offset)
        _hash_file(f, own, limit, pieces, buf)
        read += f.size if own else 0
    return SpanResult(list(span.files[: span.own]), bad, read)


def _check_exists(f: _File) -> None:
    assert f.path is not None
    if not f.path.is_file():
        f.status, f.problems = "missing", ["file is absent"]


def _hash_file(f: _File, own: bool, limit: int, pieces: _PieceHasher, buf: bytearray) -> None:
    assert f.path is not None
    sha = hashlib.sha256() if own and f.sha256 else None
    leaves: list[bytes] | None = [] if own and f.root is not None else None
    done = 0
    try:
        fh = open(f.path, "rb")  # noqa: SIM115 - closed by the `with fh` below
    except FileNotFoundError:
        fh = None
    except OSError as exc:
        fh = None
        if own:
            f.problems.append(f"cannot read: {exc.strerror}")
    if fh is None:
        if own:
            f.status = "missing"
            f.problems.append("file is absent")
        pieces.feed(f.offset, None, limit)
        return
    with fh:
        st = os.fstat(fh.fileno())
        if own and st.st_size != f.size:
            f.status = "partial" if st.st_size < f.size else "corrupt"
            f.problems.append(f"{st.st_size} bytes, expected {f.size}")
        elif own and st.st_blocks * 512 < f.size - 4096:
            f.sparse = True  # holes: libtorrent writes sparse files as pieces arrive
        mv = memoryview(buf)
        while done < limit:
            n = fh.readinto(mv[: min(CHUNK, limit - done)])
            if not n:
                break
            chunk = mv[:n]
            pieces.feed(f.offset + done, chunk, n)
            if sha is not None:
                sha.update(chunk)
            if leaves is not None:
                leaves.extend(
                    hashlib.sha256(chunk[j : j + BLOCK]).digest() for j in range(0, n, BLOCK)
                )
            done += n
    if done < limit:
        pieces.feed(f.offset + done, None, limit - done)
        return
    if not own:
        return
    if sha is not None:
        if sha.hexdigest() != f.sha256:
            f.fail("SHA-256 differs from the manifest")
        else:
            f.proven = True
    if leaves is not None:
        if merkle_root(leaves) != f.root:
            f.fail("v2 merkle root differs")
            f.proven = False
        elif sha is None or f.proven:
            f.proven = True


def _blame_pieces(t: _Torrent) -> None:
    """Mark files that overlap failing v1 pieces; see the module docstring."""
    real = [f for f in t.files if f.path is not None and f.size]  # in offset order
    ends = [f.offset + f.size for f in real]
    blamed: dict[int, list[int]] = {}
    for piece in sorted(t.bad_pieces):
        lo, hi = piece * t.plen, min((piece + 1) * t.plen, t.total)
        inside, i = [], bisect.bisect_right(ends, lo)
        while i < len(real) and real[i].offset < hi:
            inside.append(real[i])
            i += 1
        others_bad = any(f.status != "ok" for f in inside)
        for f in inside:
            if f.status == "ok" and f.proven and others_bad:
                continue
            blamed.setdefault(f.index, []).append(piece)
    for f in real:
        pieces = blamed.get(f.index)
        if pieces and f.status != "missing":
            shown = ", ".join(map(str, pieces[:5])) + (", ..." if len(pieces) > 5 else "")
            f.fail(
                f"v1 piece{'s' if len(pieces) > 1 else ''} {shown} fail{'' if len(pieces) > 1 else 's'}"
            )


def verify_torrents(
    files_dir: Path,
    torrents: list[tuple[CheckedTorrent, list[ManifestRow] | None]],
    workers: int = 0,
    cluster: str = "",
) -> VerifyReport:
    """Check each (torrent, manifest) against the data under ``files_dir``, in ``workers``
    threads here, or on the Dask scheduler ``cluster`` names (the spans travel by path)."""
    report = VerifyReport()
    files_dir = Path(os.path.abspath(files_dir))  # a cluster's workers do not share our cwd
    loaded = [_Torrent(c, files_dir, m) for c, m in torrents]
    total = sum(f.size for t in loaded for f in t.files if f.path is not None)
    workers = workers or os.cpu_count() or 1
    pool: Executor = workers_mod.pool(cluster=cluster) if cluster else ThreadPoolExecutor(workers)
    window = 2 * getattr(pool, "workers", workers)  # bounded: a 300 TB mirror is 5M spans
    with progress.progress("verify", total, "B") as bar, pool:

        def take(t: _Torrent, future: Future[SpanResult]) -> None:
            result = future.result()
            for f in result.files:
                t.files[f.index] = f  # the verdicts (the same objects when run in a thread)
            t.bad_pieces |= result.bad_pieces
            bar.advance(result.data_bytes)

        for t in loaded:
            pending: set[Future[SpanResult]] = set()
            for span in t.spans():
                if len(pending) >= window:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        take(t, future)
                pending.add(pool.submit(verify_span, span))
            for future in pending:
                take(t, future)
    for t in loaded:
        _blame_pieces(t)
        report.torrents.append(t.name)
        report.torrent_problems += t.listing_problems
        for f in t.files:
            if f.path is None:
                continue
            report.files_checked += 1
            report.bytes_checked += f.size
            if f.status != "ok":
                report.problems.append(
                    FileProblem(t.name, "/".join(f.rel) or t.name, f.status, "; ".join(f.problems))
                )
    return report


LAST_VERIFY = "verify.json"


def record(directory: Path, report: VerifyReport, when: str) -> None:
    """Keep the verdict per torrent in DIR/verify.json, so the web's torrents page can show the
    last verify without hashing anything itself (written whole, then renamed)."""
    per: dict[str, dict[str, Any]] = {name: {"problems": 0} for name in report.torrents}
    for p in report.problems:
        per.setdefault(p.torrent, {"problems": 0})["problems"] += 1
    for line in report.torrent_problems:
        name = line.split(":", 1)[0]
        per.setdefault(name, {"problems": 0})["problems"] += 1
    doc = {"checked": when, "torrents": per}
    tmp = Path(directory) / (LAST_VERIFY + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, Path(directory) / LAST_VERIFY)


def last_verify(directory: Path) -> tuple[str, dict[str, int]] | None:
    """(when, problems per torrent) of the last recorded verify, or None."""
    try:
        doc = json.loads((Path(directory) / LAST_VERIFY).read_text())
        return str(doc["checked"]), {
            str(k): int(v["problems"]) for k, v in dict(doc["torrents"]).items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def verify_mirror(directory: Path, workers: int = 0, cluster: str = "") -> VerifyReport:
    """Verify the torrents DIR/mirror.json chose (or, without it, all of torrents.json)."""
    directory = Path(directory)
    source, entries = chosen_entries(directory)
    torrents_dir = source.parent
    work: list[tuple[CheckedTorrent, list[ManifestRow] | None]] = []
    problems = []
    for e in entries:
        checked = read_torrent(torrents_dir / e.file)
        if checked.name != e.name:
            raise InputError(
                f"{e.file}: torrent is named {checked.name!r}, listing says {e.name!r}"
            )
        if checked.info_hash_v1 != e.info_hash_v1 or checked.info_hash_v2 != e.info_hash_v2:
            problems.append(f"{e.name}: {e.file} does not have the info-hashes torrents.json lists")
        manifest = read_manifest(torrents_dir / e.manifest) if e.manifest else None
        work.append((checked, manifest))
    report = verify_torrents(directory / "files", work, workers, cluster)
    report.torrent_problems[:0] = problems
    return report
