"""`longplay serve`: the OpenSubsonic server over the archive."""

from __future__ import annotations

import click

from longplay.cli._common import Command, Context, pass_ctx


@click.command(cls=Command)
@click.option("--host", default=None, help="Address to listen on (default: setting server_host).")
@click.option("--port", type=int, default=None, help="Port (default: setting server_port).")
@pass_ctx
def serve(obj: Context, host: str | None, port: int | None) -> None:
    """Serve the archive to Subsonic apps (OpenSubsonic API) until stopped.

    Any Subsonic client (Symfonium, Feishin, Supersonic, DSub, ...) connects to the printed
    URL with a user from `longplay user`. SIGTERM or Ctrl-C stops it; streams in flight end
    cleanly.

    \b
    Example:
      longplay --archive /data/lp serve
      longplay --archive /data/lp serve --host 0.0.0.0 --port 4533
    """
    from longplay.server.run import serve as run
    from longplay.server.run import url

    archive = obj.archive()
    s = archive.settings
    host = host or s.server_host
    port = port if port is not None else int(s.server_port)
    click.echo(f"serving {archive.root} at {url(host, port, s.base_url)} (Ctrl-C stops)")
    run(archive, host, port)
