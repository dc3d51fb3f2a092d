"""The `longplay` command: each command parses its arguments and calls one library function.

Errors a user can act on (LongplayError) print one line and exit 1; `--debug` shows the trace.
"""

from __future__ import annotations

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
            click.echo(
                f"longplay: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                " (run with --debug for the trace)",
                err=True,
            )
            sys.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(path_type=Path),
    envvar="LONGPLAY_ARCHIVE",
    default=".",
    show_default="$LONGPLAY_ARCHIVE or .",
    help="The archive directory.",
)
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
@click.option(
    "--keep",
    type=int,
    default=None,
    help="Generations to keep (default: setting keep_generations).",
)
@pass_ctx
def gc(obj: Context, keep: int | None) -> None:
    """Prune old catalog generations, keeping the current one.

    \b
    Example:
      longplay gc --keep 1
    """
    from longplay.catalog.store import CatalogStore

    removed = CatalogStore(obj.archive()).gc(keep)
    click.echo(
        f"removed {len(removed)} generation(s)" + (f": {', '.join(removed)}" if removed else "")
    )


# ----------------------------------------------------------------------------------- catalog
@cli.group(cls=Group)
def ingest() -> None:
    """Ingest a source into a new catalog generation (resumable: rerun the same command)."""


@cli.group(cls=Group)
def export() -> None:
    """Export a release of the current catalog generation."""


def _report(obj: Context, report) -> None:
    click.echo(report.summary())


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

    _report(obj, sources.ingest_synthetic(obj.archive(), tracks, seed))


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

    _report(obj, sources.ingest_tabular(obj.archive(), list(files), mapping))


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

    _report(obj, sources.ingest_flat(obj.archive(), list(files), source_name))


@ingest.command("musicbrainz")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["artist", "release", "release-group", "recording"]),
    default=None,
    help="Entity of plain JSON-lines files (default: from the file name or its first document).",
)
@pass_ctx
def ingest_musicbrainz_cmd(obj: Context, paths: tuple[Path, ...], kind: str | None) -> None:
    """Ingest MusicBrainz JSON dumps: ENTITY.tar.xz archives (read as a stream), dump folders,
    or JSON-lines files of artist, release, release-group or recording documents.

    \b
    Example:
      longplay ingest musicbrainz /data/mb/release.tar.xz /data/mb/artist.tar.xz
      longplay ingest musicbrainz /data/mb/          # every ENTITY.tar.xz in the folder
      longplay ingest musicbrainz sample.jsonl --kind release
    """
    from longplay.catalog.sources.musicbrainz import ingest_musicbrainz

    _report(obj, ingest_musicbrainz(obj.archive(), list(paths), kind))


@ingest.command("listenbrainz")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def ingest_listenbrainz_cmd(obj: Context, files: tuple[Path, ...]) -> None:
    """Join ListenBrainz recording popularity statistics (recording MBID, total listen count,
    total user count; CSV, JSON lines or Parquet) onto the catalog's tracks.

    \b
    Example:
      longplay ingest listenbrainz recording-popularity.parquet
    """
    from longplay.catalog.sources.listenbrainz import ingest_listenbrainz

    click.echo(ingest_listenbrainz(obj.archive(), list(files)).summary())


@cli.command()
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
    import json

    from longplay.catalog.dedup import dedup as run_dedup
    from longplay.catalog.dedup import format_report

    report = run_dedup(obj.archive(), top)
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


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
def export_source_records_cmd(obj: Context, out: Path, source_name: str, kind: str | None) -> None:
    """Rebuild a source's records from the catalog as JSON lines (equal to the ingested documents).

    \b
    Example:
      longplay export source-records --source musicbrainz release/musicbrainz.jsonl
    """
    from longplay.catalog.source_records import export_source_records
    from longplay.catalog.store import CatalogStore

    n = export_source_records(CatalogStore(obj.archive()), source_name, out, kind)
    click.echo(f"wrote {n:,} {source_name} records to {out}")


