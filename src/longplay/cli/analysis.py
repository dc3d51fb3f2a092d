"""Analysis commands: analyze the archive's audio; identify files by their fingerprints."""

from __future__ import annotations

from pathlib import Path

import click

from longplay.cli._common import Command, Context, cluster_option, pass_ctx


@click.command(cls=Command)
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--workers", type=int, default=None, help="Worker processes (default: setting workers)."
)
@cluster_option
@pass_ctx
def analyze(obj: Context, dirs: tuple[Path, ...], workers: int | None, cluster: str | None) -> None:
    """Fingerprint and measure every held file once per audio payload (resumable).

    Held files: the scanned library, the built files and fetched torrents under files/; with
    DIRS, the audio files under those folders instead. Results go to ARCHIVE/analysis/, keyed
    by the audio-payload hash, so re-tagged, copied or moved files are not analyzed again.
    Files that cannot be analyzed go to the rejects log with the reason.

    \b
    Example:
      longplay analyze --workers 2
      longplay analyze ~/Music/new
      longplay analyze --cluster tcp://10.0.0.5:8786
    """
    from longplay.audio.analyze import analyze as run

    s = run(obj.archive().override(cluster=cluster), list(dirs), workers=workers)
    click.echo(
        f"{s.held} files: {s.unchanged} unchanged, {s.same_audio} same audio as an analyzed "
        f"file, {s.analyzed} analyzed, {s.rejected} rejected; {s.seconds:.1f} s "
        f"({s.realtime:.0f}x realtime)"
    )
    if s.rejects_log:
        click.echo(f"rejects: {s.rejects_log}")


@click.command(cls=Command)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, per file.")
@pass_ctx
def identify(obj: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Find the catalog track of audio files by fingerprint, offline, among the archive's own.

    Prints the track, its score (1 - bit error rate at the best alignment) and the runner-up.
    Run `longplay analyze` first: only analyzed files of catalog tracks can be found.

    \b
    Example:
      longplay identify mystery.mp3
      longplay identify --json a.opus b.flac
    """
    import dataclasses

    import orjson

    from longplay.audio import fingerprint
    from longplay.audio.identify import ArchiveIdentifier

    fingerprint.check()
    with ArchiveIdentifier(obj.archive()) as ident:
        results = [ident.identify(str(path)) for path in files]
    for path, got in zip(files, results, strict=True):
        if as_json:
            click.echo(orjson.dumps(dataclasses.asdict(got)).decode())
        elif got.reason:
            click.echo(f"{path}: not fingerprinted: {got.reason}")
        elif got.track_id is None:
            click.echo(f"{path}: no match (best score {got.score})")
        else:
            runner = (
                f"; runner-up track {got.runner_up_track_id} ({got.runner_up_score})"
                if got.runner_up_track_id is not None
                else ""
            )
            click.echo(f"{path}: track {got.track_id} (score {got.score}){runner}")
