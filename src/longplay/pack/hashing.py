"""Parallel hashing of a torrent's data: v1 SHA-1 pieces and v2 SHA-256 merkle trees, one read.

The v1 byte stream (pad files included) is cut into tasks of whole pieces, about
``TASK_BYTES`` each, hashed by a pool of workers. A worker reads its files once, in
``READ_SIZE`` chunks, into a preallocated buffer small enough to stay in the CPU cache, and
feeds each chunk both to the running SHA-1 of the current piece and, for hybrid torrents, to
SHA-256 leaf hashes of its 16 KiB blocks, which it folds into one merkle root per piece. The
caller assembles the piece list, the piece layers and the file roots from the task results.

hashlib releases the GIL on buffers of 2 KiB and more, so threads hash in parallel. Worker
processes (:mod:`longplay.workers`) also run the Python work between hash calls in parallel,
which pays for hybrids (one call per 16 KiB leaf) once the data outweighs starting the
interpreters (``PROCESS_MIN_BYTES``); v1 does one call per 256 KiB and stays on threads. Memory is bounded:
one read buffer per worker, at most ``2 x workers`` tasks in flight, and the digests themselves
(52 bytes per piece).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from longplay.errors import InputError
from longplay.pack.layout import BLOCK_SIZE, Layout

if TYPE_CHECKING:  # worker processes import this module: keep them light
    from longplay.progress import Tracker

READ_SIZE = 256 * 1024  # fits the L2 cache next to the hash state; a multiple of BLOCK_SIZE
TASK_BYTES = 32 * 1024 * 1024  # v1 stream bytes per task (rounded to whole pieces)
PROCESS_MIN_BYTES = 1 << 30  # below this, starting worker processes costs more than it saves
# With a cluster, torrents of this size and more are hashed there, by piece ranges; smaller ones
# hash locally in less time than connecting to the scheduler takes.
CLUSTER_MIN_BYTES = 1 << 30
EXECUTORS = ("auto", "thread", "process", "cluster")

_sha1 = hashlib.sha1
_sha256 = hashlib.sha256
_ZERO_HASH = bytes(32)


def _pad_hashes(levels: int = 64) -> list[bytes]:
    """pad[k]: the merkle root of 2**k all-zero leaves (BEP 52 pads trees with zero hashes)."""
    out = [_ZERO_HASH]
    for _ in range(levels):
        out.append(_sha256(out[-1] + out[-1]).digest())
    return out


PAD_HASHES = _pad_hashes()


def merkle_root(nodes: list[bytes], width: int, level: int = 0) -> bytes:
    """Root of a tree whose bottom row is ``nodes`` padded to ``width`` (a power of two).

    Missing nodes are roots of all-zero subtrees of height ``level``; only the real nodes are
    hashed, so a file's short tail costs as little as its data.
    """
    if not nodes:
        raise ValueError("merkle_root of no nodes")
    row = nodes
    while width > 1:
        if len(row) % 2:
            row = [*row, PAD_HASHES[level]]
        row = [_sha256(row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
        width //= 2
        level += 1
    return row[0]


def leaf_width(blocks: int) -> int:
    """The number of leaves of a merkle tree over ``blocks`` leaves: the next power of two."""
    return 1 << max(0, blocks - 1).bit_length()


@dataclass(frozen=True)
class Segment:
    """A run of bytes in one task: part of a source file, or the zeros of a pad file."""

    source: str | None  # None: zeros
    offset: int  # where the run starts in the source file
    length: int
    file: int = -1  # index of the file in the layout (v2 results), -1 for zeros
    file_size: int = 0  # size of the whole source file


@dataclass(frozen=True)
class Task:
    first_piece: int
    piece_size: int
    v2: bool
    segments: tuple[Segment, ...]

    @property
    def data_bytes(self) -> int:
        return sum(s.length for s in self.segments if s.source is not None)


@dataclass
class TaskResult:
    first_piece: int
    pieces: bytes  # SHA-1 digests of the task's pieces, concatenated
    # (layout file index, first piece within that file, concatenated v2 piece roots)
    layers: list[tuple[int, int, bytes]] = field(default_factory=list)
    data_bytes: int = 0


@dataclass
class Hashes:
    pieces: bytes  # every v1 piece's SHA-1, concatenated
    layers: dict[int, bytes]  # layout file index -> its v2 piece roots, concatenated (hybrid)


def plan_tasks(layout: Layout, task_bytes: int = TASK_BYTES) -> Iterator[Task]:
    """Cut the v1 stream into tasks of whole pieces; pad files become runs of zeros."""
    piece = layout.piece_size
    step = max(1, task_bytes // piece) * piece
    v2 = layout.version == "hybrid"
    start, segments = 0, []
    for index, f in enumerate(layout.files):
        pos = 0
        while pos < f.size:
            end = start + step
            take = min(f.size - pos, end - (f.offset + pos))
            if f.pad:
                segments.append(Segment(None, 0, take))
            else:
                assert f.source is not None
                segments.append(Segment(f.source, pos, take, index, f.size))
            pos += take
            if f.offset + pos == end:
                yield Task(start // piece, piece, v2, tuple(segments))
                start, segments = end, []
    if segments:
        yield Task(start // piece, piece, v2, tuple(segments))


class _Buffers(threading.local):
    def __init__(self) -> None:
        self.buffer = memoryview(bytearray(READ_SIZE))
        self.blocks = [self.buffer[o : o + BLOCK_SIZE] for o in range(0, READ_SIZE, BLOCK_SIZE)]


_buffers = _Buffers()
_ZEROS = memoryview(bytes(READ_SIZE))


class _PieceHasher:
    """SHA-1 of consecutive pieces fed in arbitrary chunks."""

    __slots__ = ("digests", "hash", "left", "size")

    def __init__(self, size: int):
        self.size = size
        self.left = size
        self.hash = _sha1()
        self.digests = bytearray()

    def feed(self, view: memoryview) -> None:
        pos, n = 0, len(view)
        while n - pos >= self.left:
            self.hash.update(view[pos : pos + self.left])
            self.digests += self.hash.digest()
            pos += self.left
            self.hash, self.left = _sha1(), self.size
        if pos < n:
            self.hash.update(view[pos:])
            self.left -= n - pos

    def finish(self) -> bytes:
        if self.left < self.size:  # the stream's last piece is short
            self.digests += self.hash.digest()
        return bytes(self.digests)


def hash_task(task: Task) -> TaskResult:
    """Hash one task's bytes (runs in a worker thread or process)."""
    v1 = _PieceHasher(task.piece_size)
    result = TaskResult(task.first_piece, b"", data_bytes=task.data_bytes)
    for seg in task.segments:
        if seg.source is None:
            left = seg.length
            while left:
                n = min(left, READ_SIZE)
                v1.feed(_ZEROS[:n])
                left -= n
        else:
            roots = _hash_segment(seg, v1, task.piece_size, task.v2)
            if task.v2:
                result.layers.append((seg.file, seg.offset // task.piece_size, roots))
    result.pieces = v1.finish()
    return result


def _hash_segment(seg: Segment, v1: _PieceHasher, piece_size: int, v2: bool) -> bytes:
    assert seg.source is not None
    buf, blocks = _buffers.buffer, _buffers.blocks
    per_piece = piece_size // BLOCK_SIZE
    leaves: list[bytes] = []
    roots = bytearray()
    try:
        fd = os.open(seg.source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {seg.source}: {exc.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        if size != seg.file_size:
            raise InputError(
                f"{seg.source} is {size} bytes, expected {seg.file_size}: "
                "it changed after the torrent was planned"
            )
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, seg.offset, seg.length, os.POSIX_FADV_SEQUENTIAL)
        pos, end = seg.offset, seg.offset + seg.length
        while pos < end:
            n = min(READ_SIZE, end - pos)
            view = buf[:n]
            got = os.preadv(fd, [view], pos)
            while got < n:  # a short read is legal; zero means the file shrank
                more = os.preadv(fd, [view[got:]], pos + got)
                if more == 0:
                    raise InputError(
                        f"{seg.source} ended at {pos + got} bytes, expected "
                        f"{seg.file_size}: it changed while being hashed"
                    )
                got += more
            v1.feed(view)
            if v2:
                if n == READ_SIZE:
                    leaves += [_sha256(b).digest() for b in blocks]
                else:
                    leaves += [
                        _sha256(view[o : o + BLOCK_SIZE]).digest() for o in range(0, n, BLOCK_SIZE)
                    ]
                while len(leaves) >= per_piece:
                    roots += merkle_root(leaves[:per_piece], per_piece)
                    del leaves[:per_piece]
            pos += n
    except OSError as exc:
        raise InputError(f"cannot read {seg.source}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if leaves:  # the file's last piece: leaves past its end are zero hashes (BEP 52)
        small = seg.file_size < piece_size  # libtorrent pads a one-piece file to its own width
        roots += merkle_root(leaves, leaf_width(len(leaves)) if small else per_piece)
    return bytes(roots)


def file_root(layer: bytes, piece_size: int) -> bytes:
    """A file's ``pieces root`` from its piece layer (the roots of its pieces' subtrees)."""
    roots = [layer[i : i + 32] for i in range(0, len(layer), 32)]
    if len(roots) == 1:
        return roots[0]
    per_piece = piece_size // BLOCK_SIZE
    return merkle_root(roots, leaf_width(len(roots)), per_piece.bit_length() - 1)


def default_workers() -> int:
    from longplay.workers import usable_cores

    return usable_cores()


def _make_executor(kind: str, workers: int, layout: Layout, cluster: str) -> Executor | None:
    if kind not in EXECUTORS:
        raise InputError(f"executor {kind!r} is not one of {', '.join(EXECUTORS)}")
    if kind == "cluster" or (kind == "auto" and cluster and layout.data_size >= CLUSTER_MIN_BYTES):
        if not cluster:
            raise InputError("executor 'cluster' needs a Dask scheduler address (setting cluster)")
        from longplay.workers import pool

        return pool(cluster=cluster)  # tasks carry file paths and offsets, never the bytes
    if workers <= 1 and kind != "process":
        return None
    if kind == "auto":
        # v1 does little Python work per byte, so threads scale; hybrids do a call per 16 KiB
        # leaf, where processes win once the data outweighs starting them.
        big = layout.version == "hybrid" and layout.data_size >= PROCESS_MIN_BYTES
        kind = "process" if big else "thread"
    if kind == "process":
        from longplay.workers import pool

        return pool(workers)
    return ThreadPoolExecutor(workers, thread_name_prefix="longplay-hash")


def hash_layout(
    layout: Layout,
    *,
    workers: int | None = None,
    executor: str = "auto",
    tracker: Tracker | None = None,
    task_bytes: int | None = None,
    cluster: str = "",
) -> Hashes:
    """Hash every piece of ``layout`` (and the v2 trees of a hybrid) over ``workers`` workers,
    or on the Dask scheduler ``cluster`` names when the torrent is large (or ``executor`` is
    "cluster")."""
    workers = workers or default_workers()
    task_bytes = task_bytes or TASK_BYTES
    pieces = bytearray(20 * layout.num_pieces)
    parts: dict[int, list[tuple[int, bytes]]] = {}

    def take(result: TaskResult) -> None:
        at = 20 * result.first_piece
        pieces[at : at + len(result.pieces)] = result.pieces
        for file, first, roots in result.layers:
            parts.setdefault(file, []).append((first, roots))
        if tracker is not None:
            tracker.advance(result.data_bytes)

    tasks = plan_tasks(layout, task_bytes)
    pool = _make_executor(executor, workers, layout, cluster)
    if pool is None:
        for task in tasks:
            take(hash_task(task))
    else:
        pending: set[Future[TaskResult]] = set()
        window = 2 * getattr(pool, "workers", workers)  # a cluster's worker threads, or ours
        try:
            for task in tasks:
                if len(pending) >= window:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        take(fut.result())
                pending.add(pool.submit(hash_task, task))
            for fut in pending:
                take(fut.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    layers = {
        file: b"".join(roots for _, roots in sorted(chunks)) for file, chunks in parts.items()
    }
    return Hashes(bytes(pieces), layers)
