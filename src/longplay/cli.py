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


