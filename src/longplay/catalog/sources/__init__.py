"""Source adapters: each turns one kind of input into ingest units of flat track records.

The functions here are what the CLI calls: one per source, each a resumable ingest job.
"""

from __future__ import annotations

from pathlib import Path

from longplay.archive import Archive
from longplay.catalog import ingest
from longplay.catalog.ingest import IngestReport


def ingest_synthetic(archive: Archive, tracks: int, seed: int = 1) -> IngestReport:
    from longplay.catalog.sources import synthetic

    if tracks < 1:
        raise ValueError("--tracks must be at least 1")
    chunk = archive.settings.synthetic_chunk_tracks
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
