"""Rich progress bars for long jobs: rate and ETA, off when not a TTY or when quiet."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from longplay.units import format_rate

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
    def __init__(self, progress: Any, task_id: int | None):
        self._progress = progress
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        if self._progress is not None and self._id is not None:
            self._progress.advance(self._id, amount)

    def update_total(self, total: float | None) -> None:
        if self._progress is not None and self._id is not None:
            self._progress.update(self._id, total=total)


@contextmanager
def progress(description: str, total: float | None, unit: str = "items") -> Iterator[Tracker]:
    """A progress bar for one long step; a silent tracker when bars are off."""
    if not enabled():
        yield _Task(None, None)
        return
    # Rich is imported here, not at the top: `longplay --help` must not pay for it.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"? {unit}/s" if speed is None else format_rate(speed, unit))

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if unit == "items" else TaskProgressColumn(),
        Rate(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with bar:
        task_id = bar.add_task(description, total=total)
        yield _Task(bar, task_id)


def note(text: str) -> None:
    """A line of progress for logs: printed to stderr when bars are off (not a TTY), unless quiet."""
    if _quiet or enabled():
        return
    print(text, file=sys.stderr, flush=True)
