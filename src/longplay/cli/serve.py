"""`longplay serve`: the OpenSubsonic server over the archive."""

from __future__ import annotations

import click

from longplay.cli._common import Command, Context, pass_ctx


@click.command(cls=Command)
@click.option("--host", default=None, help="Address to listen on (default: setting server_host).")
@click.option("--port", type=int, default=None, help="Port (default: setting server_port).")
@click.option(
    "--peer",
    "peers",
    multiple=True,
    metavar="HOST:PORT",
    help="A BitTorrent peer to fetch songs not held from (repeatable; see setting peers).",
)
@pass_ctx
def serve(obj: Context, host: str | None, port: int | None, peers: tuple[str, ...]) -> None:
    """Serve the archive to Subsonic apps (OpenSubsonic API) until stopped.

    Any Subsonic client (Symfonium, Feishin, Supersonic, DSub, ...) connects to the printed
    URL with a user from `longplay user`. SIGTERM or Ctrl-C stops it; streams in flight end
    cleanly.

    \b
    Example:
      longplay --archive /data/lp serve
      longplay --archive /data/lp serve --host 0.0.0.0 --port 4533
      longplay --archive /data/mirror serve --peer 192.0.2.10:6881
    """
    from longplay.mirror.session import parse_peer
    from longplay.server.run import serve as run
    from longplay.server.run import url

    archive = obj.archive()
    s = archive.settings
    host = host or s.server_host
    port = port if port is not None else int(s.server_port)
    click.echo(f"serving {archive.root} at {url(host, port, s.base_url)} (Ctrl-C stops)")
    run(archive, host, port, peers=tuple(parse_peer(p) for p in peers))
