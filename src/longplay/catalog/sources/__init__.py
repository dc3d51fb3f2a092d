"""Source adapters: each turns one kind of input into ingest units of flat track records.

The functions here are what the CLI calls: one per source, each a resumable ingest job.
``rebuild_hook`` says how a source's stored records come back out of the catalog
(``longplay export source-records``); README.md lists the sources and how one plugs in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson

from longplay.archive import Archive
from longplay.catalog import ingest
from longplay.catalog.ingest import IngestReport
from longplay.errors import InputError, SettingsError


def ingest_synthetic(archive: Archive, tracks: int, seed: int = 1) -> IngestReport:
    from longplay.catalog.sources import synthetic

    if tracks < 1:
        raise InputError(f"tracks (--tracks) must be at least 1, not {tracks}")
    chunk = archive.settings.synthetic_chunk_tracks
    if chunk < 1:  # would divide by zero when cutting the catalog into chunks
        raise SettingsError(f"setting synthetic_chunk_tracks must be at least 1, not {chunk}")
    synthetic.check_arguments(seed, chunk)
    job = {"tracks": tracks, "seed": seed, "chunk_tracks": chunk}
    return ingest.run(archive, "synthetic", synthetic.units(tracks, seed, chunk), job)


def ingest_flat(archive: Archive, files: list[Path], source: str) -> IngestReport:
    from longplay.catalog.sources import readers

    units = [readers.flat_unit(Path(f), work_dir=archive.work_dir) for f in files]
    job = {"files": [readers.file_identity(Path(f)) for f in files]}
    return ingest.run(archive, source, units, job)


def ingest_tabular(archive: Archive, files: list[Path], mapping_path: Path) -> IngestReport:
    from longplay.catalog.sources import readers, tabular

    mapping = tabular.load_mapping(mapping_path)
    units = [tabular.unit(Path(f), mapping) for f in files]
    job = {
        "files": [readers.file_identity(Path(f)) for f in files],
        "mapping": Path(mapping_path).read_text(encoding="utf-8"),
    }
    return ingest.run(archive, mapping["source"]["name"], units, job)


# A rebuild hook: every record of one source (only ``kind``, when given) as a JSON value, in a
# stable order. A source that cuts its records into the tables (keeping a residual) names the
# function that puts them back together, as "module:function" so that exporting one source
# does not import every other; a source that stores whole records needs no entry.
Rebuild = Callable[[duckdb.DuckDBPyConnection, str | None], Iterator[Any]]
REBUILD_HOOKS = {"musicbrainz": "longplay.catalog.sources.musicbrainz.rebuild:rebuild"}


def stored_records(con: duckdb.DuckDBPyConnection, source: str, kind: str | None) -> Iterator[Any]:
    """The default hook: the records of ``source`` exactly as they were stored."""
    rows = con.execute(
        """SELECT record FROM source_records WHERE source = ? AND (? IS NULL OR kind = ?)
           ORDER BY kind, source_key""",
        [source, kind, kind],
    ).fetchall()
    return (orjson.loads(r[0]) for r in rows)


def rebuild_hook(source: str) -> Rebuild:
    """The function that rebuilds the records of ``source`` from a catalog connection."""
    target = REBUILD_HOOKS.get(source)
    if target is None:
        return lambda con, kind: stored_records(con, source, kind)
    module, name = target.split(":")
    hook: Rebuild = getattr(importlib.import_module(module), name)
    return hook
