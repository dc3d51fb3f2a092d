"""`longplay ingest listenbrainz`: recording popularity statistics joined onto the catalog's tracks.

Input: ListenBrainz's recording popularity statistics, one row per recording MBID with its total
listen count and total user count, as CSV (with a header), JSON lines or Parquet. Column names
``recording_mbid``, ``total_listen_count``, ``total_user_count`` (or ``mbid``, ``listen_count``,
``user_count``). Each file is one resumable unit: its rows are checked in SQL (an MBID, counts
that are non-negative integers) and staged; bad rows are rejects with their line and reason.

The join (set-based, one transaction) writes, on every track of the current generation whose
recording MBID has statistics: ``listen_count``, ``user_count`` and ``popularity =
popularity_from_listens(listen_count)`` (catalog/popularity.py: monotone, log-scaled, 0–100).
Statistics whose MBID no track carries are counted and listed in the rejects log as
``unmatched``, never dropped silently: read = matched + unmatched + rejected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from longplay import progress
from longplay.archive import Archive
from longplay.catalog.ingest import rejects_path
from longplay.catalog.sources.readers import file_identity
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError, LongplayError
from longplay.rejects import RejectsLog

SOURCE = "listenbrainz"
COLUMNS = {
    "recording_mbid": ("recording_mbid", "mbid"),
    "listens": ("total_listen_count", "listen_count", "listens"),
    "users": ("total_user_count", "user_count", "users"),
}
_UUID = "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"

STAGING = """
CREATE TABLE IF NOT EXISTS _lb_stats (_file INTEGER, _n BIGINT, input VARCHAR, position VARCHAR,
                                      mbid VARCHAR, listens BIGINT, users BIGINT);
CREATE TABLE IF NOT EXISTS _lb_rejects (_file INTEGER, _n BIGINT, input VARCHAR, position VARCHAR,
                                        reason VARCHAR, kind VARCHAR);
