"""AnalysisStore: the one owner of ``ARCHIVE/analysis/analysis.sqlite``, keyed by payload hash.

Analysis results are not catalog data: they belong to the audio, whatever its path, tags or
catalog generation, so they live beside the catalog and are reused across generations.

- ``features``: one row per audio payload: the values (JSON, without fingerprints), the raw
  Chromaprint items (little-endian uint32 blob) and AcoustID's compressed string.
- ``files``: one row per held file analyzed or refused, with the stat it had, so an unchanged
  file is not opened again: its payload hash, or ``status = 'rejected'`` with the reason.

SQLite in WAL mode, one commit per finished file: a ``kill -9`` loses at most the files in
flight, and the next run picks up where this one stopped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import orjson

from longplay.archive import Archive
from longplay.audio.analysis import ANALYSIS_VERSION, Features

SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    payload_sha256 TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    vals TEXT NOT NULL,                  -- JSON: Features.values()
    fingerprint BLOB NOT NULL,           -- raw Chromaprint items, uint32 little-endian
    fingerprint_compressed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,               -- absolute
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
    payload_sha256 TEXT,                 -- NULL when rejected
    status TEXT NOT NULL,                -- ok | rejected
    reason TEXT
);
CREATE INDEX IF NOT EXISTS files_payload ON files (payload_sha256);
"""
Stat = tuple[int, int, int]  # size, mtime_ns, inode


def analysis_dir(archive: Archive) -> Path:
    return archive.root / "analysis"


def pack_items(raw: list[int]) -> bytes:
    return np.asarray(raw, dtype="<u4").tobytes()


def unpack_items(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4")


class AnalysisStore:
    def __init__(self, archive: Archive, *, create: bool = True):
        self.path = analysis_dir(archive) / "analysis.sqlite"
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.exists = self.path.exists()
        self.con = sqlite3.connect(self.path if self.exists or create else ":memory:", timeout=30)
        self.con.execute("PRAGMA journal_mode = WAL")
        self.con.executescript(SCHEMA)
        self.con.commit()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> AnalysisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the analyze job --------------------------------------------------------------------
    def known_files(self) -> dict[str, tuple[Stat, str | None, str]]:
        """path -> (stat, payload hash or None, status)."""
        rows = self.con.execute(
            "SELECT path, size, mtime_ns, inode, payload_sha256, status FROM files"
        )
        return {p: ((s, m, i), h, st) for p, s, m, i, h, st in rows}

    def analyzed(self) -> set[str]:
        rows = self.con.execute(
            "SELECT payload_sha256 FROM features WHERE version = ?", [ANALYSIS_VERSION]
        )
        return {h for (h,) in rows}

    def record(
        self, features: Features | None, files: Iterable[tuple[str, Stat, str | None, str | None]]
    ) -> None:
        """One finished file (or payload): its features and its files' rows, in one commit."""
        with self.con:
            if features is not None:
                self.con.execute(
                    "INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        features.payload_sha256,
                        ANALYSIS_VERSION,
                        features.duration_s,
                        orjson.dumps(features.values(), option=orjson.OPT_SORT_KEYS).decode(),
                        pack_items(features.fingerprint),
                        features.fingerprint_compressed,
                    ],
                )
            self.con.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (path, *stat, payload, "ok" if reason is None else "rejected", reason)
                    for path, stat, payload, reason in files
                ],
            )

    def forget(self, paths: Iterable[str]) -> None:
        with self.con:
            self.con.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    # -- reading ----------------------------------------------------------------------------
    def features(
        self, payloads: Iterable[str], *, fingerprints: bool = False
    ) -> dict[str, Features]:
        wanted = sorted(set(payloads))
        out: dict[str, Features] = {}
        cols = "payload_sha256, vals" + (
            ", fingerprint, fingerprint_compressed" if fingerprints else ""
        )
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.con.execute(
                f"SELECT {cols} FROM features WHERE payload_sha256 IN ({marks})", chunk
            ):
                values = orjson.loads(row[1])
                if fingerprints:
                    values["fingerprint"] = unpack_items(row[2]).tolist()
                    values["fingerprint_compressed"] = row[3]
                out[row[0]] = Features.from_values(values)
        return out

    def payload_of_paths(self, paths: Iterable[str]) -> dict[str, str]:
        """Absolute path -> payload hash, for analyzed files whose stat is unchanged."""
        out = {}
        for path in paths:
            row = self.con.execute(
                "SELECT size, mtime_ns, inode, payload_sha256 FROM files WHERE path = ? AND status = 'ok'",
                [path],
            ).fetchone()
            if row is None:
                continue
            try:
                st = Path(path).stat()
            except OSError:
                continue
            if (st.st_size, st.st_mtime_ns, st.st_ino) == tuple(row[:3]):
                out[path] = row[3]
        return out

    def fingerprints(self) -> Iterator[tuple[str, np.ndarray]]:
        """(payload hash, raw items) of every analyzed payload, in hash order."""
        for payload, blob in self.con.execute(
            "SELECT payload_sha256, fingerprint FROM features ORDER BY payload_sha256"
        ):
            yield payload, unpack_items(blob)

    def last_row(self) -> int:
        """The highest row id of ``features``: ids only grow (rows are replaced, never deleted)."""
        (last,) = self.con.execute("SELECT coalesce(max(rowid), 0) FROM features").fetchone()
        return int(last)

    def fingerprints_since(self, row: int) -> Iterator[tuple[int, np.ndarray]]:
        """(row id, raw items) of the payloads stored after row ``row`` (the index's input)."""
        for rowid, blob in self.con.execute(
            "SELECT rowid, fingerprint FROM features WHERE rowid > ? ORDER BY rowid", [row]
        ):
            yield rowid, unpack_items(blob)

    def fingerprints_by_id(self, rows: list[int]) -> list[tuple[int, str, np.ndarray]]:
        """(row id, payload hash, raw items) of those rows that still exist."""
        marks = ",".join("?" * len(rows))
        found = self.con.execute(
            f"SELECT rowid, payload_sha256, fingerprint FROM features WHERE rowid IN ({marks})",
            rows,
        ).fetchall()
        return [(r, p, unpack_items(b)) for r, p, b in found]

    def all_rows(self) -> list[tuple[str, str, bytes, str]]:
        """(payload, values JSON, raw blob, compressed) of every payload, in hash order."""
        return self.con.execute(
            "SELECT payload_sha256, vals, fingerprint, fingerprint_compressed FROM features "
            "ORDER BY payload_sha256"
        ).fetchall()
