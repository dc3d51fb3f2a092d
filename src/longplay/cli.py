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
@pass_ctx
def settings_cmd(obj: Context) -> None:
    """List every setting: name, value, where the value came from, and what it does.

    \b
    Example:
      LONGPLAY_TORRENT_VERSION=v1 longplay settings
    """
    from longplay import settings as settings_mod

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


# ------------------------------------------------------------------------------------- audio
@cli.group(cls=Group)
def audio() -> None:
    """Work on single audio files: tag, restore, transcode."""


# ------------------------------------------------------------------------------ plan & pack


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
@click.option("--torrents", "torrents_json", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="torrents.json to choose from (default: ARCHIVE/torrents/torrents.json).")
@click.option("--budget", required=True, help="Disk budget, e.g. 2TB, 500GB, 1.5TiB.")
@click.option("--prefer", type=click.Choice(["coverage", "least-seeded"]), default="coverage",
              show_default=True, help="Listens covered per byte, or least-seeded first (needs --stats).")
@click.option("--stats", "stats_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Seeder statistics JSON: info-hash -> {seeders, leechers, completed}.")
@pass_ctx
def mirror_plan(obj: Context, torrents_json: Path | None, budget: str, prefer: str,
                stats_path: Path | None) -> None:
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
    _print_table([(t.name, t.tier, _bytes_text(t.data_size), f"{100 * t.listens_share:.3f}%")
                  for t in plan.chosen], ("torrent", "tier", "size", "listens"))
    click.echo(f"chose {len(plan.chosen)} torrent(s): {_bytes_text(plan.size)} ({plan.size} bytes) "
               f"of a {_bytes_text(budget_bytes)} budget, covering "
               f"{100 * plan.listens_share:.2f}% of listens (by {prefer})")


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
    summary = (f"{len(report.torrents)} torrent(s), {report.files_checked} file(s), "
               f"{_bytes_text(report.bytes_checked)}: ")
    if report.ok:
        click.echo(summary + "all well")
        return
    click.echo(summary + f"{report.count('missing')} missing, {report.count('partial')} partial, "
               f"{report.count('corrupt')} corrupt, {len(report.torrent_problems)} other problem(s)")
    sys.exit(1)


def _session_command(obj: Context, mode: str, directory: Path | None, peers: tuple[str, ...],
                     listen: str | None, upload_limit: str | None, download_limit: str | None,
                     names: tuple[str, ...], timeout: float | None) -> None:
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
                raise click.BadParameter(str(exc), param_hint=f"--{key.replace('_', '-')}") from None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LiveDisplay(mode, obj.quiet) as display:
            status = run_session(directory or obj.archive_dir, mode, stop, timeout, display,
                                 peers=tuple(parse_peer(p) for p in peers) or None,
                                 listen_interface=listen, names=names or None, **limits)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(summary(mode, status))
    for line in status.errors:
        click.echo(f"error: {line}", err=True)
    if status.errors or (mode == "fetch" and not status.complete):
        sys.exit(1)


def _session_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.argument("directory", type=click.Path(path_type=Path, file_okay=False), required=False),
        click.option("--peer", "peers", multiple=True, metavar="HOST:PORT",
                     help="Connect to this peer directly (repeatable; LAN or loopback)."),
        click.option("--listen", default=None, metavar="ADDR:PORT",
                     help="Listen address and port (default: setting listen_interface)."),
        click.option("--upload-limit", default=None, help="Upload limit per second, e.g. 10MB."),
        click.option("--download-limit", default=None, help="Download limit per second, e.g. 10MB."),
        click.option("--torrent", "names", multiple=True, help="Only this torrent (repeatable)."),
        click.option("--timeout", type=float, default=None, help="Stop after this many seconds."),
    )):
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
