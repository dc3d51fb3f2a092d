"""MusicBrainz JSON dumps as a catalog source: ``ingest_musicbrainz`` and its parts.

Modules, in the order a document passes through them:

- ``dump``: archives, folders and files of the dump layout as streams of document lines;
- ``schema``: the documented keys of each document object, and how a bad value is described;
- ``columns``: the per-chunk columns a mapping fills;
- ``documents``: one document to flat track rows plus its residual (``Batch``);
- ``chunks``: a chunk of lines mapped to Arrow tables (``map_chunk``), the unit's input;
- ``ingest``: the chunks as resumable ingest units, and the ``source_records`` they keep;
- ``rebuild``: the inverse of ``documents``, for ``longplay export source-records``.
"""

from longplay.catalog.sources.musicbrainz.ingest import SOURCE, ingest_musicbrainz

__all__ = ["SOURCE", "ingest_musicbrainz"]