@cli.command("synthetic")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--tracks", type=int, required=True, help="Number of tracks.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["parquet", "jsonl"]), default="parquet", show_default=True
)
@click.option(
    "--chunk-tracks", type=int, default=1_000_000, show_default=True, help="Tracks per file."
)
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
@click.option(
    "--compression",
    type=click.Choice(["zstd", "snappy", "none"]),
    default=None,
    help="Parquet compression (default: setting export_compression).",
)
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
    paths = do_export(
        CatalogStore(archive), "parquet", out, compression or archive.settings.export_compression
    )
    click.echo(
        f"wrote {len(paths)} tables to {out} ({sum(p.stat().st_size for p in paths):,} bytes)"
    )


# ------------------------------------------------------------------------------------- audio
@cli.command()
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--report", is_flag=True, help="Then list files that matched no track, or several.")
@click.option(
    "--workers", type=int, default=None, help="Worker processes (default: setting workers)."
)
@click.option("--no-decode", is_flag=True, help="Demux only: faster, no corrupt-frame check.")
@pass_ctx
def scan(
    obj: Context, dirs: tuple[Path, ...], report: bool, workers: int | None, no_decode: bool
) -> None:
    """Scan folders of audio files into the library and match them to catalog tracks.

    Unchanged files (same size, mtime and inode) are skipped on a rescan; moved, changed and
    deleted files are noticed. Bad files are rejected with a reason and the scan goes on.
    With --report and no DIRS, only prints the report of the last scans.

    \b
    Example:
      longplay scan ~/Music /mnt/more-music
      longplay scan --report
    """
    from longplay.audio import match as match_mod
    from longplay.audio.scan import scan as scan_dirs

    archive = obj.archive()
    if dirs:
        s = scan_dirs(archive, list(dirs), workers=workers, decode=False if no_decode else None)
        click.echo(
            f"scanned {s.walked} files in {s.seconds:.1f} s ({s.files_per_second:.0f} files/s): "
            f"{s.unchanged} unchanged, {s.new} new, {s.changed} changed, {s.moved} moved, "
            f"{s.deleted} deleted"
        )
        click.echo(
            f"examined {s.examined}: kept {s.kept}, rejected {s.rejected}, ignored {s.ignored} "
            f"(not audio); {s.value_problems} tag values dropped"
        )
        m = s.match
        if m is not None and m.generation is not None:
            methods = ", ".join(f"{k} {v}" for k, v in sorted(m.by_method.items())) or "none"
            click.echo(
                f"matched against catalog generation {m.generation}: {methods}; "
                f"{m.unmatched} unmatched, {m.ambiguous} ambiguous"
            )
        elif m is not None:
            click.echo(m.note)
        if s.rejects_log:
            click.echo(f"rejects: {s.rejects_log}")
    elif not report:
        raise click.UsageError("give one or more folders to scan, or --report")
    if report:
        r = match_mod.report(archive)
        c = r.counts
        click.echo(
            f"library: {c['files']} files, {c['matched']} matched, {c['unmatched']} unmatched, "
            f"{c['ambiguous']} ambiguous, {c['not_matched_yet']} not matched yet (no catalog); "
            f"{c['rejected']} rejected, {c['ignored']} ignored"
        )
        for title, rows in (("unmatched", r.unmatched), ("ambiguous", r.ambiguous)):
            click.echo(f"\n{title} ({len(rows)}):")
            _print_table(
                [
                    (
                        row["file"],
                        row["title"] or "",
                        ", ".join(row["artists"] or []),
                        row["isrc"] or "",
                        row["duration_ms"],
                        row["match_candidates"] or "",
                    )
                    for row in rows
                ],
                ("file", "title", "artists", "isrc", "ms", "candidates"),
            )


@cli.group(cls=Group)
def audio() -> None:
    """Work on single audio files: tag, restore, transcode; make sample clips."""


