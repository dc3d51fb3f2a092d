"""Audio commands: scan folders into the library; tag, restore and transcode single files."""

from __future__ import annotations

from pathlib import Path

import click

from longplay.cli._common import (
    SIZE,
    Command,
    Context,
    Group,
    cluster_option,
    pass_ctx,
    print_table,
)
from longplay.errors import InputError


@click.command(cls=Command)
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--report", is_flag=True, help="Then list files that matched no track, or several.")
@click.option(
    "--workers", type=int, default=None, help="Worker processes (default: setting workers)."
)
@click.option("--no-decode", is_flag=True, help="Demux only: faster, no corrupt-frame check.")
@click.option(
    "--identify",
    "by_fingerprint",
    is_flag=True,
    help="Then match files no tag matched by their fingerprints (needs `longplay analyze`).",
)
@cluster_option
@pass_ctx
def scan(
    obj: Context,
    dirs: tuple[Path, ...],
    report: bool,
    workers: int | None,
    no_decode: bool,
    by_fingerprint: bool,
    cluster: str | None,
) -> None:
    """Scan folders of audio files into the library and match them to catalog tracks.

    Unchanged files (same size, mtime and inode) are skipped on a rescan; moved, changed and
    deleted files are noticed. Bad files are rejected with a reason and the scan goes on.
    With --report and no DIRS, only prints the report of the last scans.

    \b
    Example:
      longplay scan ~/Music /mnt/more-music
      longplay scan --identify ~/Music/untagged
      longplay scan --report
    """
    from longplay.audio import match as match_mod
    from longplay.audio.scan import scan as scan_dirs

    if not dirs and not report:
        raise click.UsageError("give one or more folders to scan, or --report")
    archive = obj.archive().override(cluster=cluster)
    if dirs:
        decode = False if no_decode else None
        s = scan_dirs(archive, list(dirs), workers=workers, decode=decode)
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
        if by_fingerprint:
            from longplay.audio.identify import identify_unmatched

            click.echo(f"identified by fingerprint: {identify_unmatched(archive)}")
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
            print_table(
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


@click.group(cls=Group)
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
      longplay audio tag song.flac tagged.flac --track 123456789
      longplay audio restore tagged.flac original.flac
    """
    from longplay.audio.tagging import tag_track

    target = tag_track(obj.archive(), file, out, track_id, restore_data)
    click.echo(
        f"wrote {out} ({target.title!r}) and {target.restore_path} ({target.restore_size} bytes)"
    )


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
        raise InputError(f"{source}: no restore data (give --restore-data)")
    sha = restore(tagged, source.read_bytes(), out)
    click.echo(f"restored {out} (sha256 {sha})")


@audio.command("transcode")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--opus",
    "bitrate",
    type=SIZE,
    default=None,
    help="Opus bitrate, e.g. 75k (default: setting opus_bitrate).",
)
@pass_ctx
def audio_transcode(obj: Context, file: Path, out: Path, bitrate: int | None) -> None:
    """Re-encode FILE as Ogg Opus, carrying its tags over.

    \b
    Example:
      longplay audio transcode song.flac song.opus --opus 75k
    """
    from longplay import settings as settings_mod
    from longplay.audio.transcode import transcode_opus

    bits = bitrate or int(settings_mod.load(obj.settings_path()).opus_bitrate)
    r = transcode_opus(file, out, bits)
    click.echo(f"wrote {out}: {r.seconds:.2f} s of Opus at {bits // 1000} kbit/s")


@audio.command("samples")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--count", type=int, default=20, show_default=True, help="Number of clips.")
@click.option("--seconds", type=float, default=3.0, show_default=True, help="Length of each clip.")
@click.option(
    "--formats",
    default="flac,ogg,opus,mp3,m4a",
    show_default=True,
    help="Formats to use in turn.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Which set of clips.")
def audio_samples(out: Path, count: int, seconds: float, formats: str, seed: int) -> None:
    """Generate deterministic tagged sample clips (and catalog.jsonl describing them).

    \b
    Example:
      longplay audio samples demo-music --count 50
      longplay --archive lp ingest flat demo-music/catalog.jsonl --source samples
    """
    from longplay.audio.samples import generate

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    paths = generate(out, count, seed=seed, seconds=seconds, formats=wanted)
    click.echo(f"wrote {len(paths)} clips and {out / 'catalog.jsonl'}")


@audio.command("analyze")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, per file.")
def audio_analyze(files: tuple[Path, ...], as_json: bool) -> None:
    """Print the audio analysis of single files, without an archive.

    Loudness (EBU R128, ReplayGain 2) and the Chromaprint fingerprint; tempo, key and
    descriptors too with the optional extra `longplay[analysis]` (Essentia). A file that
    cannot be analyzed prints its reason and the command exits 1 at the end.

    \b
    Example:
      longplay audio analyze song.flac
      longplay audio analyze --json a.flac b.mp3
    """
    import orjson

    from longplay.audio import fingerprint
    from longplay.audio.analysis import AnalysisProblem, analyze_file

    fingerprint.check()
    failed = 0
    for path in files:
        try:
            features = analyze_file(str(path))
        except AnalysisProblem as exc:
            failed += 1
            click.echo(f"{path}: not analyzed: {exc}", err=True)
            continue
        values = features.values()
        if as_json:
            values["fingerprint_compressed"] = features.fingerprint_compressed
            click.echo(orjson.dumps({"file": str(path), **values}).decode())
            continue
        click.echo(f"{path}")
        for k, v in values.items():
            click.echo(f"  {k:<26} {v}")
        click.echo(f"  {'fingerprint':<26} {len(features.fingerprint)} items")
    if failed:
        raise SystemExit(1)
