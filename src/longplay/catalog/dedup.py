"""`longplay dedup`: recompute recording identity in a new generation and report the groups.

A group is a recording (``tracks.recording_id``): tracks linked by shared ISRCs or recording
MBIDs, across albums and sources. The report says how many tracks share an ISRC, how many
groups there are and how big the largest are, and which track is canonical in each. ISRCs are
every ISRC a track carries (``identity.TRACK_ISRCS``), the keys identity links by. A group is
named by its ``recording_id``, the stable ID a release stores in ``tracks.recording_id``.
"""

from __future__ import annotations

from typing import Any

import duckdb

from longplay import progress
from longplay.archive import Archive
from longplay.catalog import identity
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError, LongplayError


def dedup(archive: Archive, top: int = 10) -> dict[str, Any]:
    """Recompute identity (a new generation, resumable as any job) and report on it."""
    if top < 0:  # checked before any work: a negative LIMIT fails only after identity ran
        raise InputError(f"top (--top) must be 0 or more, not {top}")
    store = CatalogStore(archive)
    base = store.current_name()
    if base is None:
        raise LongplayError(f"the archive {archive.root} has no catalog yet; ingest a source first")
    with (
        store.build({"job": "dedup", "base": base}) as gen,
        progress.progress("dedup", 1, "items") as bar,
    ):
        if "identity" not in gen.done_units():
            with gen.unit("identity") as con:
                rounds = identity.assign(con)
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('identity_rounds', ?)", [str(rounds)]
                )
        report = group_report(gen.con, top)
        report["generation"] = gen.commit()
        bar.advance()
    return report


def group_report(con: duckdb.DuckDBPyConnection, top: int = 10) -> dict[str, Any]:
    """Counts of ISRC sharing and identity groups, and the ``top`` largest groups."""
    one = lambda sql: con.execute(sql).fetchall()[0]  # noqa: E731
    # One aggregate per key, then counts from it: the DISTINCT counts and IN subqueries this
    # replaced grew as n^1.2 (bench/RESULTS.md, Scale), the aggregates grow as n.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _isrcs AS
                     SELECT DISTINCT track_id, isrc FROM ({identity.TRACK_ISRCS})""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _per_isrc AS
                   SELECT isrc, count(*) AS n FROM _isrcs GROUP BY isrc""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _per_recording AS
                   SELECT recording_id, count(*) AS n, min(source) <> max(source) AS mixed
                   FROM tracks GROUP BY recording_id""")
    tracks, canonical = one("SELECT count(*), count(*) FILTER (is_canonical) FROM tracks")
    unique, shared = one("SELECT count(*), count(*) FILTER (n > 1) FROM _per_isrc")
    groups, several, across = one(
        "SELECT count(*), count(*) FILTER (n > 1), count(*) FILTER (mixed) FROM _per_recording"
    )
    out: dict[str, Any] = {
        "tracks": tracks,
        "tracks_with_isrc": one("SELECT count(*) FROM (SELECT track_id FROM _isrcs GROUP BY 1)")[0],
        "unique_isrcs": unique,
        "tracks_sharing_an_isrc": one("""SELECT count(*) FROM (SELECT i.track_id FROM _isrcs i
                                         JOIN _per_isrc p ON p.isrc = i.isrc AND p.n > 1
                                         GROUP BY 1)""")[0],
        "isrcs_shared": shared,
        "groups": groups,
        "groups_with_several_tracks": several,
        "groups_across_sources": across,
        "canonical_tracks": canonical,
    }
    out["redundant_tracks"] = out["tracks"] - out["canonical_tracks"]
    out["group_sizes"] = [
        {"size": s, "groups": g}
        for s, g in con.execute(
            "SELECT least(n, 10) AS size, count(*) FROM _per_recording GROUP BY size ORDER BY size"
        ).fetchall()
    ]
    out["largest"] = [
        {
            "recording_id": rid,
            "tracks": n,
            "isrcs": isrcs,
            "mbids": mbids,
            "sources": srcs,
            "canonical": {"track_id": tid, "title": title, "source": src, "source_key": key},
        }
        for rid, n, isrcs, mbids, srcs, tid, title, src, key in con.execute(
            """
            WITH top AS (SELECT recording_id FROM _per_recording
                         ORDER BY n DESC, recording_id LIMIT ?),
                 g AS (SELECT recording_id, count(*) AS n, count(DISTINCT mbid) AS mbids,
                              list(DISTINCT source ORDER BY source) AS sources
                       FROM tracks WHERE recording_id IN (SELECT recording_id FROM top)
                       GROUP BY recording_id),
                 x AS (SELECT t.recording_id, count(DISTINCT i.isrc) AS isrcs
                       FROM _isrcs i JOIN tracks t USING (track_id)
                       WHERE t.recording_id IN (SELECT recording_id FROM g) GROUP BY t.recording_id)
            SELECT g.recording_id, g.n, coalesce(x.isrcs, 0), g.mbids, g.sources,
                   c.track_id, c.title, c.source, c.source_key
            FROM g JOIN tracks c ON c.recording_id = g.recording_id AND c.is_canonical
            LEFT JOIN x ON x.recording_id = g.recording_id
            ORDER BY g.n DESC, g.recording_id""",
            [top],
        ).fetchall()
    ]
    con.execute("DROP TABLE _isrcs")
    return out


def format_report(r: dict[str, Any]) -> str:
    lines = [f"generation                  {r.get('generation', '')}"]
    for key in (
        "tracks",
        "tracks_with_isrc",
        "unique_isrcs",
        "isrcs_shared",
        "tracks_sharing_an_isrc",
        "groups",
        "groups_with_several_tracks",
        "groups_across_sources",
        "canonical_tracks",
        "redundant_tracks",
    ):
        lines.append(f"{key.replace('_', ' '):<27} {r[key]:>14,}")
    lines.append("group size                  groups")
    for g in r["group_sizes"]:
        lines.append(
            f"  {str(g['size']) + ('+' if g['size'] == 10 else ''):<25} {g['groups']:>14,}"
        )
    lines.append("largest groups (tracks, ISRCs, MBIDs, sources: canonical track)")
    for g in r["largest"]:
        c = g["canonical"]
        lines.append(
            f"  {g['recording_id']:>20} {g['tracks']:>6} {g['isrcs']:>3} {g['mbids']:>3} "
            f"{','.join(g['sources'])}: {c['title']!r} ({c['source']}:{c['source_key']})"
        )
    return "\n".join(lines)
