"""The project's exception types, and the one place a disk failure gets its file's name."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator


class LongplayError(Exception):
    """A failure the user can act on: the message names the input and what is wrong."""


class SettingsError(LongplayError):
    """An unknown or ill-typed setting in longplay.toml or the environment."""


class InputError(LongplayError):
    """An input file or argument that cannot be used at all (not a per-record reject)."""


class DiskError(LongplayError):
    """A file or database a job could not write: the disk is full, read-only or not ours."""


# The machine's refusals, as opposed to a bug or a bad input: a rerun succeeds once fixed.
DISK_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
)
# SQLite's words for the same refusals (its OperationalError names no file and no errno),
# with the first said as the operating system says it, so every full disk reads the same.
_SQLITE_SAYS = {
    "database or disk is full": os.strerror(errno.ENOSPC),
    "attempt to write a readonly database": "attempt to write a readonly database",
    "unable to open database file": "unable to open database file",
    "disk I/O error": "disk I/O error",
}


@contextlib.contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Raise a disk failure inside the block as one DiskError naming ``path``.

    A failed ``write()`` carries no file name (only ``open()``'s does) and SQLite says just
    "database or disk is full", so the caller that knows what it is writing names it here,
    once. Other errors pass through untouched.
    """
    try:
        yield
    except DiskError:
        raise
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        # os.strerror, not exc.strerror: Arrow's is a paragraph around the same errno.
        # A two-path call (link, rename, copy) names its destination second.
        where = exc.filename2 or exc.filename or path
        raise DiskError(f"cannot write {where}: {os.strerror(exc.errno)}") from exc
    except Exception as exc:
        # Told by type name so that this base module imports no database.
        said = next((v for k, v in _SQLITE_SAYS.items() if k in str(exc)), None)
        if type(exc).__name__ != "OperationalError" or said is None:
            raise
        raise DiskError(f"cannot write {path}: {said}") from exc
