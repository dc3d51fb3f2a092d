"""What the archive holds, as search sees it: a protocol the layers above implement.

Whether a file is held comes from the audio library and where a torrent carries it from pack's
manifests; both layers sit above search, so search only defines the questions it asks, and the
caller (the CLI, the server) passes ``longplay.pack.holdings.ArchiveHoldings`` in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Holdings(Protocol):
    def held_ids(self) -> Iterable[int]:
        """Track IDs the archive holds a file for."""
        ...

    def is_held(self, track_id: int) -> bool: ...

    def where(self, track_id: int) -> tuple[str, str] | None:
        """(torrent name, path inside it) of a torrent that carries the track, if any."""
        ...


class NoHoldings:
    """An archive that holds nothing and has published nothing."""

    def held_ids(self) -> Iterable[int]:
        return ()

    def is_held(self, track_id: int) -> bool:
        return False

    def where(self, track_id: int) -> tuple[str, str] | None:
        return None


class StaticHoldings:
    """Holdings given as a set and a map (tests, and callers that already know them)."""

    def __init__(self, held: Iterable[int] = (), where: dict[int, tuple[str, str]] | None = None):
        self._held = frozenset(int(x) for x in held)
        self._where = dict(where or {})

    def held_ids(self) -> Iterable[int]:
        return self._held

    def is_held(self, track_id: int) -> bool:
        return track_id in self._held

    def where(self, track_id: int) -> tuple[str, str] | None:
        return self._where.get(track_id)
