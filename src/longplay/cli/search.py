"""Search commands: build the index, search the catalog, draw a true shuffle."""

from __future__ import annotations

import json

import click

from longplay.cli._common import Command, Context, pass_ctx


@click.command(cls=Command)
@click.option(
    "--workers", type=int, default=None, help="Index writer processes (default: setting workers)."
)
@pass_ctx
def index(obj: Context, workers: int | None) -> None:
    """Build the search index of the current catalog generation (resumable: rerun it).

    Search builds it on first use too; run this after `ingest` to pay the cost up front.

    \b
    Example:
      longplay index --workers 2
    """
    from longplay.pack.features import ArchiveFeatures
    from longplay.pack.holdings import ArchiveHoldings
    from longplay.search.build import build_index

    archive = obj.archive()
    report = build_index(
        archive,
        holdings=ArchiveHoldings(archive),
        features=ArchiveFeatures(archive),
        workers=workers,
    )
    click.echo(report.summary())


@click.command(cls=Command)
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@click.option("--limit", type=int, default=20, show_default=True, help="Results per page.")
@click.option("--offset", type=int, default=0, show_default=True, help="Results to skip.")
@click.option(
    "--after", type=int, default=None, help="Empty query: the key the last page ended at."
)
@click.option(
    "--kind", type=click.Choice(["track", "album", "artist"]), default=None, help="Only one kind."
)
@click.option("--held-only", is_flag=True, help="Only what the archive holds a file for.")
@pass_ctx
def search(
    obj: Context,
    query: str,
    as_json: bool,
    limit: int,
    offset: int,
    after: int | None,
    kind: str | None,
    held_only: bool,
) -> None:
    """Search tracks, albums and artists (syntax: docs/search.md).

    Free words must all match, the last one also as a prefix; near spellings are tried when
    nothing matches. Fields: title: artist: album: albumartist: genre: isrc: upc: mbid: id:
    year:2001..2005, bpm:120..130 and key:Am (analyzed tracks only), and "quoted phrases".
    An empty QUERY lists one kind in ID order.

    \b
    Example:
      longplay search "bohemian rhapsody"
      longplay search 'artist:queen year:1975..1980' --kind track --limit 5
      longplay search "" --kind album --after 40 --json
      longplay search 'bpm:120..130 key:Am' --kind track
    """
    from longplay.pack.features import ArchiveFeatures
    from longplay.pack.holdings import ArchiveHoldings
    from longplay.search.engine import format_page
    from longplay.search.engine import search as run

    archive = obj.archive()
    page = run(
        archive,
        query,
        limit=limit,
        offset=offset,
        after=after,
        kind=kind,
        held_only=held_only,
        holdings=ArchiveHoldings(archive),
        features=ArchiveFeatures(archive),
    )
    click.echo(json.dumps(page.to_json(), ensure_ascii=False) if as_json else format_page(page))


@click.command(cls=Command)
@click.option("--n", "n", type=int, default=20, show_default=True, help="Tracks to draw.")
@click.option("--genre", default=None, help="Only this genre.")
@click.option("--year", "years", default=None, help="Only these years: 1990..1999, 2001, ..1980.")
@click.option("--min-popularity", type=int, default=None, help="Only tracks this popular (0-100).")
@click.option("--held-only", is_flag=True, help="Only tracks the archive holds a file for.")
@click.option("--bpm", default=None, help="Only analyzed tracks of this tempo: 120..130, ..90.")
@click.option("--key", default=None, help='Only analyzed tracks in this key: Am, C#, "E♭ major".')
@click.option("--seed", type=int, default=0, show_default=True, help="The session's seed.")
@click.option(
    "--position",
    type=int,
    default=0,
    show_default=True,
    help="Where in the session to start (the last page printed the next one).",
)
@click.option("--spread", is_flag=True, help="Keep tracks by one artist apart on the page.")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@pass_ctx
def shuffle(
    obj: Context,
    n: int,
    genre: str | None,
    years: str | None,
    min_popularity: int | None,
    held_only: bool,
    bpm: str | None,
    key: str | None,
    seed: int,
    position: int,
    spread: bool,
    as_json: bool,
) -> None:
    """Draw tracks at random: every match equally likely, none repeated until all have played.

    A session is a seed and a position: the same pair gives the same tracks.

    \b
    Example:
      longplay shuffle --n 10 --genre rock --year 1990..1999 --seed 42
      longplay shuffle --n 10 --seed 42 --position 10 --spread
      longplay shuffle --n 10 --bpm 120..130 --key Am
    """
    from longplay.pack.features import ArchiveFeatures
    from longplay.pack.holdings import ArchiveHoldings
    from longplay.search.features import bpm_range
    from longplay.search.shuffle import format_shuffle
    from longplay.search.shuffle import shuffle as draw
    from longplay.search.syntax import year_range

    archive = obj.archive()
    page = draw(
        archive,
        n=n,
        seed=seed,
        position=position,
        genre=genre,
        years=year_range(years) if years is not None else None,
        min_popularity=min_popularity,
        held_only=held_only,
        bpm=bpm_range(bpm) if bpm is not None else None,
        key=key,
        spread=spread,
        holdings=ArchiveHoldings(archive),
        features=ArchiveFeatures(archive),
    )
    click.echo(json.dumps(page.to_json(), ensure_ascii=False) if as_json else format_shuffle(page))
