"""Plan and pack commands: coverage, plan under a budget, build the files, pack the torrents."""

from __future__ import annotations

from pathlib import Path

import click

from longplay.cli._common import SIZE, Command, Context, cluster_option, pass_ctx


@click.command(cls=Command)
@click.option(
    "--png",
    type=click.Path(path_type=Path),
    default=None,
    help="Also draw the coverage plot (share of listens against files and bytes kept).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def coverage(obj: Context, png: Path | None, as_json: bool) -> None:
    """How many files and bytes cover what share of all listens (ISRC/MBID dedup).

    \b
    Example:
      longplay coverage --png coverage.png
    """
    from longplay.plan.coverage import coverage as run

    rep = run(obj.archive(), png)
    click.echo(rep.to_json() if as_json else rep.format())
    if png is not None and not as_json:
        click.echo(f"plot: {png}")


@click.command(cls=Command)
@click.option(
    "--budget",
    type=SIZE,
    required=True,
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
    type=SIZE,
    default=None,
    help="Bitrate of Opus re-encodes, e.g. 75k (default: setting opus_bitrate).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def plan(
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


@click.command(cls=Command)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes (default: setting workers, else one per core).",
)
@cluster_option
@pass_ctx
def build(obj: Context, workers: int | None, cluster: str | None) -> None:
    """Materialize the plan: tag originals without re-encoding, re-encode the tail to Opus.

    Resumable: a rerun skips files already built from the same inputs.

    \b
    Example:
      longplay build --workers 8
      longplay build --cluster tcp://10.0.0.5:8786
    """
    from longplay.pack.build import build as run

    click.echo(run(obj.archive().override(cluster=cluster), workers).text())


@click.command(cls=Command)
@cluster_option
@pass_ctx
def pack(obj: Context, cluster: str | None) -> None:
    """Lay built files out into torrents by tier; write torrents, manifests, torrents.json.

    With a cluster (--cluster or setting cluster), torrents of 1 GiB and more are hashed on
    it by piece ranges; smaller ones are hashed here.

    \b
    Example:
      LONGPLAY_TORRENT_VERSION=v1 longplay pack
    """
    from longplay.pack.publish import pack as run

    archive = obj.archive().override(cluster=cluster)
    summary = run(archive)
    click.echo(summary.table())
    click.echo(
        f"wrote {len(summary.torrents)} torrents and {archive.torrents_dir / 'torrents.json'}"
    )
