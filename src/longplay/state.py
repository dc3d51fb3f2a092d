"""ARCHIVE/state.sqlite: its connections, its one write path and its forward-only schema.

``state.sqlite`` holds what the archive's jobs and its users change at run time: the build
ledger (version 1) and the server's users, API keys, stars, ratings, plays, playlists and play
queues (version 2). This module is its
only owner; nothing else opens the file with sqlite3.

Connections (:func:`connection`) run in WAL mode with a busy timeout and foreign keys on, in
autocommit mode: every write goes through :func:`transaction`, which takes the write lock up
front (``BEGIN IMMEDIATE``) so two writers queue on the busy timeout instead of failing halfway.

The schema is versioned by ``PRAGMA user_version`` and only moves forward. Opening a connection
migrates the file to :data:`SCHEMA_VERSION`, one step at a time, each step in its own
transaction together with the version bump: a crash mid-migration leaves the previous version,
and the next open runs the step again. A file newer than this code is refused.

To add a migration step (say, users for the server), append to :data:`MIGRATIONS` - never edit
or reorder a released step, since archives out there already ran it::

    MIGRATIONS = (
        _sql(_BUILD_FILES),                          # 1: the build ledger
        _sql("CREATE TABLE users (...)", "CREATE INDEX ..."),  # 2: users
    )

A step is a function of the connection (``_sql`` makes one from statements); it runs inside the
step's transaction, so it must not commit. Then add a test that upgrades a file of the previous
version with rows in it (see tests/test_state.py).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from longplay.errors import LongplayError

if TYPE_CHECKING:
    from longplay.archive import Archive

BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another one before giving up

Step = Callable[[sqlite3.Connection], None]

# Version 1: the build ledger, exactly as `longplay build` created it before versioning (the
# IF NOT EXISTS adopts the table of such an archive as it is).
_BUILD_FILES = """
CREATE TABLE IF NOT EXISTS build_files (
    track_id INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL,
    action TEXT NOT NULL,                 -- original | opus
    inputs TEXT NOT NULL,                 -- SHA-256 of everything the output depends on
    src_path TEXT NOT NULL,
    src_sha256 TEXT NOT NULL,
    out_path TEXT NOT NULL,               -- relative to the archive
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,                 -- file extension: flac, ogg, opus, mp3, m4a
    bitrate INTEGER,
    duration_ms INTEGER,
    restore BLOB,                         -- originals: turns the tagged file back into the source
    cover_sha256 TEXT,
    built_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)
