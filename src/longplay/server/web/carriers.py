"""Which torrent carries a track: an index of the torrents' manifests, for not-held songs.

A song the archive holds no file for can still be in a published torrent; the player says which
one, so a listener knows what to fetch. The manifests map paths to track IDs; reading them all
takes minutes at 10M tracks, so the map is built once per set of manifests into a small SQLite
file under ``ARCHIVE/cache/web/`` (named by the manifests' times and sizes, so a new pack makes
a new index and the old one is removed) and then answered by primary key.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

from longplay.archive import Archive
from longplay.errors import LongplayError

log = logging.getLogger("longplay.server")
SUFFIX = ".manifest.jsonl"
MAX_IDS = 500


class Carriers:
    def __init__(self, archive: Archive):
        self.archive = archive
        self._lock = threading.Lock()
        self._local = threading.local()

    def _stamp(self) -> tuple[str, list[Path]] | None:
        manifests = sorted(self.archive.torrents_dir.glob("*" + SUFFIX))
        if not manifests:
            return None
        h = hashlib.sha256()
        for m in manifests:
            st = m.stat()
            h.update(f"{m.name}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
        return h.hexdigest()[:16], manifests

    def _build(self, path: Path, manifests: list[Path]) -> None:
        from longplay.pack.listing import read_manifest

        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.execute("CREATE TABLE carrier (track_id INTEGER PRIMARY KEY, torrent TEXT)")
            for manifest in manifests:
                torrent = manifest.name.removesuffix(SUFFIX)
                try:
                    rows = read_manifest(manifest)
                except LongplayError as exc:
                    log.warning("carriers: skipping %s: %s", manifest.name, exc)
                    continue
                con.executemany(
                    "INSERT OR IGNORE INTO carrier VALUES (?, ?)",
                    ((r.track_id, torrent) for r in rows if r.track_id is not None),
                )
            con.commit()
        finally:
            con.close()
        os.replace(tmp, path)  # readers see a whole index or none
        for old in path.parent.glob("carriers-*.sqlite"):
            if old != path:
                old.unlink(missing_ok=True)

    def _index(self) -> Path | None:
        found = self._stamp()
        if found is None:
            return None
        stamp, manifests = found
        path = self.archive.root / "cache" / "web" / f"carriers-{stamp}.sqlite"
        if not path.exists():
            with self._lock:  # one build at a time; the others wait and then read it
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self._build(path, manifests)
        return path

    def lookup(self, track_ids: list[int]) -> dict[int, str]:
        """track ID -> name of the torrent carrying it, for the IDs some torrent carries."""
        path = self._index()
        if path is None or not track_ids:
            return {}
        ids = track_ids[:MAX_IDS]
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            marks = ",".join("?" * len(ids))
            rows = con.execute(
                f"SELECT track_id, torrent FROM carrier WHERE track_id IN ({marks})", ids
            ).fetchall()
        return {int(t): str(name) for t, name in rows}
