"""The live view of a seed or fetch session: a Rich table on a terminal, a line now and then off it."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from longplay import progress
from longplay.mirror.session import SessionStatus
from longplay.units import format_bytes, format_rate

LOG_EVERY = 10.0  # seconds between status lines when stderr is not a terminal


def summary(mode: str, status: SessionStatus) -> str:
    ts = status.torrents
    done = sum(t.done for t in ts)
    wanted = sum(t.wanted for t in ts)
    complete = sum(1 for t in ts if t.complete)
    return (
        f"{mode}: {complete}/{len(ts)} torrents complete, {format_bytes(done)} of {format_bytes(wanted)}, "
        f"down {format_rate(sum(t.download_rate for t in ts))}, up {format_rate(sum(t.upload_rate for t in ts))}, "
        f"uploaded {format_bytes(sum(t.uploaded for t in ts))}, {sum(t.peers for t in ts)} peer(s), "
        f"port {status.listen_port}"
    )


class LiveDisplay:
    """Call with each SessionStatus; use as a context manager around the session's run."""

    def __init__(self, mode: str, quiet: bool = False):
        self.mode = mode
        self.quiet = quiet
        self.live: Live | None = None
        self.last_line = 0.0
        self.last: SessionStatus | None = None

    def __enter__(self) -> LiveDisplay:
        if not self.quiet and progress.enabled():
            self.live = Live(console=Console(stderr=True), refresh_per_second=2, transient=False)
            self.live.__enter__()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.live is not None:
            self.live.__exit__(t, e, tb)

    def __call__(self, status: SessionStatus) -> None:
        self.last = status
        if self.live is not None:
            self.live.update(self._table(status))
        elif not self.quiet and time.monotonic() - self.last_line >= LOG_EVERY:
            self.last_line = time.monotonic()
            print(summary(self.mode, status), file=sys.stderr, flush=True)

    def _table(self, status: SessionStatus) -> Table:
        table = Table(title=summary(self.mode, status), title_justify="left")
        for col in ("torrent", "state", "progress", "down", "up", "peers", "error"):
            table.add_column(col)
        shown = sorted(
            status.torrents, key=lambda t: (t.complete, -t.download_rate - t.upload_rate)
        )
        for t in shown[:30]:
            table.add_row(
                t.name,
                t.state,
                f"{100 * t.progress:.1f}%",
                format_rate(t.download_rate),
                format_rate(t.upload_rate),
                str(t.peers),
                t.error[:60],
            )
        if len(shown) > 30:
            table.add_row(f"... {len(shown) - 30} more", "", "", "", "", "", "")
        return table
