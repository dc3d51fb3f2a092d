"""Part files: a writer's output beside its destination until the rename, never left for good.

A writer *claims* its part file: it creates it and holds an exclusive ``flock`` on it until the
file is renamed into place or removed. The kernel drops the lock when the process dies, however
it dies (``kill -9``, the OOM killer, a decoder crash), so :func:`sweep` deletes exactly the part
files nobody holds. Asking whether the PID in the name is alive was the first design and was
wrong: PIDs are reused, and on a busy machine a dead worker's PID soon names another process, so
its part file was kept forever (the build's kill test caught one in a clean-clone run).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# .NAME.PID.part or .NAME.PID.part.EXT: hidden, so a scan of the folder skips them.
PART_NAME = re.compile(r"^\..+\.\d+\.part(\.\w+)?$")


def part_path(dst: Path, suffix: str | None = None) -> Path:
    """The part file of ``dst`` for this process (``suffix`` default: ``dst``'s, which mutagen
    and muxers look at)."""
    ext = dst.suffix if suffix is None else suffix
    return dst.with_name(f".{dst.stem}.{os.getpid()}.part{ext}")


@contextmanager
def claimed(dst: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """A part file for ``dst``, locked while the block runs; removed after it unless renamed."""
    tmp = part_path(Path(dst), suffix)
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)  # nothing there once it was renamed into place
        os.close(fd)


def sweep(folder: Path) -> list[Path]:
    """Delete the part files below ``folder`` whose writer is gone (nobody holds their lock)."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.rglob(".*.part*"):
        if not PART_NAME.match(path.name):
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # gone meanwhile, or not a plain file
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its writer is alive and still writing
                continue
            path.unlink(missing_ok=True)
            removed.append(path)
        finally:
            os.close(fd)
    return removed
