"""The archive's analysis results for search: tempo and key of every analyzed catalog track.

Implements ``longplay.search.features.TrackFeatures`` from the audio layer's analysis store
(``longplay analyze``): a track's features are those of its held file's audio, found through
``audio.trackanalysis.payload_tracks``. Read once per index build, in one query per table.
"""

from __future__ import annotations

from collections.abc import Iterable

from longplay.archive import Archive
from longplay.audio.analysisdb import AnalysisStore
from longplay.audio.trackanalysis import payload_tracks


class ArchiveFeatures:
    def __init__(self, archive: Archive):
        self.archive = archive

    def rhythm(self) -> Iterable[tuple[int, float | None, str | None, str | None]]:
        store = AnalysisStore(self.archive, create=False)
        if not store.exists:
            store.close()
            return []
        with store:
            by_payload = payload_tracks(self.archive, store)
            features = store.features(by_payload)
        return [
            (track, f.bpm, f.key, f.mode)
            for payload, track in sorted(by_payload.items(), key=lambda x: x[1])
            if (f := features.get(payload)) is not None
        ]
