"""LibraryStore: the one owner of ``ARCHIVE/library.duckdb`` (scanned files and their matches).

Tables (documented in docs/audio.md):

- ``files``: one row per accepted audio file, keyed by (root, path): stat, hashes, stream facts,
  normalized tags, and the catalog track it matched (``track_id``, ``match_method``, ...).
- ``rejected_files``: files a scan refused (``status = 'rejected'``, with the reason) or skipped
  as not audio (``'ignored'``), kept so an unchanged one is not examined again.

One connection per store object, used by one thread; DuckDB itself refuses a second writer
process, which the store turns into a clear error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from longplay.archive import Archive
from longplay.errors import LongplayError

SCHEMA_VERSION = 1

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS files (
    root VARCHAR NOT NULL, path VARCHAR NOT NULL,
    size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, inode BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL, payload_sha256 VARCHAR NOT NULL,
    container VARCHAR NOT NULL, codec VARCHAR NOT NULL, duration_ms INTEGER, bitrate BIGINT,
    sample_rate INTEGER, channels SMALLINT,
    title VARCHAR, artists VARCHAR[], album VARCHAR, album_artists VARCHAR[],
    track_number INTEGER, track_total INTEGER, disc_number INTEGER, disc_total INTEGER,
    date VARCHAR, isrc VARCHAR, genres VARCHAR[],
    mb_recording_id VARCHAR, mb_release_id VARCHAR, mb_artist_ids VARCHAR[],
    mb_album_artist_ids VARCHAR[], has_cover BOOLEAN NOT NULL,
    track_id BIGINT, match_method VARCHAR, match_candidates INTEGER,
    match_ambiguous BOOLEAN NOT NULL DEFAULT false, match_generation INTEGER,
    scanned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (root, path)
);
CREATE TABLE IF NOT EXISTS rejected_files (
    root VARCHAR NOT NULL, path VARCHAR NOT NULL,
    size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, inode BIGINT NOT NULL,
    status VARCHAR NOT NULL, reason VARCHAR, scanned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (root, path)
);
-- The interface the plan and build stages read (docs/plan.md): matched, unambiguous files.
CREATE OR REPLACE VIEW library_files AS
    SELECT track_id, root || '/' || path AS path, size, codec, bitrate::INTEGER AS bitrate,
           duration_ms, sha256, container
    FROM files WHERE track_id IS NOT NULL AND NOT match_ambiguous;
"""

_S, _L = pa.string(), pa.list_(pa.string())
FILE_SCHEMA = pa.schema(
    [
        ("root", _S),
        ("path", _S),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("inode", pa.int64()),
        ("sha256", _S),
        ("payload_sha256", _S),
        ("container", _S),
        ("codec", _S),
        ("duration_ms", pa.int32()),
        ("bitrate", pa.int64()),
        ("sample_rate", pa.int32()),
        ("channels", pa.int16()),
        ("title", _S),
        ("artists", _L),
        ("album", _S),
        ("album_artists", _L),
        ("track_number", pa.int32()),
        ("track_total", pa.int32()),
        ("disc_number", pa.int32()),
        ("disc_total", pa.int32()),
        ("date", _S),
        ("isrc", _S),
        ("genres", _L),
        ("mb_recording_id", _S),
        ("mb_release_id", _S),
        ("mb_artist_ids", _L),
        ("mb_album_artist_ids", _L),
        ("has_cover", pa.bool_()),
    ]
)
REJECT_SCHEMA = pa.schema(
    [
        ("root", _S),
        ("path", _S),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("inode", pa.int64()),
        ("status", _S),
        ("reason", _S),
    ]
)
MATCH_SCHEMA = pa.schema(
    [
        ("root", _S),
        ("path", _S),
        ("track_id", pa.int64()),
        ("match_method", _S),
        ("match_candidates", pa.int32()),
        ("match_ambiguous", pa.bool_()),
    ]
)

Key = tuple[str, str]