CREATE TABLE IF NOT EXISTS _lb_counts (_file INTEGER, read BIGINT, rejected BIGINT);
"""


@dataclass
class StatsReport:
    generation: str
    read: int = 0
    rejected: int = 0
    matched: int = 0  # statistics rows whose MBID is on at least one track
    unmatched: int = 0  # statistics rows whose MBID no track carries
    tracks_updated: int = 0
    files_skipped: int = 0
    rejects_path: Path | None = None
    top_unmatched: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"listenbrainz: read {self.read:,} = matched {self.matched:,} + unmatched {self.unmatched:,}"
            f" + rejected {self.rejected:,}; {self.tracks_updated:,} tracks updated; generation {self.generation}"
        )
        if self.files_skipped:
            line += f" (resumed: {self.files_skipped} file(s) already done)"
        if self.rejects_path is not None:
            line += f"\nrejects and unmatched MBIDs: {self.rejects_path}"
        return line


def _kind(path: Path) -> str:
    name = path.name.lower()
    for kind, suffixes in (
        ("csv", (".csv", ".csv.gz", ".csv.zst")),
        ("parquet", (".parquet",)),
        ("jsonl", (".jsonl", ".ndjson", ".json")),
    ):
        if name.endswith(suffixes):
            return kind
    raise InputError(f"{path}: unknown statistics format (expected .csv, .jsonl or .parquet)")


def _raw(con: duckdb.DuckDBPyConnection, path: Path, kind: str) -> tuple[str, int]:
    """Load ``path`` into temp table _lb_raw (all text, with _n); returns (position word, offset)."""
    try:
        if kind == "csv":
            con.execute(
                """CREATE OR REPLACE TEMP TABLE _lb_raw AS SELECT row_number() OVER () AS _n, *
                           FROM read_csv(?, all_varchar = true, header = true)""",
                [str(path)],
            )
            return "line", 1  # the header is line 1
        if kind == "parquet":
            con.execute(
                """CREATE OR REPLACE TEMP TABLE _lb_raw AS SELECT file_row_number + 1 AS _n, *
                           FROM read_parquet(?, file_row_number = true)""",
                [str(path)],
            )
            return "row", 0
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as {kind}: {str(exc).splitlines()[0]}") from None
    # JSON lines: each line as text, so that one malformed line is one reject, not a failed file.
    # Read in blocks, so a statistics file of any size takes bounded memory.
    con.execute("CREATE OR REPLACE TEMP TABLE _lb_lines2 (_n BIGINT, line VARCHAR)")
    n = 0
    with open(path, "rb") as fh:
        tail = b""
        while block := fh.read(_BLOCK):
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            n = _append_lines(con, lines, n)
        if tail:
            _append_lines(con, [tail], n)
    # Only well-formed objects reach the JSON functions (they raise on anything else).
    con.execute("""CREATE OR REPLACE TEMP TABLE _lb_raw AS
                   SELECT _n, CASE WHEN _ok THEN line END AS line, _ok, raw,
                          CASE WHEN _ok THEN json_keys(line) END AS _keys
                   FROM (SELECT _n, line, line AS raw, CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT'
                                                ELSE false END AS _ok
                         FROM _lb_lines2 WHERE trim(line) <> '')""")
    con.execute("DROP TABLE _lb_lines2")
    return "line", 0


_BLOCK = 1 << 26


def _append_lines(con: duckdb.DuckDBPyConnection, lines: list[bytes], before: int) -> int:
    """Append ``lines`` to _lb_lines2, numbered from ``before + 1``; returns the last number."""
    if lines:
        con.register(
            "_lb_lines",
            pa.table(
                {
                    "_n": np.arange(before + 1, before + 1 + len(lines), dtype=np.int64),
                    "line": pa.array(lines, pa.binary()),
                }
            ),
        )
        con.execute("INSERT INTO _lb_lines2 SELECT _n, decode(line) FROM _lb_lines")
        con.unregister("_lb_lines")
    return before + len(lines)


def _load_file(con: duckdb.DuckDBPyConnection, file_no: int, path: Path) -> None:
    kind = _kind(path)
    word, offset = _raw(con, path, kind)
    if kind == "jsonl":
        keys = {
            k
            for (ks,) in con.execute("SELECT DISTINCT unnest(_keys) FROM _lb_raw").fetchall()
            for k in [ks]
        }
        pick = {
            want: next((c for c in names if c in keys), None) for want, names in COLUMNS.items()
        }
        expr = {w: (f"json_extract(line, '$.\"{c}\"')" if c else "NULL") for w, c in pick.items()}
        text = {
            w: (f"json_extract_string(line, '$.\"{c}\"')" if c else "NULL") for w, c in pick.items()
        }
        ok, columns = "_ok", keys
    else:
        columns = {r[0] for r in con.execute("DESCRIBE _lb_raw").fetchall()} - {"_n"}
        pick = {
            want: next((c for c in names if c in columns), None) for want, names in COLUMNS.items()
        }
        text = {w: (f'"{c}"::VARCHAR' if c else "NULL") for w, c in pick.items()}
        expr = text
        ok = "true"
    if pick["recording_mbid"] is None or pick["listens"] is None:
        raise InputError(
            f"{path}: needs columns recording_mbid and total_listen_count "
            f"(found: {', '.join(sorted(columns)) or 'none'})"
        )
    checks = (
        f"""CASE
        WHEN NOT {ok} THEN 'malformed JSON or not an object: ' || left(raw, 60)
        WHEN {text["recording_mbid"]} IS NULL THEN 'missing recording_mbid'
        WHEN NOT regexp_matches(lower(trim({text["recording_mbid"]})), {_UUID})
            THEN 'recording_mbid ' || to_json({text["recording_mbid"]})::VARCHAR || ' is not a MusicBrainz ID'
        WHEN {text["listens"]} IS NULL THEN 'missing total_listen_count'
        WHEN TRY_CAST({text["listens"]} AS BIGINT) IS NULL OR TRY_CAST({text["listens"]} AS BIGINT) < 0
            OR {"json_type(" + expr["listens"] + ") NOT IN ('UBIGINT', 'BIGINT')" if kind == "jsonl" else "false"}
            THEN 'total_listen_count ' || {text["listens"]} || ' is not a non-negative integer'
        WHEN {text["users"]} IS NOT NULL AND (TRY_CAST({text["users"]} AS BIGINT) IS NULL
            OR TRY_CAST({text["users"]} AS BIGINT) < 0
            OR {"json_type(" + expr["users"] + ") NOT IN ('UBIGINT', 'BIGINT')" if kind == "jsonl" else "false"})
            THEN 'total_user_count ' || {text["users"]} || ' is not a non-negative integer'
    END"""
        if kind == "jsonl"
        else f"""CASE
        WHEN {text["recording_mbid"]} IS NULL THEN 'missing recording_mbid'
        WHEN NOT regexp_matches(lower(trim({text["recording_mbid"]})), {_UUID})
            THEN 'recording_mbid ' || to_json({text["recording_mbid"]})::VARCHAR || ' is not a MusicBrainz ID'
        WHEN {text["listens"]} IS NULL THEN 'missing total_listen_count'
        WHEN TRY_CAST({text["listens"]} AS BIGINT) IS NULL OR TRY_CAST({text["listens"]} AS BIGINT) < 0
            THEN 'total_listen_count ' || {text["listens"]} || ' is not a non-negative integer'
        WHEN {text["users"]} IS NOT NULL AND (TRY_CAST({text["users"]} AS BIGINT) IS NULL
            OR TRY_CAST({text["users"]} AS BIGINT) < 0)
            THEN 'total_user_count ' || {text["users"]} || ' is not a non-negative integer'
    END"""
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lb_u AS
                    SELECT _n, '{word} ' || (_n + {offset}) AS position, {checks} AS problem,
                           lower(trim({text["recording_mbid"]})) AS mbid,
                           TRY_CAST({text["listens"]} AS BIGINT) AS listens,
                           TRY_CAST({text["users"]} AS BIGINT) AS users
                    FROM _lb_raw""")
    con.execute("DROP TABLE _lb_raw")


