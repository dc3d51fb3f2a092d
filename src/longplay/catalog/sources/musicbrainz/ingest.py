"""`longplay ingest musicbrainz`: the JSON dumps as resumable ingest units (docs/sources.md).

Pipeline::

    dump streams ──chunks of lines──▶ chunks.map_chunk (orjson, documents) ──Arrow──▶ _in (flat rows)
                                                └─ residuals, extra ISRCs, sort names ──▶ _mb_* staging
    finalize: after_merge (source_records, artist rows) ──▶ identity

One unit is a chunk of ``musicbrainz_chunk_documents`` lines of one entity stream; a unit's rows
and its staged residuals commit in one transaction, so a killed run resumes where it stopped.
Counts are kept per document: documents read = kept + rejected, for each entity.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from longplay.archive import Archive
from longplay.catalog import ingest
from longplay.catalog.ingest import IngestReport, Unit
from longplay.catalog.schema import FLAT_COLUMNS
from longplay.catalog.sources.musicbrainz import dump
from longplay.catalog.sources.musicbrainz.chunks import Mapped, map_chunk
from longplay.errors import LongplayError

SOURCE = "musicbrainz"

_STAGED_SEQ = (
    1 << 21
)  # staged residuals are numbered unit * 2^21 + line in chunk (a chunk holds fewer lines)

STAGING = """
CREATE TABLE IF NOT EXISTS _mb_docs (seq BIGINT, _unit INTEGER, line BIGINT, kind VARCHAR, source_key VARCHAR);
CREATE TABLE IF NOT EXISTS _mb_sort (source_key VARCHAR, sort_name VARCHAR);
CREATE TABLE IF NOT EXISTS _mb_counts (_unit INTEGER, kind VARCHAR, read BIGINT, rejected BIGINT);
CREATE TABLE IF NOT EXISTS _mb_unknown (_unit INTEGER, path VARCHAR, n BIGINT, first_line BIGINT);
CREATE TABLE IF NOT EXISTS _mb_summary (kind VARCHAR, read BIGINT, rejected BIGINT, kept BIGINT);
"""


def _unit(stream: dump.Stream, chunk: dump.Chunk) -> Unit:
    last = chunk.first_line + len(chunk.lines) - 1
    name = f"{stream.identity} lines {chunk.first_line}-{last}"
    state: dict[str, Any] = {}

    def prepare() -> None:  # parse and map (chunks.py), ahead of the DuckDB work of the unit before
        lines, chunk.lines = chunk.lines, []  # not needed after mapping: free them early
        state["mapped"] = map_chunk(stream.kind, chunk.first_line, lines, chunk.truncated)

    def load(con: duckdb.DuckDBPyConnection) -> None:
        if "mapped" not in state:
            prepare()
        m: Mapped = state["mapped"]
        table = m.flat
        con.register("_mb_flat", table)
        missing = [
            f"CAST(NULL AS {v}) AS {k}"
            for k, v in FLAT_COLUMNS.items()
            if k not in table.column_names
        ]
        have = [
            f"CAST({k} AS {v}) AS {k}" for k, v in FLAT_COLUMNS.items() if k in table.column_names
        ]
        extra = [
            "_pos",
            "_problems" if "_problems" in table.column_names else "NULL::VARCHAR[] AS _problems",
            "_album_only" if "_album_only" in table.column_names else "false AS _album_only",
        ]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _in AS SELECT {', '.join(have + missing + extra)} FROM _mb_flat"
        )
        con.unregister("_mb_flat")

    def after(con: duckdb.DuckDBPyConnection) -> None:
        m: Mapped = state.pop("mapped")
        u = unit.number
        con.execute(STAGING)
        # Residuals go straight from Arrow to source_records (one copy of the big strings), marked
        # with a negative generation -(seq + 1) until after_merge keeps or drops them; seq is the
        # document's line within the chunk, so the two inserts below agree without a row order.
        # A release document is a candidate only when its rows survived the unit (``_rows``: not
        # rejected, not a repeat of an earlier release); other documents always are.
        seq = f"{u * _STAGED_SEQ} + line - {chunk.first_line}"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _mb_kept_lines AS SELECT DISTINCT _at FROM _rows WHERE _at IS NOT NULL"
        )
        kept = "kind <> 'release' OR 'line ' || line IN (SELECT _at FROM _mb_kept_lines)"
        con.register("_mb_d", m.docs)
        con.execute(f"""INSERT INTO source_records SELECT 'musicbrainz', kind, source_key, record, -({seq} + 1)
                        FROM _mb_d WHERE {kept}""")
        con.execute(
            f"INSERT INTO _mb_docs SELECT {seq}, {u}, line, kind, source_key FROM _mb_d WHERE {kept}"
        )
        con.unregister("_mb_d")
        if m.isrc_extra is not None:  # ISRCs beyond the first, for the tracks the unit kept
            con.register("_mb_i", m.isrc_extra)
            con.execute("""
                INSERT INTO track_isrcs
                SELECT DISTINCT ON (k, p) stable_id('musicbrainz:track:' || k), i, p FROM _mb_i
                WHERE k IN (SELECT track_key FROM _rows WHERE track_key IS NOT NULL) ORDER BY k, p, i""")
            con.unregister("_mb_i")
        if m.sort_names is not None:
            con.register("_mb_s", m.sort_names)
            con.execute("INSERT INTO _mb_sort SELECT k, s FROM _mb_s")
            con.unregister("_mb_s")
        con.execute(
            "INSERT INTO _mb_counts VALUES (?, ?, ?, ?)", [u, stream.kind, m.read, m.rejected]
        )
        kept_lines = (
            {int(p.split()[1]) for (p,) in con.execute("SELECT _at FROM _mb_kept_lines").fetchall()}
            if m.oversize
            else set()
        )
        con.execute("DROP TABLE _mb_kept_lines")
        too_large = [(line, f, v) for line, f, v in m.oversize if line in kept_lines]
        for (
            line,
            f,
            v,
        ) in too_large:  # value rejects the mapping found (the SQL rules see only NULL)
            con.execute(
                "INSERT INTO _rejects VALUES (?, NULL, ?, ?, ?, 'value', ?, NULL)",
                [
                    u,
                    stream.input,
                    f"line {line}",
                    f"{f} {v} does not fit its column (kept in the source record)",
                    f,
                ],
            )
        if too_large:
            con.execute(
                "UPDATE _unit_counts SET values_rejected = values_rejected + ? WHERE _unit = ?",
                [len(too_large), u],
            )
        for path, n in m.unknown.items():
            first = m.unknown_first[path]
            con.execute("INSERT INTO _mb_unknown VALUES (?, ?, ?, ?)", [u, path, n, first])
            con.execute(
                """INSERT INTO _rejects VALUES (?, NULL, ?, ?, ?, 'note', ?, NULL)""",
                [
                    u,
                    stream.input,
                    f"line {first}",
                    f"unknown field {path!r} in {n} document(s) of this chunk: kept in the source record, not mapped",
                    path,
                ],
            )

    unit = Unit(
        name=name, input=stream.input, load=load, size=chunk.nbytes, after=after, prepare=prepare
    )
    return unit


def units(streams: list[dump.Stream], chunk_documents: int) -> Iterator[Unit]:
    """Units in input order; each stream is read once, as it goes (archives are not extracted)."""
    for stream in streams:
        for chunk in dump.chunks(stream, chunk_documents):
            yield _unit(stream, chunk)


def after_merge(con: duckdb.DuckDBPyConnection, generation: int) -> None:
    """Source records, extra ISRCs and artist rows of this ingest (set-based, in finalize)."""
    con.execute(STAGING)
    # _mb_docs holds the kept releases (see the unit's ``after``) and every other document; a
    # repeated document (same entity and ID) keeps its first occurrence.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _mb_kept AS
        SELECT DISTINCT ON (kind, source_key) seq, kind, source_key FROM _mb_docs d
        ORDER BY kind, source_key, _unit, line""")
    con.execute("""DELETE FROM source_records WHERE source = 'musicbrainz' AND generation >= 0
                   AND (kind, source_key) IN (SELECT (kind, source_key) FROM _mb_kept)""")
    con.execute("""DELETE FROM source_records WHERE source = 'musicbrainz' AND generation < 0
                   AND -generation - 1 NOT IN (SELECT seq FROM _mb_kept)""")
    con.execute(
        "UPDATE source_records SET generation = ? WHERE source = 'musicbrainz' AND generation < 0",
        [generation],
    )
    con.execute("""
        INSERT INTO _mb_summary
        SELECT c.kind, sum(c.read), sum(c.read) - coalesce(any_value(k.n), 0), coalesce(any_value(k.n), 0)
        FROM _mb_counts c LEFT JOIN (SELECT kind, count(*) AS n FROM _mb_kept GROUP BY kind) k USING (kind)
        GROUP BY c.kind""")
    # Sort names from credits; then artist documents, which own their artists' rows.
    con.execute(
        """
        UPDATE artists SET sort_name = s.sort_name
        FROM (SELECT DISTINCT ON (source_key) source_key, sort_name FROM _mb_sort) s
        WHERE artists.source = 'musicbrainz' AND artists.generation = ? AND artists.source_key = s.source_key""",
        [generation],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _mb_art AS
        SELECT stable_id('musicbrainz:artist:' || source_key) AS artist_id,
               json_extract_string(record, '$.name') AS name,
               json_extract_string(record, '$."sort-name"') AS sort_name,
               lower(source_key) AS mbid, 'musicbrainz' AS source, source_key, ? AS generation
        FROM source_records WHERE source = 'musicbrainz' AND kind = 'artist'
          AND (generation = ? OR stable_id('musicbrainz:artist:' || source_key) IN (
               SELECT artist_id FROM artists WHERE source = 'musicbrainz' AND generation = ?))""",
        [generation, generation, generation],
    )
    con.execute("DELETE FROM artists WHERE artist_id IN (SELECT artist_id FROM _mb_art)")
    con.execute("INSERT INTO artists SELECT * FROM _mb_art WHERE name IS NOT NULL")
    con.execute("DROP TABLE _mb_art")
    con.execute("DROP TABLE _mb_kept")


def describe(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
    """Per-entity document counts and unknown fields, for the summary."""
    con.execute(STAGING)
    rows = con.execute(
        "SELECT kind, read, rejected, kept FROM _mb_summary ORDER BY kind"
    ).fetchall()
    report.extra["documents"] = {
        k: {"read": r, "kept": kept, "rejected": rej} for k, r, rej, kept in rows
    }
    for kind, read, rejected, kept in rows:
        report.notes.append(
            f"  {kind} documents: read {read:,} = kept {kept:,} + rejected {rejected:,}"
        )
    unknown = con.execute("""SELECT path, sum(n), min(first_line) FROM _mb_unknown GROUP BY path
                             ORDER BY sum(n) DESC, path""").fetchall()
    report.extra["unknown_fields"] = {p: int(n) for p, n, _ in unknown}
    if unknown:
        report.notes.append(
            "  unknown fields (kept in the source records): "
            + ", ".join(f"{p} ×{int(n):,}" for p, n, _ in unknown[:10])
        )


def ingest_musicbrainz(
    archive: Archive, paths: list[Path], kind: str | None = None
) -> IngestReport:
    streams = dump.resolve(paths, kind)
    chunk = archive.settings.musicbrainz_chunk_documents
    if not 1 <= chunk < _STAGED_SEQ:
        raise LongplayError(
            f"setting musicbrainz_chunk_documents must be 1..{_STAGED_SEQ - 1:,}, not {chunk}"
        )
    job = {"inputs": [s.identity for s in streams], "chunk_documents": chunk}
    return ingest.run(
        archive,
        SOURCE,
        units(streams, chunk),
        job,
        after_merge=after_merge,
        describe=describe,
        total=sum(s.size for s in streams) or 1,
        unit_word="bytes",
    )
