"""Plumbing every command group shares: the context, the error boundary, options and types.

Kept light on purpose: `longplay --help` imports every group module, so nothing here (or at
the top of a group module) may import DuckDB, PyAV, Rich or libtorrent. Commands import what
they need when they run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from longplay import progress
from longplay.errors import InputError, LongplayError
from longplay.units import EXAMPLES, parse_size

if TYPE_CHECKING:
    from longplay.archive import Archive


class Context:
    """What the root options decided, handed to every command."""

    def __init__(self, archive_dir: Path, archive_from: str, quiet: bool, debug: bool):
        self.archive_dir = archive_dir
        self.archive_from = archive_from  # "option" (--archive), "environment" or "default"
        self.quiet = quiet
        self.debug = debug

    def archive(self) -> Archive:
        from longplay.archive import Archive

        return Archive.open(self.archive_dir)

    def settings_path(self) -> Path | None:
        """The archive's longplay.toml when there is one (commands that work without an archive)."""
        toml = self.archive_dir / "longplay.toml"
        return toml if toml.exists() else None


pass_ctx = click.make_pass_decorator(Context)


def _flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """`--quiet` and `--debug` after the subcommand: `longplay scan ~/Music --quiet`."""
    obj = ctx.find_object(Context)
    if not value or obj is None:
        return
    if param.name == "quiet":
        obj.quiet = True
        progress.set_quiet(True)
    else:
        obj.debug = True


def _late_options() -> list[click.Parameter]:
    return [
        click.Option(
            ["--quiet", "-q"],
            is_flag=True,
            expose_value=False,
            callback=_flag,
            help="No progress bars.",
        ),
        click.Option(
            ["--debug"], is_flag=True, expose_value=False, callback=_flag, help="Show tracebacks."
        ),
    ]


class Command(click.Command):
    """A command that also takes the root's `--quiet` and `--debug` after its own name."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.params.extend(_late_options())


class Group(click.Group):
    """A command group whose commands and subgroups are Longplay's own kinds."""

    command_class = Command
    group_class = type  # subgroups are of this same class


class ErrorBoundary(Group):
    """Turns LongplayError (and bad input files) into one clear line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (LongplayError, OSError) as exc:
            if _debug(ctx):
                raise
            click.echo(f"longplay: error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("longplay: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if _debug(ctx):
                raise
            if _storage_error(exc):  # the machine's fault, not Longplay's: no "internal error"
                click.echo(f"longplay: error: {str(exc).splitlines()[0]}", err=True)
                sys.exit(1)
            first = str(exc).splitlines()[0] if str(exc) else ""
            click.echo(
                f"longplay: internal error: {type(exc).__name__}: {first}"
                " (run with --debug for the trace)",
                err=True,
            )
            sys.exit(2)


def _storage_error(exc: Exception) -> bool:
    """A database's own error for a disk that is full, read-only or not ours to write (DuckDB
    raises IOException, SQLite OperationalError; neither is an OSError). Told by type name, so
    that the command line does not import either database to start."""
    kind = f"{type(exc).__module__}.{type(exc).__name__}"
    text = str(exc)
    if kind.startswith(("duckdb.", "_duckdb.")) and (
        kind.endswith(("IOException", "PermissionException"))
        or any(s in text for s in ("No space left on device", "Permission denied"))
    ):
        return True
    return kind == "sqlite3.OperationalError" and any(
        s in text
        for s in ("database or disk is full", "readonly database", "unable to open database")
    )


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Context)
    return bool(obj and obj.debug)


def cluster_option(f: Any) -> Any:
    """``--cluster ADDR`` on a command whose per-file tasks may run on a Dask cluster."""
    return click.option(
        "--cluster",
        metavar="ADDR",
        default=None,
        help="Run the per-file tasks on this Dask scheduler, e.g. tcp://HOST:8786 "
        "(default: setting cluster; docs/cluster.md).",
    )(f)


class Size(click.ParamType):
    """A size or bitrate as people write it: 2TB, 500GB, 1.5TiB, 10MB, 75k."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except InputError:
            self.fail(f"{value!r} is not a size (try {EXAMPLES})", param, ctx)


SIZE = Size()


def print_table(rows: Sequence[tuple[Any, ...]], headers: tuple[str, ...]) -> None:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    for row in (headers, *rows):
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())