@audio.command("tag")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--track", "track_id", type=int, required=True, help="Catalog track ID whose metadata to write."
)
@click.option(
    "--restore-data",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the restore data (default: OUT.lprestore).",
)
@pass_ctx
def audio_tag(
    obj: Context, file: Path, out: Path, track_id: int, restore_data: Path | None
) -> None:
    """Write a copy of FILE tagged with a catalog track's metadata, without re-encoding.

    Also writes the restore data that turns OUT back into FILE byte for byte.

    \b
    Example:
      longplay audio tag song.flac --track 123456789 tagged.flac
      longplay audio restore tagged.flac original.flac
    """
    from longplay.audio.tagging import catalog_tags, tag_copy
    from longplay.catalog.store import CatalogStore

    with CatalogStore(obj.archive()).read() as con:
        tags = catalog_tags(con, track_id)
    blob = tag_copy(file, out, tags)
    target = restore_data or out.with_name(out.name + ".lprestore")
    target.write_bytes(blob)
    click.echo(f"wrote {out} ({tags.title!r}) and {target} ({len(blob)} bytes)")


@audio.command("restore")
@click.argument("tagged", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--restore-data",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="The restore data (default: TAGGED.lprestore).",
)
def audio_restore(tagged: Path, out: Path, restore_data: Path | None) -> None:
    """Rebuild the original of a tagged file, checked against the original's SHA-256.

    \b
    Example:
      longplay audio restore tagged.flac original.flac
    """
    from longplay.audio.tagging import restore

    source = restore_data or tagged.with_name(tagged.name + ".lprestore")
    if not source.is_file():
        raise LongplayError(f"{source}: no restore data (give --restore-data)")
    sha = restore(tagged, source.read_bytes(), out)
    click.echo(f"restored {out} (sha256 {sha})")


@audio.command("transcode")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--opus",
    "bitrate",
    default=None,
    help="Opus bitrate, e.g. 75k (default: setting opus_bitrate).",
)
@pass_ctx
def audio_transcode(obj: Context, file: Path, out: Path, bitrate: str | None) -> None:
    """Re-encode FILE as Ogg Opus, carrying its tags over.

    \b
    Example:
      longplay audio transcode song.flac song.opus --opus 75k
    """
    from longplay import settings as settings_mod
    from longplay.audio.transcode import transcode_opus

    if bitrate is None:
        toml = obj.archive_dir / "longplay.toml"
        bits = int(settings_mod.load(toml if toml.exists() else None).opus_bitrate)
    else:
        try:
            bits = settings_mod.parse_size(bitrate)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--opus") from None
    r = transcode_opus(file, out, bits)
    click.echo(f"wrote {out}: {r.seconds:.2f} s of Opus at {bits // 1000} kbit/s")


