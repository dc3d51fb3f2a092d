"""Commands on the archive directory itself: init, settings, gc, and the demo."""

from __future__ import annotations

from pathlib import Path

import click

from longplay.cli._common import Command, Context, pass_ctx
from longplay.errors import InputError, LongplayError


@click.command(cls=Command)
@click.argument("directory", type=click.Path(path_type=Path), required=False)
@pass_ctx
def init(obj: Context, directory: Path | None) -> None:
    """Create an archive directory (longplay.toml, catalog/, state.sqlite, rejects/, ...).

    DIRECTORY defaults to --archive (or $LONGPLAY_ARCHIVE); a DIRECTORY given wins over
    $LONGPLAY_ARCHIVE.

    \b
    Example:
      longplay init /data/longplay
      longplay --archive /data/longplay init
    """
    from longplay.archive import Archive

    if directory is None:
        if obj.archive_from == "default":
            raise InputError(
                "name the archive to create: `longplay init DIR`, `longplay --archive DIR init` "
                "or $LONGPLAY_ARCHIVE"
            )
        directory = obj.archive_dir
    elif obj.archive_from == "option" and Path(directory).resolve() != obj.archive_dir.resolve():
        raise InputError(
            f"two archives named: --archive {obj.archive_dir} and init {directory}; give one"
        )
    from longplay.server.accounts import ADMIN, ensure_admin

    archive = Archive.init(directory)
    click.echo(f"initialized archive {archive.root}")
    password = ensure_admin(archive)
    if password is not None:  # shown once: only its hash and an encrypted copy are kept
        click.echo(f"created user {ADMIN!r} with password {password} (shown only this once)")


@click.command(cls=Command)
@click.option("--markdown", is_flag=True, help="Print docs/settings.md (the generated reference).")
@pass_ctx
def settings(obj: Context, markdown: bool) -> None:
    """List every setting: name, value, where the value came from, and what it does.

    \b
    Example:
      LONGPLAY_TORRENT_VERSION=v1 longplay settings
    """
    from longplay import settings as settings_mod

    if markdown:
        click.echo(settings_mod.markdown(), nl=False)
        return
    resolved = settings_mod.load(obj.settings_path())
    for s in settings_mod.SETTINGS:
        click.echo(f"{s.name} = {resolved[s.name]!r}   [{resolved.origins[s.name]}]")
        extra = f" One of: {', '.join(s.choices)}." if s.choices else ""
        click.echo(f"    {s.help}{extra} Environment: LONGPLAY_{s.name.upper()}.")


@click.command(cls=Command)
@click.option(
    "--keep",
    type=int,
    default=None,
    help="Generations to keep (default: setting keep_generations).",
)
@pass_ctx
def gc(obj: Context, keep: int | None) -> None:
    """Prune old catalog generations, keeping the current one, and their search indexes.

    \b
    Example:
      longplay gc --keep 1
    """
    from longplay.catalog.store import CatalogStore
    from longplay.search import layout

    archive = obj.archive()
    removed = CatalogStore(archive).gc(keep)
    click.echo(
        f"removed {len(removed)} generation(s)" + (f": {', '.join(removed)}" if removed else "")
    )
    # After the catalog's gc: prune removes the indexes of every generation now gone.
    indexes = layout.prune(archive)
    if indexes:
        click.echo(f"removed {len(indexes)} search index(es): {', '.join(indexes)}")


DEMO_USER, DEMO_PASSWORD = "demo", "demo"  # a local demo: a login anyone can type
DEMO_SETTINGS = 'torrent_target_size = "400kB"\narchive_name = "longplay-demo"\n'


def demo_steps(directory: Path, tracks: int, clips: int) -> list[list[str]]:
    """The commands `longplay demo` runs, in order: the archive half end to end, then search."""
    a = ["--archive", str(directory)]
    music = str(directory / "music")
    return [
        ["init", str(directory)],
        [*a, "ingest", "synthetic", "--tracks", str(tracks), "--seed", "1"],
        [*a, "stats"],
        ["audio", "samples", music, "--count", str(clips), "--seconds", "4"],
        [*a, "ingest", "flat", f"{music}/catalog.jsonl", "--source", "samples"],
        [*a, "scan", music],
        [*a, "analyze"],
        [*a, "coverage", "--png", str(directory / "coverage.png")],
        [*a, "plan", "--budget", "1.3MB", "--available-only"],
        [*a, "build"],
        [*a, "pack"],
        [*a, "mirror", "verify"],
        [*a, "export", "parquet", str(directory / "release" / "parquet")],
        [*a, "index"],
        [*a, "search", "summer", "--limit", "5"],
        [*a, "shuffle", "--n", "5", "--seed", "1"],
    ]


@click.command(cls=Command)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--tracks", type=int, default=20_000, show_default=True, help="Synthetic catalog size."
)
@click.option(
    "--clips", type=int, default=24, show_default=True, help="Sample audio clips to archive."
)
@click.option(
    "--no-serve", is_flag=True, help="Build the demo archive only; do not start the server."
)
def demo(directory: Path, tracks: int, clips: int, no_serve: bool) -> None:
    """Build a demo archive from built-in samples, running each command of the archive half.

    Generates a synthetic catalog and tagged sample clips, then scans, plans under a budget,
    builds, packs into torrents and verifies them, printing each command and its output; then
    serves it (OpenSubsonic, user demo / demo) unless --no-serve.

    \b
    Example:
      longplay demo /tmp/longplay-demo --no-serve
    """
    from longplay.cli import cli

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
            toml = directory / "longplay.toml"
            toml.write_text(DEMO_SETTINGS + toml.read_text())
    click.echo(f"\ndemo archive ready: {directory}")
    if no_serve:
        return
    from longplay.archive import Archive
    from longplay.server.accounts import add_user
    from longplay.server.run import serve, url

    archive = Archive.open(directory)
    add_user(archive, DEMO_USER, DEMO_PASSWORD)
    s = archive.settings
    click.echo(
        f"\nserving the demo at {url(s.server_host, int(s.server_port), s.base_url)}"
        f" - open it in a browser, or log in from any Subsonic app, as {DEMO_USER!r},"
        f" password {DEMO_PASSWORD!r}"
        " (Ctrl-C stops)"
    )
    serve(archive, s.server_host, int(s.server_port))
