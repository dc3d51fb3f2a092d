"""Rich progress bars for long jobs: rate and ETA, off when not a TTY or when quiet."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def enabled() -> bool:
    if _quiet or os.environ.get("LONGPLAY_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


class Tracker(Protocol):
    def advance(self, amount: float = 1) -> None: ...
    def update_total(self, total: float | None) -> None: ...


class _Task:
    def __init__(self, progress: Progress | None, task_id: int | None):
        self._progress = progress
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        if self._progress is not None and self._id is not None:
            self._progress.advance(self._id, amount)  # type: ignore[arg-type]

    def update_total(self, total: float | None) -> None:
        if self._progress is not None and self._id is not None:
            self._progress.update(self._id, total=total)  # type: ignore[arg-type]


@contextmanager
def progress(description: str, total: float | None, unit: str = "items") -> Iterator[Tracker]:
    """A progress bar for one long step; a silent tracker when bars are off."""
    if not enabled():
        yield _Task(None, None)
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if unit == "items" else TaskProgressColumn(),
        _RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with bar:
        task_id = bar.add_task(description, total=total)
        yield _Task(bar, task_id)


class _RateColumn(TextColumn):
    def __init__(self, unit: str):
        super().__init__("")
        self.unit = unit

    def render(self, task):
        from rich.text import Text

        speed = task.finished_speed or task.speed
        if speed is None:
            return Text(f"? {self.unit}/s")
        for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if speed >= scale:
                return Text(f"{speed / scale:.1f}{prefix} {self.unit}/s")
        return Text(f"{speed:.0f} {self.unit}/s")


def note(text: str) -> None:
    """A line of progress for logs: printed to stderr when bars are off (not a TTY), unless quiet."""
    if _quiet or enabled():
        return
    print(text, file=sys.stderr, flush=True)
