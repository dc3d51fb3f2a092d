"""Recording identity: tracks that share an ISRC or a MusicBrainz recording ID are one recording.

``assign`` gives every track a ``recording_id`` (the connected component of the graph whose edges
are shared ISRCs, from ``tracks.isrc`` and ``track_isrcs``, and shared recording MBIDs, found by
label propagation in SQL) and marks one canonical track per recording: the most listened, then
the most popular, then the lowest ID. The label of a component is the smallest key ID in it
(``stable_id('isrc:' || isrc)`` or ``stable_id('mbid:' || mbid)``), so a recording keeps its ID
across generations and sources as long as its keys do; a track without keys is its own recording.
Identity only writes ``recording_id`` and ``is_canonical``: every source's rows and provenance
(``source``, ``source_key``) stay as they are.
"""

from __future__ import annotations

import duckdb

MAX_ROUNDS = 64


def assign(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute recording_id and is_canonical for all tracks; returns propagation rounds used."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _keys AS
        SELECT track_id, stable_id('isrc:' || isrc) AS k FROM tracks WHERE isrc IS NOT NULL
        UNION SELECT i.track_id, stable_id('isrc:' || i.isrc) FROM track_isrcs i
              JOIN tracks t USING (track_id)
        UNION SELECT track_id, stable_id('mbid:' || mbid) FROM tracks WHERE mbid IS NOT NULL""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _lab AS
        SELECT t.track_id, coalesce(min(k.k), t.track_id) AS label
        FROM tracks t LEFT JOIN _keys k USING (track_id) GROUP BY t.track_id""")
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007
        # Each key takes the smallest label of its tracks; each track the smallest of its keys'.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _lab2 AS
            WITH by_key AS (SELECT k.k, min(l.label) AS m FROM _keys k JOIN _lab l USING (track_id) GROUP BY k.k),
                 best AS (SELECT k.track_id, min(b.m) AS m FROM _keys k JOIN by_key b USING (k) GROUP BY k.track_id)
            SELECT l.track_id, least(l.label, coalesce(b.m, l.label)) AS label
            FROM _lab l LEFT JOIN best b USING (track_id)""")
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
                   FROM _canon c WHERE tracks.track_id = c.track_id
                   AND (tracks.recording_id IS DISTINCT FROM c.recording_id
                        OR tracks.is_canonical IS DISTINCT FROM c.is_canonical)""")
    for t in ("_lab", "_canon", "_keys"):
        con.execute(f"DROP TABLE {t}")
    return rounds