"""


def _sql(*statements: str) -> Step:
    """A migration step that runs ``statements`` in order (one statement per string)."""

    def step(con: sqlite3.Connection) -> None:
        for statement in statements:
            con.execute(statement)

    return step


_NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

# Version 2: what the server's users change. Items are referred to by their wire IDs (tr-, al-,
# ar-, pl-) or stable catalog track IDs, both of which survive catalog generations.
_SERVER_TABLES = (
    f"""CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,          -- argon2, for web logins
        password_enc BLOB NOT NULL,           -- Fernet(secret.key): token auth needs the password
        is_admin INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL DEFAULT {_NOW}
    )""",
    f"""CREATE TABLE api_keys (
        key_id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        key_sha256 TEXT NOT NULL UNIQUE,      -- the key itself is shown once and never stored
        created TEXT NOT NULL DEFAULT {_NOW},
        revoked TEXT
    )""",
    f"""CREATE TABLE stars (
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,                -- wire ID: tr-N, al-N, ar-N
        created TEXT NOT NULL DEFAULT {_NOW},
        PRIMARY KEY (user_id, item_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE ratings (
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        PRIMARY KEY (user_id, item_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE plays (
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        track_id INTEGER NOT NULL,
        album_id INTEGER,                     -- so frequent/recent albums need no catalog join
        count INTEGER NOT NULL DEFAULT 0,
        last_played TEXT NOT NULL,
        PRIMARY KEY (user_id, track_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX plays_recent ON plays (user_id, last_played)",
    "CREATE INDEX plays_album ON plays (user_id, album_id)",
    f"""CREATE TABLE playlists (
        playlist_id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        comment TEXT,
        public INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL DEFAULT {_NOW},
        changed TEXT NOT NULL DEFAULT {_NOW}
    )""",
    "CREATE INDEX playlists_user ON playlists (user_id)",
    """CREATE TABLE playlist_entries (
        playlist_id INTEGER NOT NULL REFERENCES playlists(playlist_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,            -- 0, 1, ... without gaps
        track_id INTEGER NOT NULL,
        PRIMARY KEY (playlist_id, position)
    ) WITHOUT ROWID""",
    """CREATE TABLE play_queues (
        user_id INTEGER PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
        current_index INTEGER,
        position_ms INTEGER NOT NULL DEFAULT 0,
        changed TEXT NOT NULL,
        changed_by TEXT NOT NULL
    )""",
    """CREATE TABLE play_queue_entries (
        user_id INTEGER NOT NULL REFERENCES play_queues(user_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        track_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, position)
    ) WITHOUT ROWID""",
)

# Append only: MIGRATIONS[n - 1] takes a file from version n - 1 to version n.
MIGRATIONS: tuple[Step, ...] = (
    _sql(_BUILD_FILES),  # 1: the build ledger
    _sql(*_SERVER_TABLES),  # 2: users, API keys, stars, ratings, plays, playlists, queues
)
SCHEMA_VERSION = len(MIGRATIONS)


def _path(where: Archive | str | os.PathLike[str]) -> Path:
    return Path(where) if isinstance(where, (str, os.PathLike)) else where.state_path


def version(con: sqlite3.Connection) -> int:
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def _check_not_newer(path: Path, found: int) -> None:
    if found > SCHEMA_VERSION:
        raise LongplayError(
            f"{path} has state schema version {found}, newer than this Longplay knows "
            f"({SCHEMA_VERSION}): it was written by a newer Longplay; upgrade Longplay to use "
            "this archive"
        )


def migrate(con: sqlite3.Connection, path: Path) -> int:
    """Bring the open file to :data:`SCHEMA_VERSION`, a step per transaction; the old version."""
    start = version(con)
    _check_not_newer(path, start)
    while (current := version(con)) < SCHEMA_VERSION:
        with transaction(con):
            # Another process may have run this step while we waited for the write lock.
            current = version(con)
            _check_not_newer(path, current)
            if current >= SCHEMA_VERSION:
                break
            MIGRATIONS[current](con)
            # PRAGMA takes no parameters; the value is our own integer.
            con.execute(f"PRAGMA user_version = {current + 1}")
    return start


def _open(path: Path, any_thread: bool = False) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; writes go through transaction().
    con = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=not any_thread
    )
    try:
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA foreign_keys = ON")
        migrate(con, path)
    except BaseException:
        con.close()
        raise
    return con


def open_connection(
    where: Archive | str | os.PathLike[str], *, any_thread: bool = False
) -> sqlite3.Connection:
    """A migrated connection the caller keeps and closes (a server's per-thread connection;
    ``any_thread`` for one that several threads use in turn, under the caller's lock)."""
    con = _open(_path(where), any_thread)
    # A connection kept by a thread pool may be used by another thread than its creator's
    # (never by two at once): the caller keeps one per thread.
    return con


@contextmanager
def connection(where: Archive | str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """An open, migrated connection to the archive's state (created when missing)."""
    con = _open(_path(where))
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """The write path: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def writing(where: Archive | str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """A connection inside one write transaction, for a short write that needs nothing else."""
    with connection(where) as con, transaction(con):
        yield con


def ensure(where: Archive | str | os.PathLike[str]) -> int:
    """Create or migrate the state file now; its schema version."""
    with connection(where) as con:
        return version(con)
