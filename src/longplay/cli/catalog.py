"""Catalog commands: ingest sources, stats, dedup, export releases, write synthetic files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from longplay.cli._common import Command, Context, Group, pass_ctx


@click.group(cls=Group)
def ingest() -> None:
    """Ingest a source into a new catalog generation (resumable: rerun the same command)."""


@ingest.command("synthetic")
@click.option(
    "--tracks", type=int, required=True, help="Number of tracks to generate (1k to 256M)."
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Seed: the same seed gives the same catalog.",
)
@pass_ctx
def ingest_synthetic(obj: Context, tracks: int, seed: int) -> None:
    """Generate a realistic synthetic catalog and ingest it.

    \b
    Example:
      longplay ingest synthetic --tracks 1000000 --seed 7
    """
    from longplay.catalog import sources

    click.echo(sources.ingest_synthetic(obj.archive(), tracks, seed).summary())


@ingest.command("tabular")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--mapping",
    type=click.Path(path_type=Path),
    required=True,
    help="TOML mapping from the files' columns to catalog fields (docs/sources.md).",
)
@pass_ctx
def ingest_tabular(obj: Context, files: tuple[Path, ...], mapping: Path) -> None:
    """Ingest JSON-lines, CSV, Parquet or SQLite exports through a column mapping.

    \b
    Example:
      longplay ingest tabular label-a.csv label-b.parquet --mapping label.toml
    """
    from longplay.catalog import sources

    click.echo(sources.ingest_tabular(obj.archive(), list(files), mapping).summary())


@ingest.command("flat")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--source", "source_name", required=True, help="Source name (provenance of every record)."
)
@pass_ctx
def ingest_flat(obj: Context, files: tuple[Path, ...], source_name: str) -> None:
    """Ingest files of Longplay's flat track records (.jsonl or .parquet, docs/sources.md).

    \b
    Example:
      longplay synthetic out/ --tracks 100000 --format jsonl
      longplay ingest flat out/*.jsonl --source synthetic
    """
    from longplay.catalog import sources

    click.echo(sources.ingest_flat(obj.archive(), list(files), source_name).summary())


@ingest.command("musicbrainz")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["artist", "release", "release-group", "recording"]),
    default=None,
    help="Entity of plain JSON-lines files (default: from the file name or its first document).",
)
@pass_ctx
def ingest_musicbrainz(obj: Context, paths: tuple[Path, ...], kind: str | None) -> None:
    """Ingest MusicBrainz JSON dumps: ENTITY.tar.xz archives (read as a stream), dump folders,
    or JSON-lines files of artist, release, release-group or recording documents.

    \b
    Example:
      longplay ingest musicbrainz /data/mb/release.tar.xz /data/mb/artist.tar.xz
      longplay ingest musicbrainz /data/mb/          # every ENTITY.tar.xz in the folder
      longplay ingest musicbrainz sample.jsonl --kind release
    """
    from longplay.catalog.sources.musicbrainz import ingest_musicbrainz as run

    click.echo(run(obj.archive(), list(paths), kind).summary())


@ingest.command("listenbrainz")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def ingest_listenbrainz(obj: Context, files: tuple[Path, ...]) -> None:
    """Join ListenBrainz recording popularity statistics (recording MBID, total listen count,
    total user count; CSV, JSON lines or Parquet) onto the catalog's tracks.

    \b
    Example:
      longplay ingest listenbrainz recording-popularity.parquet
    """
    from longplay.catalog.sources.listenbrainz import ingest_listenbrainz as run

    click.echo(run(obj.archive(), list(files)).summary())


@ingest.command("release")
@click.argument("path", type=click.Path(path_type=Path))
@pass_ctx
def ingest_release(obj: Context, path: Path) -> None:
    """Import a published release (the metadata torrent's catalog: SQLite, .sqlite.zst or a
    Parquet folder) as the catalog, keeping the publisher's IDs.

    \b
    Example:
      longplay ingest release mirror/files/longplay-metadata
      longplay ingest release release/catalog.sqlite.zst
    """
    from longplay.catalog.sources.release import ingest_release as run

    click.echo(run(obj.archive(), path).summary())


@click.command(cls=Command)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def stats(obj: Context, as_json: bool) -> None:
    """Catalog statistics: tracks, unique ISRCs, artists, albums, popularity histogram.

    \b
    Example:
      longplay stats --json
    """
    from longplay.catalog.stats import catalog_stats, format_stats
    from longplay.catalog.store import CatalogStore

    s = catalog_stats(CatalogStore(obj.archive()))
    click.echo(json.dumps(s, indent=2) if as_json else format_stats(s))


@click.command(cls=Command)
@click.option(
    "--top", type=int, default=10, show_default=True, help="How many of the largest groups to list."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def dedup(obj: Context, top: int, as_json: bool) -> None:
    """Group recordings by shared ISRC and MusicBrainz ID, mark a canonical track per group
    (a new generation), and report the groups.

    \b
    Example:
      longplay dedup --top 20
    """
    from longplay.catalog.dedup import dedup as run_dedup
    from longplay.catalog.dedup import format_report

    report = run_dedup(obj.archive(), top)
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


@click.group(cls=Group)
def export() -> None:
    """Export a release of the current catalog generation."""


@export.command("source-records")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--source",
    "source_name",
    required=True,
    help="Source whose records to rebuild, e.g. musicbrainz.",
)
@click.option("--kind", default=None, help="Only records of this kind (e.g. release, artist).")
@pass_ctx
def export_source_records(obj: Context, out: Path, source_name: str, kind: str | None) -> None:
    """Rebuild a source's records from the catalog as JSON lines (equal to the ingested documents).

    \b
    Example:
      longplay export source-records --source musicbrainz release/musicbrainz.jsonl
    """
    from longplay.catalog.source_records import export_source_records as run
    from longplay.catalog.store import CatalogStore

    n = run(CatalogStore(obj.archive()), source_name, out, kind)
    click.echo(f"wrote {n:,} {source_name} records to {out}")


@export.command("sqlite")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--zstd", "zstd_file", is_flag=True, help="Also write OUT.zst, zstd-compressed.")
@pass_ctx
def export_sqlite(obj: Context, out: Path, zstd_file: bool) -> None:
    """Export the current generation as one SQLite database with indexes.

    \b
    Example:
      longplay export sqlite release/catalog.sqlite --zstd
    """
    from longplay.catalog.export import export as run
    from longplay.catalog.store import CatalogStore

    for path in run(CatalogStore(obj.archive()), "sqlite", out, zstd_file=zstd_file):
        click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


@export.command("parquet")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--compression",
    type=click.Choice(["zstd", "snappy", "none"]),
    default=None,
    help="Parquet compression (default: setting export_compression).",
)
@pass_ctx
def export_parquet(obj: Context, out: Path, compression: str | None) -> None:
    """Export the current generation as one Parquet file per table.

    \b
    Example:
      longplay export parquet release/parquet
    """
    from longplay.catalog.export import export as run
    from longplay.catalog.store import CatalogStore

    archive = obj.archive()
    paths = run(
        CatalogStore(archive), "parquet", out, compression or archive.settings.export_compression
    )
    total = sum(p.stat().st_size for p in paths)
    click.echo(f"wrote {len(paths)} tables to {out} ({total:,} bytes)")


@click.command(cls=Command)
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--tracks", type=int, required=True, help="Number of tracks.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
)
@click.option(
    "--chunk-tracks", type=int, default=1_000_000, show_default=True, help="Tracks per file."
)
def synthetic(out: Path, tracks: int, seed: int, fmt: str, chunk_tracks: int) -> None:
    """Write a synthetic catalog as flat-record files (streamed, bounded memory).

    \b
    Example:
      longplay synthetic /tmp/cat --tracks 10000000 --format jsonl
    """
    from longplay.catalog.sources import synthetic as generator

    paths = generator.write(out, tracks, seed, fmt, chunk_tracks)
    click.echo(f"wrote {tracks:,} tracks in {len(paths)} file(s) to {out}")