def _join(con: duckdb.DuckDBPyConnection) -> None:
    """Repeated MBIDs keep their first row; stats join onto tracks by recording MBID."""
    con.execute("""
        INSERT INTO _lb_rejects SELECT _file, _n, input, position,
            'duplicate recording_mbid ' || mbid || ' (first occurrence kept)', 'record'
        FROM _lb_stats QUALIFY row_number() OVER (PARTITION BY mbid ORDER BY _file, _n) > 1""")
    con.execute("""DELETE FROM _lb_stats WHERE (_file, _n) IN (
                       SELECT (_file, _n) FROM _lb_rejects WHERE kind = 'record')""")
    con.execute("""UPDATE _lb_counts SET rejected = c.n FROM (
                       SELECT _file, count(*) AS n FROM _lb_rejects WHERE kind = 'record' GROUP BY _file) c
                   WHERE _lb_counts._file = c._file""")
    con.execute("""
        INSERT INTO _lb_rejects SELECT _file, _n, input, position,
            'recording MBID ' || mbid || ' is on no track of the catalog (' || listens || ' listens)', 'unmatched'
        FROM _lb_stats WHERE mbid NOT IN (SELECT mbid FROM tracks WHERE mbid IS NOT NULL)""")
    con.execute("""
        UPDATE tracks SET listen_count = s.listens, user_count = s.users,
                          popularity = popularity_from_listens(s.listens)
        FROM _lb_stats s WHERE tracks.mbid = s.mbid""")


