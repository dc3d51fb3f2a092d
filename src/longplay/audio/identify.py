"""Offline identification: a file's Chromaprint fingerprint against the archive's own.

Candidates come from the inverted index over fingerprint *sub-hashes* (``fpindex``, persisted
under the archive and brought up to date before a query). Each shared item votes for (stored
fingerprint, offset); the best few are then scored by the bit error rate over their whole
overlap at that offset.

Measured bit error rates on real music: FLAC vs Opus 75k about 0.5 %, vs MP3 128k about 0.4 %,
30 s excerpts off the item grid up to 5.4 %, two different songs about 48 %; :data:`MAX_BER`
sits far from both (bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from longplay.archive import Archive
from longplay.audio import fingerprint
from longplay.audio.analysisdb import AnalysisStore, analysis_dir
from longplay.audio.fpindex import Segment, StoredIndex, selected

MAX_BER = 0.12  # see the module docstring: same recording <= 5.4 %, different songs ~48 %
MIN_OVERLAP = 24  # aligned items (about 3 s) below which a score means nothing
CANDIDATES = 5  # stored fingerprints scored by bit error rate per query
Fetch = Callable[[list[int]], dict[int, np.ndarray]]  # stored ids -> raw items (absent: skip)


@dataclass(frozen=True)
class Candidate:
    ref: int  # the stored fingerprint's id
    ber: float
    overlap: int
    offset: int  # query item i aligns with stored item i + offset
    votes: int

    @property
    def score(self) -> float:
        return round(1.0 - self.ber, 4)

    @property
    def matches(self) -> bool:
        return self.ber <= MAX_BER and self.overlap >= MIN_OVERLAP


class FingerprintIndex:
    """Sub-hash segments (``fpindex``) and the way to fetch a stored fingerprint by id."""

    def __init__(self, segments: list[Segment], fetch: Fetch) -> None:
        self.segments = [s for s in segments if s.size]
        self._fetch = fetch

    @classmethod
    def of(cls, fingerprints: Sequence[np.ndarray]) -> FingerprintIndex:
        """In memory, ids being positions in ``fingerprints``."""
        segment = Segment.build(enumerate(np.asarray(f, dtype=np.uint32) for f in fingerprints))
        return cls([segment], lambda refs: {r: fingerprints[r] for r in refs})

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.segments)

    def _votes(self, query: np.ndarray) -> list[tuple[int, int, int]]:
        """(id, offset, votes) of the best-voted alignment of each stored fingerprint."""
        pos = selected(query)
        if not pos.size:
            return []
        values = query[pos]
        refs, shifts = [], []
        for seg in self.segments:
            rows, which = seg.hits(values)
            if rows.size:
                refs.append(np.asarray(seg.refs[rows], dtype=np.int64))
                shifts.append(np.asarray(seg.offs[rows], dtype=np.int64) - pos[which])
        if not refs:
            return []
        pairs, n = np.unique(
            (np.concatenate(refs) << 32) | (np.concatenate(shifts) & 0xFFFFFFFF),
            return_counts=True,
        )
        out: dict[int, tuple[int, int, int]] = {}
        for i in np.argsort(-n, kind="stable"):
            ref = int(pairs[i] >> 32)
            if ref not in out:
                out[ref] = (ref, int(np.int32(np.uint32(pairs[i] & 0xFFFFFFFF))), int(n[i]))
                if len(out) == 4 * CANDIDATES:
                    break
        return list(out.values())

    def candidates(self, query: np.ndarray) -> list[Candidate]:
        """The best stored fingerprints for ``query``, lowest bit error rate first."""
        query = np.asarray(query, dtype=np.uint32)
        voted = self._votes(query)
        stored = self._fetch([ref for ref, _, _ in voted])  # ids it lacks are not candidates
        scored = []
        for ref, offset, votes in (v for v in voted if v[0] in stored):
            ber, overlap = fingerprint.bit_error_rate(stored[ref], query, offset)
            scored.append(Candidate(ref, ber, overlap, offset, votes))
            if len(scored) == CANDIDATES:
                break
        return sorted(scored, key=lambda c: (not c.matches, c.ber, -c.votes))


@dataclass(frozen=True)
class Identification:
    file: str
    track_id: int | None  # the match, None when nothing is close enough
    payload_sha256: str | None  # the matched stored audio
    score: float | None  # 1 - bit error rate of the best candidate
    runner_up_track_id: int | None = None
    runner_up_score: float | None = None
    reason: str | None = None  # why the file could not be fingerprinted


class ArchiveIdentifier:
    """The archive's persisted sub-hash index, brought up to date, queried per file.

    Only stored fingerprints of catalog tracks are candidates: the others (files analyzed
    from folders outside the library) are skipped when fetched.
    """

    def __init__(self, archive: Archive) -> None:
        from longplay.audio.analysisdb import AnalysisStore
        from longplay.audio.trackanalysis import payload_tracks

        self.store = AnalysisStore(archive, create=False)
        self.tracks = payload_tracks(archive, self.store) if self.store.exists else {}
        self.payloads: dict[int, str] = {}  # id -> payload hash, of the fetched candidates
        segments = update_index(archive, self.store) if self.store.exists else []
        self.index = FingerprintIndex(segments, self._fetch)

    def _fetch(self, refs: list[int]) -> dict[int, np.ndarray]:
        out = {}
        for ref, payload, items in self.store.fingerprints_by_id(refs):
            if payload in self.tracks:
                self.payloads[ref] = payload
                out[ref] = items
        return out

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> ArchiveIdentifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def identify_items(self, file: str, items: np.ndarray) -> Identification:
        found = self.index.candidates(items)
        track = {c.ref: self.tracks[self.payloads[c.ref]] for c in found}
        best = found[0] if found and found[0].matches else None
        others = [c for c in found if best is None or track[c.ref] != track[best.ref]]
        second = others[0] if others else None
        return Identification(
            file=file,
            track_id=track[best.ref] if best else None,
            payload_sha256=self.payloads[best.ref] if best else None,
            score=best.score if best else (found[0].score if found else None),
            runner_up_track_id=track[second.ref] if second else None,
            runner_up_score=second.score if second else None,
        )

    def identify(self, file: str) -> Identification:
        from longplay.audio.analysis import AnalysisProblem, analyze_file

        try:
            features = analyze_file(file, essentia=False)
        except AnalysisProblem as exc:
            return Identification(file, None, None, None, reason=str(exc))
        return self.identify_items(file, np.asarray(features.fingerprint, dtype=np.uint32))


def update_index(archive: Archive, store: AnalysisStore) -> list[Segment]:
    """Add the store's fingerprints analyzed since the index's last update; its segments.

    A read-only archive gets an in-memory index of everything instead.
    """
    stored = StoredIndex(analysis_dir(archive) / "fpindex")
    last = store.last_row()
    if last > stored.last_row:
        try:
            stored.update(store.fingerprints_since(stored.last_row), last)
        except OSError:
            return [Segment.build(store.fingerprints_since(0))]
    return stored.segments


def identify_unmatched(archive: Archive) -> int:
    """`scan --identify`: match library files that no tag matched by their fingerprints."""
    from longplay.audio.library import LibraryStore
    from longplay.catalog.store import CatalogStore

    catalog = CatalogStore(archive)
    if catalog.current_name() is None:
        return 0
    with ArchiveIdentifier(archive) as ident, LibraryStore(archive) as lib:
        if not ident.tracks:
            return 0
        rows = lib.con.execute(
            "SELECT root, path FROM files WHERE track_id IS NULL AND NOT match_ambiguous "
            "ORDER BY root, path"
        ).fetchall()
        found = []
        for root, path in rows:
            got = ident.identify(f"{root}/{path}")
            if got.track_id is not None:
                found.append((root, path, got.track_id))
        if found:
            import pyarrow as pa

            lib.set_matches(
                pa.table(
                    {
                        "root": [r for r, _, _ in found],
                        "path": [p for _, p, _ in found],
                        "track_id": [t for _, _, t in found],
                        "match_method": ["fingerprint"] * len(found),
                        "match_candidates": [1] * len(found),
                        "match_ambiguous": [False] * len(found),
                    }
                ),
                catalog.current_number(),
            )
    return len(found)
