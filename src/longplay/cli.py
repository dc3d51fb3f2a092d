"""The `longplay` command: each command parses its arguments and calls one library function.

Errors a user can act on (LongplayError) print one line and exit 1; `--debug` shows the trace.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from longplay import progress
from longplay.archive import Archive
from longplay.errors import LongplayError


class Context:
    def __init__(self, archive_dir: Path, quiet: bool, debug: bool):
        self.archive_dir = archive_dir
        self.quiet = quiet
        self.debug = debug

    def archive(self) -> Archive:
        return Archive.open(self.archive_dir)

    def echo(self, text: str = "") -> None:
        click.echo(text)


pass_ctx = click.make_pass_decorator(Context)


class Group(click.Group):
    """Turns LongplayError (and bad input files) into one clear line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (LongplayError, OSError) as exc:
            if ctx.find_object(Context) and ctx.find_object(Context).debug:  # type: ignore[union-attr]
                raise
            click.echo(f"longplay: error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("longplay: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if ctx.find_object(Context) and ctx.find_object(Context).debug:  # type: ignore[union-attr]
                raise
            click.echo(f"longplay: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                       " (run with --debug for the trace)", err=True)
            sys.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--archive", "archive_dir", type=click.Path(path_type=Path),
              envvar="LONGPLAY_ARCHIVE", default=".", show_default="$LONGPLAY_ARCHIVE or .",
              help="The archive directory.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option("--debug", is_flag=True, envvar="LONGPLAY_DEBUG", help="Show tracebacks on errors.")
@click.version_option(package_name="longplay")
@click.pass_context
def cli(ctx: click.Context, archive_dir: Path, quiet: bool, debug: bool) -> None:
    """Build, mirror and play an open music preservation archive.

    \b
    Example:
      longplay --archive /data/lp init /data/lp
      longplay --archive /data/lp ingest synthetic --tracks 100000
      longplay --archive /data/lp stats
    """
    progress.set_quiet(quiet)
    ctx.obj = Context(archive_dir, quiet, debug)


def main() -> None:
    cli(prog_name="longplay")


def _print_table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    for row in (headers, *rows):
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())


# ----------------------------------------------------------------------------------- archive
@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Create an archive directory (longplay.toml, catalog/, state.sqlite, rejects/, ...).

    \b
    Example:
      longplay init /data/longplay
    """
    archive = Archive.init(directory)
    click.echo(f"initialized archive {archive.root}")


@cli.command("settings")
@click.option("--markdown", is_flag=True, help="Print docs/settings.md (the generated reference).")
@pass_ctx
def settings_cmd(obj: Context, markdown: bool) -> None:
    """List every setting: name, value, where the value came from, and what it does.

    \b
    Example:
      LONGPLAY_TORRENT_VERSION=v1 longplay settings
    """
    from longplay import settings as settings_mod

    if markdown:
        click.echo(settings_mod.markdown(), nl=False)
        return
    toml = obj.archive_dir / "longplay.toml"
    resolved = settings_mod.load(toml if toml.exists() else None)
    for s in settings_mod.SETTINGS:
        click.echo(f"{s.name} = {resolved[s.name]!r}   [{resolved.origins[s.name]}]")
        extra = f" One of: {', '.join(s.choices)}." if s.choices else ""
        click.echo(f"    {s.help}{extra} Environment: LONGPLAY_{s.name.upper()}.")


@cli.command()
@click.option("--keep", type=int, default=None, help="Generations to keep (default: setting keep_generations).")
@pass_ctx
def gc(obj: Context, keep: int | None) -> None:
    """Prune old catalog generations, keeping the current one.

    \b
    Example:
      longplay gc --keep 1
    """
    from longplay.catalog.store import CatalogStore

    removed = CatalogStore(obj.archive()).gc(keep)
    click.echo(f"removed {len(removed)} generation(s)" + (f": {', '.join(removed)}" if removed else ""))


# ----------------------------------------------------------------------------------- catalog
@cli.group(cls=Group)
def ingest() -> None:
    """Ingest a source into a new catalog generation (resumable: rerun the same command)."""


@cli.group(cls=Group)
def export() -> None:
    """Export a release of the current catalog generation."""


def _report(obj: Context, report) -> None:  # type: ignore[no-untyped-def]
    click.echo(report.summary())


@ingest.command("synthetic")
@click.option("--tracks", type=int, required=True, help="Number of tracks to generate (1k to 256M).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed: the same seed gives the same catalog.")
@pass_ctx
def ingest_synthetic(obj: Context, tracks: int, seed: int) -> None:
    """Generate a realistic synthetic catalog and ingest it.

    \b
    Example:
      longplay ingest synthetic --tracks 1000000 --seed 7
    """
    from longplay.catalog import sources

    _report(obj, sources.ingest_synthetic(obj.archive(), tracks, seed))


@ingest.command("tabular")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--mapping", type=click.Path(path_type=Path), required=True,
              help="TOML mapping from the files' columns to catalog fields (docs/sources.md).")
@pass_ctx
def ingest_tabular(obj: Context, files: tuple[Path, ...], mapping: Path) -> None:
    """Ingest JSON-lines, CSV, Parquet or SQLite exports through a column mapping.

    \b
    Example:
      longplay ingest tabular label-a.csv label-b.parquet --mapping label.toml
    """
    from longplay.catalog import sources

    _report(obj, sources.ingest_tabular(obj.archive(), list(files), mapping))


@ingest.command("flat")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", "source_name", required=True, help="Source name (provenance of every record).")
@pass_ctx
def ingest_flat(obj: Context, files: tuple[Path, ...], source_name: str) -> None:
    """Ingest files of Longplay's flat track records (.jsonl or .parquet, docs/sources.md).

    \b
    Example:
      longplay synthetic out/ --tracks 100000 --format jsonl
      longplay ingest flat out/*.jsonl --source synthetic
    """
    from longplay.catalog import sources

    _report(obj, sources.ingest_flat(obj.archive(), list(files), source_name))


@cli.command("synthetic")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--tracks", type=int, required=True, help="Number of tracks.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl"]), default="parquet", show_default=True)
@click.option("--chunk-tracks", type=int, default=1_000_000, show_default=True, help="Tracks per file.")
def synthetic_cmd(out: Path, tracks: int, seed: int, fmt: str, chunk_tracks: int) -> None:
    """Write a synthetic catalog as flat-record files (streamed, bounded memory).

    \b
    Example:
      longplay synthetic /tmp/cat --tracks 10000000 --format jsonl
    """
    from longplay.catalog.sources import synthetic

    paths = synthetic.write(out, tracks, seed, fmt, chunk_tracks)
    click.echo(f"wrote {tracks:,} tracks in {len(paths)} file(s) to {out}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def stats(obj: Context, as_json: bool) -> None:
    """Catalog statistics: tracks, unique ISRCs, artists, albums, popularity histogram.

    \b
    Example:
      longplay stats --json
    """
    import json

    from longplay.catalog.stats import catalog_stats, format_stats
    from longplay.catalog.store import CatalogStore

    s = catalog_stats(CatalogStore(obj.archive()))
    click.echo(json.dumps(s, indent=2) if as_json else format_stats(s))


@export.command("sqlite")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--zstd", "zstd_file", is_flag=True, help="Also write OUT.zst, zstd-compressed.")
@pass_ctx
def export_sqlite_cmd(obj: Context, out: Path, zstd_file: bool) -> None:
    """Export the current generation as one SQLite database with indexes.

    \b
    Example:
      longplay export sqlite release/catalog.sqlite --zstd
    """
    from longplay.catalog.export import export as do_export
    from longplay.catalog.store import CatalogStore

    for path in do_export(CatalogStore(obj.archive()), "sqlite", out, zstd_file=zstd_file):
        click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


@export.command("parquet")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--compression", type=click.Choice(["zstd", "snappy", "none"]), default=None,
              help="Parquet compression (default: setting export_compression).")
@pass_ctx
def export_parquet_cmd(obj: Context, out: Path, compression: str | None) -> None:
    """Export the current generation as one Parquet file per table.

    \b
    Example:
      longplay export parquet release/parquet
    """
    from longplay.catalog.export import export as do_export
    from longplay.catalog.store import CatalogStore

    archive = obj.archive()
    paths = do_export(CatalogStore(archive), "parquet", out, compression or archive.settings.export_compression)
    click.echo(f"wrote {len(paths)} tables to {out} ({sum(p.stat().st_size for p in paths):,} bytes)")


# ------------------------------------------------------------------------------------- audio
@cli.group(cls=Group)
def audio() -> None:
    """Work on single audio files: tag, restore, transcode."""


# ------------------------------------------------------------------------------ plan & pack
@cli.command("coverage")
@click.option("--png", type=click.Path(path_type=Path), default=None,
              help="Also draw the coverage plot (share of listens against files and bytes kept).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def coverage_cmd(obj: Context, png: Path | None, as_json: bool) -> None:
    """How many files and bytes cover what share of all listens (ISRC/MBID dedup).

    \b
    Example:
      longplay coverage --png coverage.png
    """
    from longplay.plan.coverage import coverage

    rep = coverage(obj.archive(), png)
    click.echo(rep.to_json() if as_json else rep.format())
    if png is not None and not as_json:
        click.echo(f"plot: {png}")


def _size_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    from longplay.settings import parse_size

    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command("plan")
@click.option("--budget", required=True, callback=_size_option,
              help="Bytes the archive may take, e.g. 300TB, 2TiB, 512GB.")
@click.option("--exclude", "exclude", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Exclusion list: one 'isrc:|mbid:|artist:|album:VALUE  reason' a line.")
@click.option("--license", "licenses", default=None,
              help="Keep only tracks under these licenses, comma-separated (e.g. cc-by-4.0,cc0).")
@click.option("--allow-unknown-license", is_flag=True, help="With --license: also keep tracks of unknown license.")
@click.option("--available-only", is_flag=True, help="Plan only recordings with a scanned file.")
@click.option("--opus-bitrate", callback=_size_option, default=None,
              help="Bitrate of Opus re-encodes, e.g. 75k (default: setting opus_bitrate).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def plan_cmd(obj: Context, budget: int, exclude: Path | None, licenses: str | None,
             allow_unknown_license: bool, available_only: bool, opus_bitrate: int | None,
             as_json: bool) -> None:
    """Decide for every recording: keep the original, an Opus re-encode, or skip (to fit a budget).

    Writes the plan into a new catalog generation (tables plan, plan_summary; docs/plan.md).
    Resumable: rerun the same command after an interruption.

    \b
    Example:
      longplay plan --budget 300TB
      longplay plan --budget 2TB --exclude takedowns.txt --license cc-by-4.0,cc0
    """
    from longplay.plan.planner import make_plan

    rep = make_plan(obj.archive(), budget, exclusions_path=exclude,
                    licenses=None if licenses is None else licenses.split(","),
                    allow_unknown_license=allow_unknown_license, available_only=available_only,
                    opus_bitrate=opus_bitrate)
    click.echo(rep.to_json() if as_json else rep.format())


# ------------------------------------------------------------------------------------ mirror
@cli.group(cls=Group)
def mirror() -> None:
    """A mirror operator's side: choose torrents under a budget, verify them."""




# -------------------------------------------------------------------------------------- demo
@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--tracks", type=int, default=20_000, show_default=True, help="Synthetic catalog size.")
@click.option("--no-serve", is_flag=True, help="Build the demo archive only (the server comes later).")
def demo(directory: Path, tracks: int, no_serve: bool) -> None:
    """Build a demo archive from the built-in sample and show what Longplay does with it.

    \b
    Example:
      longplay demo /tmp/longplay-demo --no-serve
    """
    from longplay.demo import run_demo

    run_demo(directory, tracks=tracks, echo=click.echo)
