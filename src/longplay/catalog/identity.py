"""Recording identity: tracks that share an ISRC or a MusicBrainz recording ID are one recording.

``assign`` gives every track a ``recording_id`` (the connected component of the graph whose edges
are shared ISRCs and shared recording MBIDs, found by label propagation in SQL) and marks one
canonical track per recording: the most listened, then the most popular, then the lowest ID.
"""

from __future__ import annotations

import duckdb

MAX_ROUNDS = 32


def assign(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute recording_id and is_canonical for all tracks; returns propagation rounds used."""
    # Start: each track labelled by its own key; tracks sharing an ISRC or MBID take the minimum
    # label of their groups until nothing changes (components of the ISRC/MBID graph).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _lab AS
        SELECT track_id, isrc, mbid,
               least(coalesce(stable_id('isrc:' || isrc), track_id),
                     coalesce(stable_id('mbid:' || mbid), track_id),
                     CASE WHEN isrc IS NULL AND mbid IS NULL THEN track_id END) AS label
        FROM tracks""")
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007
        changed = con.execute("""
            CREATE OR REPLACE TEMP TABLE _lab2 AS
            WITH by_isrc AS (SELECT isrc, min(label) AS m FROM _lab WHERE isrc IS NOT NULL GROUP BY isrc),
                 by_mbid AS (SELECT mbid, min(label) AS m FROM _lab WHERE mbid IS NOT NULL GROUP BY mbid)
            SELECT l.track_id, l.isrc, l.mbid, least(l.label, coalesce(i.m, l.label), coalesce(b.m, l.label)) AS label
            FROM _lab l LEFT JOIN by_isrc i USING (isrc) LEFT JOIN by_mbid b USING (mbid)""").fetchall()
        del changed
        n = con.execute("SELECT count(*) FROM _lab JOIN _lab2 USING (track_id) WHERE _lab.label <> _lab2.label").fetchone()[0]  # type: ignore[index]
        con.execute("DROP TABLE _lab")
        con.execute("ALTER TABLE _lab2 RENAME TO _lab")
        if n == 0:
            break
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _canon AS
        SELECT l.track_id, l.label AS recording_id,
               row_number() OVER (PARTITION BY l.label ORDER BY t.listen_count DESC NULLS LAST,
                                  t.popularity DESC NULLS LAST, t.track_id) = 1 AS is_canonical
        FROM _lab l JOIN tracks t USING (track_id)""")
    con.execute("""UPDATE tracks SET recording_id = c.recording_id, is_canonical = c.is_canonical
                   FROM _canon c WHERE tracks.track_id = c.track_id""")
    con.execute("DROP TABLE _lab")
    con.execute("DROP TABLE _canon")
    return rounds
