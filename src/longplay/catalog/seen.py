"""The track keys an ingest has written so far, as 64-bit hashes in memory: a unit's keys are
looked up here instead of in every track the generation already holds.

Why: each unit must reject the track keys that an earlier unit of the same ingest wrote. Asked
of the ``tracks`` table, that question reads every earlier track's key (a hash join probes them
all; real keys are unordered, so DuckDB's min/max filter skips nothing), which made the unit's
work grow with the catalog: +0.06-0.09 CPU-s per 1M-track unit for each 1M earlier tracks at
10M, 2,100-3,100 CPU-s over 256M tracks (bench/RESULTS.md, issue 26, h-probe). Here a lookup is
a binary search per sorted run: a unit's cost grows with the log of the tracks before it
(0.1-0.2 CPU-s a unit at 10M).

A hash found here is only a *candidate*: the caller confirms candidates against the tracks'
real keys (two keys may share a hash). A hash not found is certainly new. The set holds 8 bytes
per key (2 GiB for 256M keys; a merge briefly holds two runs and their union).
"""

from __future__ import annotations

import numpy as np


class KeyHashes:
    """A set of 64-bit hashes in sorted runs, each at least twice as long as the next.

    Added hashes wait unsorted until the next lookup (an ingest of one unit never sorts them);
    then they become a run, and the last runs are merged while they break that rule (a binary
    counter), so each hash is merged about log2(total / unit) times and a lookup searches about
    as many runs. A hash added twice is held twice, which changes no answer."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self._pending: list[np.ndarray] = []

    def add(self, hashes: np.ndarray) -> None:
        """Add ``hashes`` (uint64)."""
        if len(hashes):
            self._pending.append(np.asarray(hashes, dtype=np.uint64))

    def _fold(self) -> None:
        for hashes in self._pending:
            self._runs.append(np.sort(hashes))
            while len(self._runs) > 1 and len(self._runs[-2]) < 2 * len(self._runs[-1]):
                b, a = self._runs.pop(), self._runs.pop()
                self._runs.append(_merge(a, b))
        self._pending = []

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """A boolean mask: which of ``hashes`` (uint64) the set holds."""
        self._fold()
        q = np.asarray(hashes, dtype=np.uint64)
        found = np.zeros(len(q), dtype=bool)
        if not len(q) or not self._runs:
            return found
        # Sorted probes make the binary searches walk each run in one direction (6 x faster on
        # a run of 8M than probes in input order).
        order = np.argsort(q)
        sq = q[order]
        hit = np.zeros(len(q), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, sq), len(run) - 1)
            hit |= run[at] == sq
        found[order] = hit
        return found


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two sorted runs as one: each of ``b``'s hashes placed after the ones of ``a`` not above
    it (a linear pass; numpy's stable sort of the two took 4-5 x longer)."""
    at = np.searchsorted(a, b, side="right") + np.arange(len(b))
    out = np.empty(len(a) + len(b), dtype=np.uint64)
    from_b = np.zeros(len(out), dtype=bool)
    from_b[at] = True
    out[at] = b
    out[~from_b] = a
    return out