@audio.command("samples")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--count", type=int, default=20, show_default=True, help="Number of clips.")
@click.option("--seconds", type=float, default=3.0, show_default=True, help="Length of each clip.")
@click.option(
    "--formats", default="flac,ogg,opus,mp3,m4a", show_default=True, help="Formats to use in turn."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Which set of clips.")
def audio_samples(out: Path, count: int, seconds: float, formats: str, seed: int) -> None:
    """Generate deterministic tagged sample clips (and catalog.jsonl describing them).

    \b
    Example:
      longplay audio samples demo-music --count 50
      longplay --archive lp ingest jsonl demo-music/catalog.jsonl
    """
    from longplay.audio.samples import generate

    paths = generate(
        out,
        count,
        seed=seed,
        seconds=seconds,
        formats=[f.strip() for f in formats.split(",") if f.strip()],
    )
    click.echo(f"wrote {len(paths)} clips and {out / 'catalog.jsonl'}")


# ------------------------------------------------------------------------------ plan & pack
@cli.command("coverage")
@click.option(
    "--png",
    type=click.Path(path_type=Path),
    default=None,
    help="Also draw the coverage plot (share of listens against files and bytes kept).",
)
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
@click.option(
    "--budget",
    required=True,
    callback=_size_option,
    help="Bytes the archive may take, e.g. 300TB, 2TiB, 512GB.",
)
@click.option(
    "--exclude",
    "exclude",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Exclusion list: one 'isrc:|mbid:|artist:|album:VALUE  reason' a line.",
)
@click.option(
    "--license",
    "licenses",
    default=None,
    help="Keep only tracks under these licenses, comma-separated (e.g. cc-by-4.0,cc0).",
)
@click.option(
    "--allow-unknown-license",
    is_flag=True,
    help="With --license: also keep tracks of unknown license.",
)
@click.option("--available-only", is_flag=True, help="Plan only recordings with a scanned file.")
@click.option(
    "--opus-bitrate",
    callback=_size_option,
    default=None,
    help="Bitrate of Opus re-encodes, e.g. 75k (default: setting opus_bitrate).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def plan_cmd(
    obj: Context,
    budget: int,
    exclude: Path | None,
    licenses: str | None,
    allow_unknown_license: bool,
    available_only: bool,
    opus_bitrate: int | None,
    as_json: bool,
) -> None:
    """Decide for every recording: keep the original, an Opus re-encode, or skip (to fit a budget).

    Writes the plan into a new catalog generation (tables plan, plan_summary; docs/plan.md).
    Resumable: rerun the same command after an interruption.

    \b
    Example:
      longplay plan --budget 300TB
      longplay plan --budget 2TB --exclude takedowns.txt --license cc-by-4.0,cc0
    """
    from longplay.plan.planner import make_plan

    rep = make_plan(
        obj.archive(),
        budget,
        exclusions_path=exclude,
        licenses=None if licenses is None else licenses.split(","),
        allow_unknown_license=allow_unknown_license,
        available_only=available_only,
        opus_bitrate=opus_bitrate,
    )
    click.echo(rep.to_json() if as_json else rep.format())


@cli.command("build")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes (default: setting workers, else one per core).",
)
@pass_ctx
def build_cmd(obj: Context, workers: int | None) -> None:
    """Materialize the plan: tag originals without re-encoding, re-encode the tail to Opus.

    Resumable: a rerun skips files already built from the same inputs.

    \b
    Example:
      longplay build --workers 8
    """
    from longplay.pack.build import build

    click.echo(build(obj.archive(), workers).text())


@cli.command("pack")
@pass_ctx
def pack_cmd(obj: Context) -> None:
    """Lay built files out into torrents by tier; write torrents, manifests, torrents.json.

    \b
    Example:
      LONGPLAY_TORRENT_VERSION=v1 longplay pack
    """
    from longplay.pack.publish import pack

    archive = obj.archive()
    summary = pack(archive)
    click.echo(summary.table())
    click.echo(
        f"wrote {len(summary.torrents)} torrents and {archive.torrents_dir / 'torrents.json'}"
    )


# ------------------------------------------------------------------------------------ mirror
@cli.group(cls=Group)
def mirror() -> None:
    """A mirror operator's side: choose torrents under a budget, verify them."""


