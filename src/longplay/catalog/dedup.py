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
    one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _isrcs AS
                     SELECT DISTINCT track_id, isrc FROM ({identity.TRACK_ISRCS})""")
    out: dict[str, Any] = {
        "tracks": one("SELECT count(*) FROM tracks"),
        "tracks_with_isrc": one("SELECT count(DISTINCT track_id) FROM _isrcs"),
        "unique_isrcs": one("SELECT count(DISTINCT isrc) FROM _isrcs"),
        "tracks_sharing_an_isrc": one("""SELECT count(DISTINCT track_id) FROM _isrcs WHERE isrc IN (
                                         SELECT isrc FROM _isrcs GROUP BY isrc HAVING count(*) > 1)"""),
        "isrcs_shared": one("""SELECT count(*) FROM (SELECT isrc FROM _isrcs
                               GROUP BY isrc HAVING count(*) > 1)"""),
        "groups": one("SELECT count(DISTINCT recording_id) FROM tracks"),
        "groups_with_several_tracks": one("""SELECT count(*) FROM (SELECT recording_id FROM tracks
                                             GROUP BY recording_id HAVING count(*) > 1)"""),
        "groups_across_sources": one("""SELECT count(*) FROM (SELECT recording_id FROM tracks
                                        GROUP BY recording_id HAVING count(DISTINCT source) > 1)"""),
        "canonical_tracks": one("SELECT count(*) FROM tracks WHERE is_canonical"),
    }
    out["redundant_tracks"] = out["tracks"] - out["canonical_tracks"]
    out["group_sizes"] = [
        {"size": s, "groups": g}
        for s, g in con.execute("""
        SELECT least(n, 10) AS size, count(*) FROM (SELECT count(*) AS n FROM tracks GROUP BY recording_id)
        GROUP BY size ORDER BY size""").fetchall()
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
            WITH g AS (SELECT recording_id, count(*) AS n, count(DISTINCT mbid) AS mbids,
                              list(DISTINCT source ORDER BY source) AS sources
                       FROM tracks GROUP BY recording_id ORDER BY n DESC, recording_id LIMIT ?),
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
