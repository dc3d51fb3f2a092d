"""The inverted index of fingerprint sub-hashes: in memory, or persisted under the archive.

A *sub-hash* is a 32-bit Chromaprint item whose scrambled value falls in a quarter of the
range: the same items are chosen in every copy of a recording, whatever the alignment. Each
entry is (sub-hash, stored fingerprint, position); a query's sub-hashes vote for (fingerprint,
offset) pairs. Persisted as sorted segments of ``.npy`` arrays in ``ARCHIVE/analysis/fpindex/``
(memory-mapped when read), built incrementally from the analysis store's rows past the last
row indexed, and merged so that there are about log2(N) segments. The manifest is replaced
atomically after the segment files are written: a killed update leaves the old index intact
and some unreferenced files, removed by the next update.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_SHIFT = 30  # keep items whose scrambled top 2 bits are 0: one in 4
_SCRAMBLE = np.uint32(0x9E3779B1)  # Knuth's multiplicative hash: spreads similar items apart
FORMAT = 1
CHUNK_ROWS = 20_000  # stored fingerprints read per batch while building a segment


def selected(items: np.ndarray) -> np.ndarray:
    """Positions of the items that the index keeps."""
    mixed = items.astype(np.uint32) * _SCRAMBLE
    return np.flatnonzero((mixed >> np.uint32(SAMPLE_SHIFT)) == 0)


@dataclass
class Segment:
    """Entries sorted by key: ``refs`` are the stored fingerprints' ids, ``offs`` positions."""

    keys: np.ndarray  # uint32
    refs: np.ndarray  # uint32
    offs: np.ndarray  # int32

    @property
    def size(self) -> int:
        return int(self.keys.size)

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.refs.nbytes + self.offs.nbytes)

    @classmethod
    def build(cls, rows: Iterable[tuple[int, np.ndarray]]) -> Segment:
        """From (id, raw items) pairs, vectorized per batch of fingerprints."""
        keys, refs, offs = [], [], []
        batch: list[tuple[int, np.ndarray]] = []

        def flush() -> None:
            if not batch:
                return
            lengths = np.array([len(items) for _, items in batch], dtype=np.int64)
            items = np.concatenate([items for _, items in batch]).astype(np.uint32)
            starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
            pos = selected(items)
            keys.append(items[pos])
            ids = np.repeat(np.array([i for i, _ in batch], dtype=np.uint32), lengths)
            refs.append(ids[pos])
            offs.append((pos - starts[pos]).astype(np.int32))
            batch.clear()

        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK_ROWS:
                flush()
        flush()
        return cls.merged([Segment(*parts) for parts in zip(keys, refs, offs, strict=True)])

    @classmethod
    def merged(cls, segments: list[Segment]) -> Segment:
        if not segments:
            return cls(np.zeros(0, np.uint32), np.zeros(0, np.uint32), np.zeros(0, np.int32))
        key = np.concatenate([s.keys for s in segments])
        order = np.argsort(key, kind="stable")
        return cls(
            key[order],
            np.concatenate([s.refs for s in segments])[order],
            np.concatenate([s.offs for s in segments])[order],
        )

    def hits(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row in this segment, which query value) for every entry equal to a query value."""
        lo = np.searchsorted(self.keys, values, "left")
        hi = np.searchsorted(self.keys, values, "right")
        counts = hi - lo
        total = int(counts.sum())
        if not total:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        which = np.repeat(np.arange(values.size), counts)
        first = np.repeat(lo - (np.cumsum(counts) - counts), counts)  # row = first + k-th hit
        return first + np.arange(total), which


class StoredIndex:
    """The persisted segments in ``directory``: :meth:`update` adds rows, :attr:`segments` reads."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.manifest = directory / "index.json"
        self.last_row = 0
        self.names: list[str] = []
        self._read()

    @property
    def segments(self) -> list[Segment]:
        return [self._load(n) for n in self.names]

    def _load(self, name: str) -> Segment:
        arrays = [np.load(self.dir / f"{name}.{part}.npy", mmap_mode="r") for part in ("keys", "refs", "offs")]  # fmt: skip
        return Segment(*arrays)

    def _save(self, segment: Segment, name: str) -> None:
        for part, array in (("keys", segment.keys), ("refs", segment.refs), ("offs", segment.offs)):
            tmp = self.dir / f"{name}.{part}.npy.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(array))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / f"{name}.{part}.npy")

    def _read(self) -> None:
        if self.manifest.exists():
            meta = json.loads(self.manifest.read_text())
            if meta.get("format") == FORMAT:
                self.last_row, self.names = int(meta["last_row"]), list(meta["segments"])

    def update(self, rows: Iterable[tuple[int, np.ndarray]], last_row: int) -> int:
        """Index ``rows`` (id, items), all with ids up to ``last_row``; returns entries added.

        One updater at a time (``analyze`` and ``identify`` may both bring it up to date):
        the lock is held throughout, and rows another updater indexed meanwhile are skipped.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._read()
            if last_row <= self.last_row:
                return 0
            known = self.last_row
            return self._update(((i, items) for i, items in rows if i > known), last_row)

    def _update(self, rows: Iterable[tuple[int, np.ndarray]], last_row: int) -> int:
        new = Segment.build(rows)
        names = list(self.names)
        segments = [self._load(n) for n in names]
        pending, size = [new], new.size
        # Merge while the newest is at least half the size of the one before: log2(N) segments.
        while segments and size * 2 >= segments[-1].size:
            size += segments[-1].size
            pending.insert(0, segments.pop())
            names.pop()
        merged = Segment.merged(pending) if len(pending) > 1 else new
        name = f"seg{last_row:012d}"
        if merged.size:
            self._save(merged, name)
            names.append(name)
        tmp = self.manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "last_row": last_row, "segments": names}))
        os.replace(tmp, self.manifest)
        self.last_row, self.names = last_row, names
        keep = {f"{n}.{p}.npy" for n in names for p in ("keys", "refs", "offs")} | {
            "index.json",
            ".lock",
        }
        for path in self.dir.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
        return new.size