def _bytes_text(n: float) -> str:
    for scale, unit in ((1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"


@mirror.command("plan")
@click.option(
    "--torrents",
    "torrents_json",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="torrents.json to choose from (default: ARCHIVE/torrents/torrents.json).",
)
@click.option("--budget", required=True, help="Disk budget, e.g. 2TB, 500GB, 1.5TiB.")
@click.option(
    "--prefer",
    type=click.Choice(["coverage", "least-seeded"]),
    default="coverage",
    show_default=True,
    help="Listens covered per byte, or least-seeded first (needs --stats).",
)
@click.option(
    "--stats",
    "stats_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Seeder statistics JSON: info-hash -> {seeders, leechers, completed}.",
)
@pass_ctx
def mirror_plan(
    obj: Context, torrents_json: Path | None, budget: str, prefer: str, stats_path: Path | None
) -> None:
    """Choose the torrents that fit a disk budget; store the choice in ARCHIVE/mirror.json.

    Works from torrents.json alone (no catalog needed). Metadata torrents come first.

    \b
    Example:
      longplay --archive /data/mirror mirror plan --torrents torrents.json --budget 2TB
      longplay --archive /data/mirror mirror plan --budget 500GB --prefer least-seeded --stats seeders.json
    """
    from longplay.mirror.choose import plan_mirror
    from longplay.settings import parse_size

    try:
        budget_bytes = parse_size(budget)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--budget") from None
    plan = plan_mirror(obj.archive_dir, torrents_json, budget_bytes, prefer, stats_path)
    _print_table(
        [
            (t.name, t.tier, _bytes_text(t.data_size), f"{100 * t.listens_share:.3f}%")
            for t in plan.chosen
        ],
        ("torrent", "tier", "size", "listens"),
    )
    click.echo(
        f"chose {len(plan.chosen)} torrent(s): {_bytes_text(plan.size)} ({plan.size} bytes) "
        f"of a {_bytes_text(budget_bytes)} budget, covering "
        f"{100 * plan.listens_share:.2f}% of listens (by {prefer})"
    )


@mirror.command("verify")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), required=False)
@click.option("--workers", type=int, default=0, help="Hashing threads (0: one per core).")
@pass_ctx
def mirror_verify(obj: Context, directory: Path | None, workers: int) -> None:
    """Check held data against v1 piece hashes, v2 merkle roots and manifest SHA-256.

    Checks the torrents DIR/mirror.json chose (all of torrents.json without one). Exit code 0
    when every file is whole, 1 when any is missing, partial or corrupt (each is named).

    \b
    Example:
      longplay mirror verify /data/mirror
    """
    from longplay.mirror.verify import verify_mirror

    report = verify_mirror(directory or obj.archive_dir, workers)
    for line in report.torrent_problems:
        click.echo(f"problem: {line}")
    for p in report.problems:
        click.echo(f"{p.status}: {p.torrent}/{p.path}: {p.detail}")
    summary = (
        f"{len(report.torrents)} torrent(s), {report.files_checked} file(s), "
        f"{_bytes_text(report.bytes_checked)}: "
    )
    if report.ok:
        click.echo(summary + "all well")
        return
    click.echo(
        summary + f"{report.count('missing')} missing, {report.count('partial')} partial, "
        f"{report.count('corrupt')} corrupt, {len(report.torrent_problems)} other problem(s)"
    )
    sys.exit(1)


def _session_command(
    obj: Context,
    mode: str,
    directory: Path | None,
    peers: tuple[str, ...],
    listen: str | None,
    upload_limit: str | None,
    download_limit: str | None,
    names: tuple[str, ...],
    timeout: float | None,
) -> None:
    """Shared body of `seed` and `fetch`: Ctrl-C and SIGTERM stop the session cleanly."""
    import signal
    import threading

    from longplay.mirror.display import LiveDisplay, summary
    from longplay.mirror.session import parse_peer, run_session
    from longplay.settings import parse_size

    limits = {}
    for key, value in (("upload_limit", upload_limit), ("download_limit", download_limit)):
        if value is not None:
            try:
                limits[key] = parse_size(value)
            except ValueError as exc:
                raise click.BadParameter(
                    str(exc), param_hint=f"--{key.replace('_', '-')}"
                ) from None
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with LiveDisplay(mode, obj.quiet) as display:
            status = run_session(
                directory or obj.archive_dir,
                mode,
                stop,
                timeout,
                display,
                peers=tuple(parse_peer(p) for p in peers) or None,
                listen_interface=listen,
                names=names or None,
                **limits,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(summary(mode, status))
    for line in status.errors:
        click.echo(f"error: {line}", err=True)
    if status.errors or (mode == "fetch" and not status.complete):
        sys.exit(1)


def _session_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        (
            click.argument(
                "directory", type=click.Path(path_type=Path, file_okay=False), required=False
            ),
            click.option(
                "--peer",
                "peers",
                multiple=True,
                metavar="HOST:PORT",
                help="Connect to this peer directly (repeatable; LAN or loopback).",
            ),
            click.option(
                "--listen",
                default=None,
                metavar="ADDR:PORT",
                help="Listen address and port (default: setting listen_interface).",
            ),
            click.option(
                "--upload-limit", default=None, help="Upload limit per second, e.g. 10MB."
            ),
            click.option(
                "--download-limit", default=None, help="Download limit per second, e.g. 10MB."
            ),
            click.option(
                "--torrent", "names", multiple=True, help="Only this torrent (repeatable)."
            ),
            click.option(
                "--timeout", type=float, default=None, help="Stop after this many seconds."
            ),
        )
    ):
        f = option(f)
    return f