def ingest_listenbrainz(archive: Archive, files: list[Path]) -> StatsReport:
    """Join the statistics in ``files`` onto the current catalog, in a new generation."""
    from longplay.catalog import identity

    files = [Path(f) for f in files]
    for f in files:
        if not f.is_file():
            raise InputError(f"{f}: no such file")
        _kind(f)
    store = CatalogStore(archive)
    if store.current_name() is None:
        raise LongplayError(
            f"the archive {archive.root} has no catalog yet: ListenBrainz statistics join "
            "onto tracks, so ingest a source with recording MBIDs first (e.g. `longplay ingest musicbrainz`)"
        )
    job = {"source": SOURCE, "files": [file_identity(f) for f in files]}
    with store.build(job) as gen:
        con = gen.con
        con.execute(STAGING)
        report = StatsReport(generation=gen.name)
        done = gen.done_units()
        with progress.progress("ingest listenbrainz", len(files) + 1, "items") as bar:
            for file_no, path in enumerate(files):
                unit = f"{file_no}:{file_identity(path)}"
                if unit in done:
                    report.files_skipped += 1
                else:
                    _load_file(con, file_no, path)
                    with gen.unit(unit):
                        con.execute(
                            "INSERT INTO _lb_rejects SELECT ?, _n, ?, position, problem, 'record' FROM _lb_u "
                            "WHERE problem IS NOT NULL",
                            [file_no, str(path)],
                        )
                        con.execute(
                            "INSERT INTO _lb_stats SELECT ?, _n, ?, position, mbid, listens, users FROM _lb_u "
                            "WHERE problem IS NULL",
                            [file_no, str(path)],
                        )
                        con.execute(
                            "INSERT INTO _lb_counts SELECT ?, count(*), count(problem) FROM _lb_u",
                            [file_no],
                        )
                    con.execute("DROP TABLE _lb_u")
                    progress.note(f"ingest listenbrainz: {path} staged")
                bar.advance()
            if "__join__" not in gen.done_units():
                with gen.unit("__join__"):
                    _join(con)
                    identity.assign(con)  # canonical tracks follow listens
                    con.execute(
                        """INSERT INTO ingest_log SELECT ?, ?, ?, read, read - rejected, rejected, 0, ?
                                   FROM _lb_counts ORDER BY _file""",
                        [gen.number, SOURCE, "stats", dt.datetime.now(dt.UTC).replace(tzinfo=None)],
                    )
            bar.advance()
        one = lambda sql: int(con.execute(sql).fetchall()[0][0] or 0)  # noqa: E731
        report.read = one("SELECT sum(read) FROM _lb_counts")
        report.rejected = one("SELECT count(*) FROM _lb_rejects WHERE kind = 'record'")
        report.unmatched = one("SELECT count(*) FROM _lb_rejects WHERE kind = 'unmatched'")
        report.matched = one("SELECT count(*) FROM _lb_stats") - report.unmatched
        report.tracks_updated = one(
            "SELECT count(*) FROM tracks WHERE mbid IN (SELECT mbid FROM _lb_stats)"
        )
        report.top_unmatched = [
            {"mbid": m, "listens": n}
            for m, n in con.execute(
                """SELECT mbid, listens FROM _lb_stats WHERE mbid NOT IN (SELECT mbid FROM tracks WHERE mbid IS NOT NULL)
               ORDER BY listens DESC, mbid LIMIT 5"""
            ).fetchall()
        ]
        path = rejects_path(archive, SOURCE, gen.name)
        path.unlink(missing_ok=True)
        rows = con.execute("""SELECT input, position, reason, kind FROM _lb_rejects
                              ORDER BY kind, _file, _n""").fetchall()
        if rows:
            with RejectsLog(path) as log:
                for inp, pos, reason, kind in rows:
                    log.add(source=SOURCE, input=inp, position=pos, reason=reason, kind=kind)
            report.rejects_path = path
        gen.commit()
    return report
