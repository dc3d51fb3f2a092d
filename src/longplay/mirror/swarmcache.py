"""The swarm's cache of fetched songs: places from the manifests, the index, checks, eviction.

`SwarmCache` is the part of `mirror.swarm.Swarm` that keeps ARCHIVE/cache/swarm/: when each
file was last played (index.json), the manifest SHA-256 check of complete files, and the
size budget (least recently played out first; never a file being read).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from longplay.archive import Archive
from longplay.errors import LongplayError
from longplay.mirror.safety import layout
from longplay.pack.listing import read_listing, read_manifest
from longplay.pack.publish import LISTING

log = logging.getLogger("longplay.swarm")
AVAILABILITY_TTL = 1.0  # seconds between looks at a torrent's peers' bitfields
SEEN_TTL = 300.0  # seconds a peer's bitfield counts after the peer was last connected


@dataclass(frozen=True)
class Place:
    """Where a track's file is published: torrent, path inside it, size and SHA-256."""

    track_id: int
    torrent: str
    path: str
    size: int
    sha256: str


def places(archive: Archive) -> dict[int, Place]:
    """Every track carried by an audio torrent of torrents.json, by track ID (first wins)."""
    listing_path = archive.torrents_dir / LISTING
    if not listing_path.exists():
        return {}
    out: dict[int, Place] = {}
    for t in read_listing(listing_path).torrents:
        if t.manifest is None or t.is_metadata:
            continue
        try:
            rows = read_manifest(archive.torrents_dir / t.manifest)
        except LongplayError as exc:
            log.warning("skipping manifest %s: %s", t.manifest, exc)
            continue
        for row in rows:
            if row.track_id is not None and row.track_id not in out:
                out[row.track_id] = Place(row.track_id, t.name, row.path, row.size, row.sha256)
    return out


class Torrent:
    """A torrent in the session and the files of it the cache wants."""

    def __init__(self, name: str, handle: Any, info: Any) -> None:
        self.name = name
        self.handle = handle
        files = layout(info)
        self.index = {files.file_path(i): i for i in range(files.num_files())}
        self.wanted: set[int] = set()
        self.readers = 0
        self.probing = False
        self.probe_file: int | None = None
        self.available: tuple[float, list[int]] = (-SEEN_TTL, [])  # when seen, counts
        self.observed = -AVAILABILITY_TTL


class SwarmCache:
    """ARCHIVE/cache/swarm/ for `Swarm` (which owns the session and the attributes below)."""

    archive: Archive
    cache_dir: Path
    index_path: Path
    cache_bytes: int
    _lock: threading.RLock
    _session: Any
    _torrents: dict[str, Torrent]
    _places: dict[int, Place] | None
    _played: dict[str, float]
    _verified: set[str]
    _mismatch: dict[str, int]

    def _torrent(self, name: str, want: tuple[str, ...] = ()) -> Torrent:
        raise NotImplementedError

    # -- the cache ------------------------------------------------------------------------
    def _read_index(self) -> dict[str, float]:
        try:
            doc = orjson.loads(self.index_path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return {}
        if not isinstance(doc, dict):
            return {}
        return {str(k): float(v) for k, v in doc.items() if isinstance(v, int | float)}

    def _write_index(self) -> None:
        with self._lock:
            doc = orjson.dumps(dict(sorted(self._played.items())))
        tmp = self.index_path.with_name(f".index.json.{os.getpid()}.{threading.get_ident()}")
        try:  # best effort: a lost play time only makes eviction less exact
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(doc)
            os.replace(tmp, self.index_path)
        except OSError as exc:  # a full or read-only disk must not take the server down
            log.warning("swarm cache: play times not saved: %s", exc)
            with contextlib.suppress(OSError):
                tmp.unlink()

    def cached_bytes(self) -> int:
        total = 0
        for rel in list(self._played):
            with contextlib.suppress(OSError):
                total += (self.cache_dir / rel).stat().st_blocks * 512
        return total

    def _check_finished(self) -> None:
        """Files complete in the cache: checked once against their manifest SHA-256."""
        with self._lock:
            torrents = list(self._torrents.values())
            known = self._places or {}
        by_rel = {f"{p.torrent}/{p.path}": p for p in known.values()}
        for t in torrents:
            progress = t.handle.file_progress()
            for rel, i in t.index.items():
                if i not in t.wanted or rel in self._verified:
                    continue
                place = by_rel.get(rel)
                if place is None or progress[i] < place.size:
                    continue
                digest = hashlib.sha256()
                with open(self.cache_dir / rel, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                if digest.hexdigest() == place.sha256:
                    self._verified.add(rel)
                    self._mismatch.pop(rel, None)
                    continue
                # The file on disk may lag libtorrent's report under load: only a mismatch
                # that lasts (three checks, PEER_RETRY apart) means the manifest disagrees.
                self._mismatch[rel] = self._mismatch.get(rel, 0) + 1
                if self._mismatch[rel] >= 3:
                    log.error("swarm: %s does not match its manifest SHA-256; removed", rel)
                    self._mismatch.pop(rel, None)
                    self._forget(t, rel)

    def is_verified(self, place: Place) -> bool:
        return f"{place.torrent}/{place.path}" in self._verified

    def _forget(self, t: Torrent, rel: str) -> None:
        """Drop ``rel`` from the cache: the torrent is re-added without it (re-checked)."""
        with self._lock:
            self._played.pop(rel, None)
            self._verified.discard(rel)
            self._torrents.pop(t.name, None)
            with contextlib.suppress(RuntimeError):
                self._session.remove_torrent(t.handle)
        # remove_torrent is asynchronous: wait until the handle is gone before deleting.
        deadline = time.monotonic() + 5
        while t.handle.is_valid() and time.monotonic() < deadline:
            time.sleep(0.02)
        with contextlib.suppress(FileNotFoundError):
            (self.cache_dir / rel).unlink()
        self._write_index()
        if any(r.startswith(f"{t.name}/") for r in self._played):
            self._torrent(t.name)  # keep seeding what is left of it

    def _evict(self, keep: str) -> None:
        """Least recently played first, until the cache fits its budget; never a file being
        read (its torrent has readers) nor ``keep``."""
        if self.cache_bytes <= 0:
            return
        while self.cached_bytes() > self.cache_bytes:
            with self._lock:
                busy = {n for n, t in self._torrents.items() if t.readers}
                victims = [
                    rel
                    for rel, _ in sorted(self._played.items(), key=lambda kv: kv[1])
                    if rel != keep and rel.partition("/")[0] not in busy
                ]
            if not victims:
                return
            rel = victims[0]
            t = self._torrents.get(rel.partition("/")[0])
            if t is None:
                with self._lock:
                    self._played.pop(rel, None)
                with contextlib.suppress(FileNotFoundError):
                    (self.cache_dir / rel).unlink()
                continue
            log.info("swarm cache: evicting %s", rel)
            self._forget(t, rel)