@cli.command()
@_session_options
@pass_ctx
def seed(obj: Context, **kwargs: Any) -> None:
    """Seed the mirror's chosen torrents until Ctrl-C or SIGTERM (resume data kept).

    DIRECTORY defaults to --archive. No DHT, LSD, UPnP or NAT-PMP: peers come from the
    torrent_trackers setting or --peer.

    \b
    Example:
      longplay seed /data/mirror --listen 0.0.0.0:6881 --upload-limit 20MB
      longplay seed /data/mirror --listen 127.0.0.1:6881 --peer 127.0.0.1:6882
    """
    _session_command(obj, "seed", **kwargs)


@cli.command()
@_session_options
@pass_ctx
def fetch(obj: Context, **kwargs: Any) -> None:
    """Download the mirror's chosen torrents into DIRECTORY/files; exit 0 once all are whole.

    Resumable: stop it any time, run it again. The .torrent files come from the torrents.json
    the plan was made from (see `longplay mirror plan`).

    \b
    Example:
      longplay fetch /data/mirror --peer 192.0.2.10:6881
      longplay fetch /data/mirror --download-limit 50MB --listen 0.0.0.0:6882
    """
    _session_command(obj, "fetch", **kwargs)


# -------------------------------------------------------------------------------------- demo
DEMO_SETTINGS = 'torrent_target_size = "400kB"\narchive_name = "longplay-demo"\n'


def demo_steps(directory: Path, tracks: int, clips: int) -> list[list[str]]:
    """The commands `longplay demo` runs, in order: the archive half, end to end."""
    a = ["--archive", str(directory)]
    music = str(directory / "music")
    return [
        ["init", str(directory)],
        [*a, "ingest", "synthetic", "--tracks", str(tracks), "--seed", "1"],
        [*a, "stats"],
        ["audio", "samples", music, "--count", str(clips), "--seconds", "4"],
        [*a, "ingest", "flat", f"{music}/catalog.jsonl", "--source", "samples"],
        [*a, "scan", music],
        [*a, "coverage", "--png", str(directory / "coverage.png")],
        [*a, "plan", "--budget", "1.3MB", "--available-only"],
        [*a, "build"],
        [*a, "pack"],
        [*a, "mirror", "verify"],
        [*a, "export", "parquet", str(directory / "release" / "parquet")],
    ]


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--tracks", type=int, default=20_000, show_default=True, help="Synthetic catalog size."
)
@click.option(
    "--clips", type=int, default=24, show_default=True, help="Sample audio clips to archive."
)
@click.option(
    "--no-serve", is_flag=True, help="Build the demo archive only (the server comes later)."
)
def demo(directory: Path, tracks: int, clips: int, no_serve: bool) -> None:
    """Build a demo archive from built-in samples, running each command of the archive half.

    Generates a synthetic catalog and tagged sample clips, then scans, plans under a budget,
    builds, packs into torrents and verifies them, printing each command and its output.

    \b
    Example:
      longplay demo /tmp/longplay-demo --no-serve
    """
    if directory.exists() and any(directory.iterdir()):
        raise LongplayError(f"{directory} is not empty; the demo builds a new archive")
    for step in demo_steps(directory, tracks, clips):
        click.echo(f"\n$ longplay {' '.join(step)}")
        try:
            cli.main(step, prog_name="longplay", standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise
        if step[0] == "init":
            (directory / "longplay.toml").write_text(
                DEMO_SETTINGS + (directory / "longplay.toml").read_text()
            )
    click.echo(f"\ndemo archive ready: {directory}")
    if not no_serve:
        click.echo("(serving comes with the play half: the OpenSubsonic server is not built yet)")


if __name__ == "__main__":
    main()
