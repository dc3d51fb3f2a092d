"""A mirror operator's commands: choose torrents under a budget, verify them, seed and fetch."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


@click.group(cls=Group)
def mirror() -> None:
    """A mirror operator's side: choose torrents under a budget, verify them."""


@mirror.command("plan")
@click.option(
    "--torrents",
    "torrents_json",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="torrents.json to choose from (default: ARCHIVE/torrents/torrents.json).",
)
@click.option("--budget", type=SIZE, required=True, help="Disk budget, e.g. 2TB, 500GB, 1.5TiB.")
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
    obj: Context, torrents_json: Path | None, budget: int, prefer: str, stats_path: Path | None
) -> None:
    """Choose the torrents that fit a disk budget; store the choice in ARCHIVE/mirror.json.

    Works from torrents.json alone (no catalog needed). Metadata torrents come first.

    \b
    Example:
      longplay --archive /data/mirror mirror plan --torrents torrents.json --budget 2TB
      longplay --archive /data/mirror mirror plan --budget 500GB --prefer least-seeded --stats seeders.json
    """
    from longplay.mirror.choose import plan_mirror
    from longplay.units import format_bytes

    plan = plan_mirror(obj.archive_dir, torrents_json, budget, prefer, stats_path)
    print_table(
        [
            (t.name, t.tier, format_bytes(t.data_size), f"{100 * t.listens_share:.3f}%")
            for t in plan.chosen
        ],
        ("torrent", "tier", "size", "listens"),
    )
    click.echo(
        f"chose {len(plan.chosen)} torrent(s): {format_bytes(plan.size)} ({plan.size} bytes) "
        f"of a {format_bytes(budget)} budget, covering "
        f"{100 * plan.listens_share:.2f}% of listens (by {prefer})"
    )


@mirror.command("verify")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), required=False)
@click.option("--workers", type=int, default=0, help="Hashing threads (0: one per core).")
@cluster_option
@pass_ctx
def mirror_verify(obj: Context, directory: Path | None, workers: int, cluster: str | None) -> None:
    """Check held data against v1 piece hashes, v2 merkle roots and manifest SHA-256.

    Checks the torrents DIR/mirror.json chose (all of torrents.json without one). Exit code 0
    when every file is whole, 1 when any is missing, partial or corrupt (each is named). The
    verdict per torrent is kept in DIR/verify.json for the web's torrents page.

    \b
    Example:
      longplay mirror verify /data/mirror
    """
    from datetime import UTC, datetime

    from longplay import settings
    from longplay.mirror.verify import record, verify_mirror

    where = directory or obj.archive_dir
    if cluster is None:
        cluster = settings.load(obj.settings_path()).cluster
    report = verify_mirror(where, workers, cluster)
    record(where, report, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    click.echo(report.text())
    if not report.ok:
        sys.exit(1)


def _session(
    obj: Context,
    mode: str,
    directory: Path | None,
    peers: tuple[str, ...],
    listen: str | None,
    upload_limit: int | None,
    download_limit: int | None,
    names: tuple[str, ...],
    timeout: float | None,
) -> None:
    """Shared body of `seed` and `fetch`: Ctrl-C and SIGTERM stop the session cleanly."""
    import signal
    import threading

    from longplay.mirror.display import LiveDisplay, summary
    from longplay.mirror.session import parse_peer, run_session

    limits = {
        key: value
        for key, value in (("upload_limit", upload_limit), ("download_limit", download_limit))
        if value is not None
    }
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
        click.echo(f"longplay: error: {line}", err=True)
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
                "--upload-limit",
                type=SIZE,
                default=None,
                help="Upload limit per second, e.g. 10MB.",
            ),
            click.option(
                "--download-limit",
                type=SIZE,
                default=None,
                help="Download limit per second, e.g. 10MB.",
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


@click.command(cls=Command)
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
    _session(obj, "seed", **kwargs)


@click.command(cls=Command)
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
    _session(obj, "fetch", **kwargs)