class LibraryStore:
    """Reads and writes the library database of one archive."""

    def __init__(self, archive: Archive, *, read_only: bool = False):
        self.archive = archive
        self.path = archive.library_path
        if read_only and not self.path.exists():
            raise LongplayError(
                f"{archive.root} has no scanned files yet; run `longplay scan DIR` first"
            )
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise LongplayError(f"{self.path} is in use by another Longplay job ({exc})") from None
        if not read_only:
            self.con.execute(TABLES)
            self.con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> LibraryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scan bookkeeping -------------------------------------------------------------------
    def known(self, roots: Sequence[str]) -> dict[Key, tuple[int, int, int, str]]:
        """(root, path) -> (size, mtime_ns, inode, 'ok' | 'rejected' | 'ignored') under ``roots``."""
        out: dict[Key, tuple[int, int, int, str]] = {}
        for table, status in (("files", "'ok'"), ("rejected_files", "status")):
            rows = self.con.execute(
                f"SELECT root, path, size, mtime_ns, inode, {status} FROM {table} WHERE root IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [list(roots)],
            ).fetchall()
            for root, path, size, mtime_ns, inode, st in rows:
                out[(root, path)] = (size, mtime_ns, inode, st)
        return out

    def write(self, files: Sequence[dict[str, Any]], rejects: Sequence[dict[str, Any]]) -> None:
        """Insert or replace scanned and rejected rows (a key lives in one table only)."""
        if not files and not rejects:
            return
        f_tbl = pa.Table.from_pylist(
            [{k: r.get(k) for k in FILE_SCHEMA.names} for r in files], schema=FILE_SCHEMA
        )
        r_tbl = pa.Table.from_pylist(
            [{k: r.get(k) for k in REJECT_SCHEMA.names} for r in rejects], schema=REJECT_SCHEMA
        )
        keys = pa.Table.from_pylist(
            [{"root": r["root"], "path": r["path"]} for r in (*files, *rejects)],
            schema=pa.schema([("root", _S), ("path", _S)]),
        )
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("lp_keys", keys)
            con.register("lp_files", f_tbl)
            con.register("lp_rejects", r_tbl)
            for table in ("files", "rejected_files"):
                con.execute(
                    f"DELETE FROM {table} WHERE (root, path) IN (SELECT (root, path) FROM lp_keys)"
                )
            cols = ", ".join(FILE_SCHEMA.names)
            con.execute(
                f"INSERT INTO files ({cols}, scanned_at) SELECT {cols}, now() FROM lp_files"
            )
            cols = ", ".join(REJECT_SCHEMA.names)
            con.execute(
                f"INSERT INTO rejected_files ({cols}, scanned_at) SELECT {cols}, now() FROM lp_rejects"
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            for name in ("lp_keys", "lp_files", "lp_rejects"):
                con.unregister(name)

    def remove(self, keys: Iterable[Key]) -> int:
        rows = [{"root": r, "path": p} for r, p in keys]
        if not rows:
            return 0
        self.con.register("lp_gone", pa.Table.from_pylist(rows))
        try:
            for table in ("files", "rejected_files"):
                self.con.execute(
                    f"DELETE FROM {table} WHERE (root, path) IN (SELECT (root, path) FROM lp_gone)"
                )
        finally:
            self.con.unregister("lp_gone")
        return len(rows)

    def move(self, moves: Sequence[tuple[Key, Key, tuple[int, int, int]]]) -> None:
        """Rename rows ``old -> new`` (with the new stat), keeping facts, tags and match."""
        for (old_root, old_path), (new_root, new_path), (size, mtime_ns, inode) in moves:
            for table in ("files", "rejected_files"):
                self.con.execute(
                    f"UPDATE {table} SET root = ?, path = ?, size = ?, mtime_ns = ?, inode = ? "
                    "WHERE root = ? AND path = ?",
                    [new_root, new_path, size, mtime_ns, inode, old_root, old_path],
                )

    def sha256_of(self, keys: Iterable[Key]) -> dict[str, Key]:
        """sha256 -> (root, path) for the given keys (to tell a move from a delete + add)."""
        rows = [{"root": r, "path": p} for r, p in keys]
        if not rows:
            return {}
        self.con.register("lp_q", pa.Table.from_pylist(rows))
        try:
            found = self.con.execute(
                "SELECT sha256, root, path FROM files JOIN lp_q USING (root, path)"
            ).fetchall()
        finally:
            self.con.unregister("lp_q")
        return {sha: (root, path) for sha, root, path in found}

    # -- matching ---------------------------------------------------------------------------
    def match_inputs(self, generation: int, *, everything: bool = False) -> pa.Table:
        """Files whose match is not yet decided against catalog ``generation``."""
        where = "" if everything else "WHERE match_generation IS DISTINCT FROM ?"
        params = [] if everything else [generation]
        return self.con.sql(
            "SELECT root, path, isrc, mb_recording_id, title, artists, album, track_number, "
            f"duration_ms FROM files {where}",
            params=params,
        ).to_arrow_table()

    def set_matches(self, matches: pa.Table, generation: int) -> None:
        matches = matches.cast(MATCH_SCHEMA)
        self.con.register("lp_m", matches)
        try:
            self.con.execute(
                "UPDATE files SET track_id = m.track_id, match_method = m.match_method, "
                "match_candidates = m.match_candidates, match_ambiguous = m.match_ambiguous, "
                "match_generation = ? FROM lp_m m WHERE files.root = m.root AND files.path = m.path",
                [generation],
            )
        finally:
            self.con.unregister("lp_m")

    # -- reading ----------------------------------------------------------------------------
    def rows(
        self, sql_where: str = "true", params: Sequence[Any] = (), table: str = "files"
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` as dicts (``sql_where`` is trusted code, values go in ``params``)."""
        cur = self.con.execute(
            f"SELECT * FROM {table} WHERE {sql_where} ORDER BY root, path", list(params)
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        row = self.con.execute(
            "SELECT count(*), count(track_id), count(*) FILTER (match_ambiguous), "
            "count(*) FILTER (track_id IS NULL AND NOT match_ambiguous AND match_generation IS NOT NULL), "
            "count(*) FILTER (match_generation IS NULL) FROM files"
        ).fetchone()
        rej = dict(
            self.con.execute("SELECT status, count(*) FROM rejected_files GROUP BY ALL").fetchall()
        )
        assert row is not None
        return {
            "files": row[0],
            "matched": row[1],
            "ambiguous": row[2],
            "unmatched": row[3],
            "not_matched_yet": row[4],
            "rejected": rej.get("rejected", 0),
            "ignored": rej.get("ignored", 0),
        }
