"""The archive's holdings for search: held tracks from the library, torrent places from manifests.

Implements ``longplay.search.holdings.Holdings``. A track is held when a scanned file matched it
unambiguously (``library_files``); a track not held may still be carried by a published torrent,
found through each torrent's manifest (the path inside the torrent).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from longplay.archive import Archive
from longplay.audio.library import LibraryStore
from longplay.pack.listing import read_listing, read_manifest
from longplay.pack.publish import LISTING


class ArchiveHoldings:
    def __init__(self, archive: Archive):
        self.archive = archive

    @cached_property
    def _held(self) -> frozenset[int]:
        if not self.archive.library_path.exists():
            return frozenset()
        with LibraryStore(self.archive, read_only=True) as lib:
            rows = lib.con.execute("SELECT DISTINCT track_id FROM library_files").fetchall()
        return frozenset(int(r[0]) for r in rows)

    @cached_property
    def _places(self) -> dict[int, tuple[str, str]]:
        listing_path = self.archive.torrents_dir / LISTING
        if not listing_path.exists():
            return {}
        places: dict[int, tuple[str, str]] = {}
        for t in read_listing(listing_path).torrents:
            if t.manifest is None or t.is_metadata:
                continue
            for row in read_manifest(self.archive.torrents_dir / t.manifest):
                if row.track_id is not None:
                    places.setdefault(row.track_id, (t.name, row.path))
        return places

    def held_ids(self) -> Iterable[int]:
        return self._held

    def is_held(self, track_id: int) -> bool:
        return track_id in self._held

    def where(self, track_id: int) -> tuple[str, str] | None:
        return self._places.get(track_id)
