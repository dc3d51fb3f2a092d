"""state.sqlite: an archive made before versioning is migrated in place; a newer one is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from longplay import state
from longplay.archive import Archive
from longplay.errors import LongplayError

# The build ledger's DDL exactly as `longplay build` ran it before state.py (commit 6d92213).
OLD_LEDGER = """
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
);
"""
ROWS = [
    (1, 10, "original", "a" * 64, "/m/a.flac", "b" * 64, "build/01/1.flac", 123, "c" * 64, "flac"),
    (2, 20, "opus", "d" * 64, "/m/b.mp3", "e" * 64, "build/02/2.opus", 45, "f" * 64, "opus"),
]


def _old_state(path: Path) -> None:
    """state.sqlite as the code before versioning left it: WAL, the ledger, user_version 0."""
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA journal_mode=WAL")
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(OLD_LEDGER)
        con.executemany(
            "INSERT INTO build_files (track_id, recording_id, action, inputs, src_path, "
            "src_sha256, out_path, size, sha256, format) VALUES (?,?,?,?,?,?,?,?,?,?)",
            ROWS,
        )
        con.commit()
    finally:
        con.close()


def _schema(path: Path) -> list[tuple[str, str]]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        con.close()


def test_an_archive_from_before_versioning_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _old_state(path)
    before = _schema(path)
    with state.connection(path) as con:
        assert state.version(con) == state.SCHEMA_VERSION >= 1
        got = con.execute(
            "SELECT track_id, recording_id, action, inputs, src_path, src_sha256, out_path, "
            "size, sha256, format FROM build_files ORDER BY track_id"
        ).fetchall()
        assert got == ROWS
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    after = _schema(path)
    # Version 1 adopts the ledger exactly as it was; later steps only add.
    assert set(before) <= set(after)
    with state.connection(path) as con:  # a second open is a no-op
        assert state.migrate(con, path) == state.SCHEMA_VERSION
    assert _schema(path) == after


def test_a_new_archive_gets_the_current_schema(tmp_path: Path) -> None:
    archive = Archive.init(tmp_path / "a")
    with state.connection(archive) as con:
        assert state.version(con) == state.SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM build_files").fetchone()[0] == 0
    old = tmp_path / "old.sqlite"
    _old_state(old)
    con = sqlite3.connect(old)
    con.execute("DELETE FROM build_files")
    con.commit()
    con.close()
    state.ensure(old)
    # A fresh archive and a migrated old one have the same tables, column for column.
    assert _schema(archive.state_path) == _schema(old)


def test_state_from_a_newer_longplay_is_refused(tmp_path: Path) -> None:
    archive = Archive.init(tmp_path / "a")
    con = sqlite3.connect(archive.state_path)
    con.execute(f"PRAGMA user_version = {state.SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(LongplayError, match="newer than this Longplay knows"):
        state.ensure(archive)
    with pytest.raises(LongplayError, match="upgrade Longplay"):
        Archive.init(archive.root)


def test_a_failing_step_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.sqlite"
    _old_state(path)

    def half_done(con: sqlite3.Connection) -> None:
        con.execute("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
        raise RuntimeError("power cut")

    steps = (*state.MIGRATIONS, half_done)
    monkeypatch.setattr(state, "MIGRATIONS", steps)
    monkeypatch.setattr(state, "SCHEMA_VERSION", len(steps))
    with pytest.raises(RuntimeError, match="power cut"):
        state.ensure(path)
    con = sqlite3.connect(path)
    try:
        # The released steps committed on their own; the last rolled back with its bump.
        assert con.execute("PRAGMA user_version").fetchone()[0] == len(steps) - 1
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in names and "build_files" in names
    finally:
        con.close()


def test_a_write_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with pytest.raises(ValueError), state.writing(path) as con:
        con.execute(
            "INSERT INTO build_files (track_id, recording_id, action, inputs, src_path, "
            "src_sha256, out_path, size, sha256, format) VALUES (?,?,?,?,?,?,?,?,?,?)",
            ROWS[0],
        )
        raise ValueError
    with state.connection(path) as con:
        assert con.execute("SELECT count(*) FROM build_files").fetchone()[0] == 0


def _version_1_state(path: Path) -> None:
    """A state file as Longplay left it at schema version 1: the ledger with rows in it."""
    _old_state(path)
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA user_version = 1")
        con.commit()
    finally:
        con.close()


def test_version_1_is_upgraded_to_the_server_tables_and_keeps_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _version_1_state(path)
    with state.connection(path) as con:
        assert state.version(con) == state.SCHEMA_VERSION >= 2
        assert con.execute("SELECT count(*) FROM build_files").fetchone()[0] == len(ROWS)
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        assert {
            "users",
            "api_keys",
            "stars",
            "ratings",
            "plays",
            "playlists",
            "playlist_entries",
            "play_queues",
            "play_queue_entries",
        } <= names
        with state.transaction(con):
            con.execute(
                "INSERT INTO users (name, password_hash, password_enc) VALUES ('a', 'h', x'00')"
            )
            con.execute("INSERT INTO stars (user_id, item_id) VALUES (1, 'tr-5')")
        with state.transaction(con):  # deleting a user takes their state with them
            con.execute("DELETE FROM users")
        assert con.execute("SELECT count(*) FROM stars").fetchone()[0] == 0
