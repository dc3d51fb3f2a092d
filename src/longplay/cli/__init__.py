"""The `longplay` command: each command parses its arguments and calls one library function.

One module per command group; this one holds the root and the table of where each command
lives, so `longplay --help` imports only click and the group modules (which import their
libraries when a command runs). Errors a user can act on (LongplayError) print one line and
exit 1; `--debug` shows the trace.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from longplay import progress
from longplay.cli._common import Context, ErrorBoundary

# Command name -> the module of this package that defines it (an attribute of the same name,
# with "-" read as "_"). In the order `longplay --help` lists them.
COMMANDS: dict[str, str] = {
    # archive: the directory, its settings, the demo
    "init": "archive",
    "settings": "archive",
    "gc": "archive",
    "demo": "archive",
    # catalog: sources in, releases out
    "ingest": "catalog",
    "stats": "catalog",
    "dedup": "catalog",
    "export": "catalog",
    "synthetic": "catalog",
    # audio: local files
    "scan": "audio",
    "audio": "audio",
    "analyze": "analysis",
    "identify": "analysis",
    # plan and pack
    "coverage": "plan",
    "plan": "plan",
    "build": "plan",
    "pack": "plan",
    # mirror
    "mirror": "mirror",
    "seed": "mirror",
    "fetch": "mirror",
    # play: search and shuffle, the server and its users
    "index": "search",
    "search": "search",
    "shuffle": "search",
    "serve": "serve",
    "user": "users",
}


class Root(ErrorBoundary):
    """The root group: commands are loaded from their group module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(
            importlib.import_module(f"{__name__}.{module}"), cmd_name.replace("-", "_")
        )
        assert isinstance(command, click.Command)
        return command


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(path_type=Path),
    envvar="LONGPLAY_ARCHIVE",
    default=".",
    show_default="$LONGPLAY_ARCHIVE or .",
    help="The archive directory.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars (also after the command).")
@click.option("--debug", is_flag=True, envvar="LONGPLAY_DEBUG", help="Show tracebacks on errors.")
@click.version_option(package_name="longplay")
@click.pass_context
def cli(ctx: click.Context, archive_dir: Path, quiet: bool, debug: bool) -> None:
    """Build, mirror and play an open music preservation archive.

    \b
    Example:
      longplay --archive /data/lp init
      longplay --archive /data/lp ingest synthetic --tracks 100000
      longplay --archive /data/lp stats
    """
    progress.set_quiet(quiet)
    source = ctx.get_parameter_source("archive_dir")
    origin = {
        click.core.ParameterSource.COMMANDLINE: "option",
        click.core.ParameterSource.ENVIRONMENT: "environment",
    }.get(source, "default")  # type: ignore[arg-type]
    ctx.obj = Context(archive_dir, origin, quiet, debug)


def main() -> None:
    cli(prog_name="longplay")
