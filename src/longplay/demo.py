"""`longplay demo`: build a demo archive from built-in samples and show each stage's output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from longplay.archive import Archive
from longplay.catalog import sources
from longplay.catalog.export import export
from longplay.catalog.stats import catalog_stats, format_stats
from longplay.catalog.store import CatalogStore


def run_demo(directory: Path, tracks: int = 20_000, echo: Callable[[str], None] = print) -> Archive:
    archive = Archive.init(directory)
    echo(f"== archive {archive.root}")
    report = sources.ingest_synthetic(archive, tracks, seed=1)
    echo(f"== ingest synthetic --tracks {tracks}\n{report.summary()}")
    store = CatalogStore(archive)
    echo("== stats\n" + format_stats(catalog_stats(store)))
    paths = export(store, "sqlite", archive.release_dir / "catalog.sqlite")
    paths += export(store, "parquet", archive.release_dir / "parquet")
    echo(f"== export: {len(paths)} file(s) in {archive.release_dir}")
    return archive
