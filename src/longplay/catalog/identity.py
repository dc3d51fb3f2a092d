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

# Every ISRC a track carries, as rows (track_id, isrc): ``tracks.isrc`` and the ISRCs beyond it
# in ``track_isrcs`` (of tracks still in the catalog). Identity links by these, and ``stats`` and
# ``dedup`` count them, so a recording with two ISRCs counts as two everywhere.
TRACK_ISRCS = """
    SELECT track_id, isrc FROM tracks WHERE isrc IS NOT NULL
    UNION ALL SELECT track_id, isrc FROM track_isrcs WHERE track_id IN (SELECT track_id FROM tracks)"""


def own_label(isrc: str = "isrc", mbid: str = "mbid", track_id: str = "track_id") -> str:
    """SQL for a track's recording when it shares no key with another track and has no extra
    ISRCs: its smallest key, or itself (the arguments are SQL for the track's values)."""
    return (
        f"coalesce(least(stable_id('isrc:' || {isrc}), stable_id('mbid:' || {mbid})), {track_id})"
    )


def _labels_differ(con: duckdb.DuckDBPyConnection, edges_labelled: bool) -> bool:
    """Whether some shared key's tracks differ in label, i.e. a propagation round would change
    a label. With ``edges_labelled`` (before the first round) the edges carry each track's label
    where it is known (``l``): where all are, the answer is read off the edges alone (0.04 CPU-s
    less per 800k edges than the join with _lab)."""
    if edges_labelled:
        unknown, differ = con.execute("""
            SELECT coalesce(bool_or(nl < n), false), coalesce(bool_or(lo <> hi), false)
            FROM (SELECT count(l) AS nl, count(*) AS n, min(l) AS lo, max(l) AS hi
                  FROM _edges GROUP BY k)""").fetchone()  # type: ignore[misc]
        if not unknown:
            return bool(differ)
    return bool(
        con.execute("""
        SELECT EXISTS (SELECT 1 FROM _edges e JOIN _lab l USING (track_id)
                       GROUP BY e.k HAVING min(l.label) <> max(l.label))""").fetchone()[0]  # type: ignore[index]
    )


def assign(con: duckdb.DuckDBPyConnection, own_labelled: int | None = None) -> int:
    """Recompute recording_id and is_canonical for all tracks; returns propagation rounds used.

    ``own_labelled``: a generation whose tracks were all written with ``own_label`` and
    ``is_canonical`` true (the ingest writes them so), so the last pass need not look at them.

    Only keys that two or more tracks share can join tracks, so labels are propagated over
    those edges alone; every other track's recording is its smallest key (or itself), and it
    is its recording's canonical track. Most of a catalog takes that one-pass path.
    """
    # Keys are found shared by a 64-bit hash of their text, cheaper than their MD5 IDs; only
    # the labels (below) are MD5 IDs. Two keys whose hashes collide would be joined, as two keys
    # whose IDs collide would be: equally improbable (~1e-7 for 2M keys).
    extra = con.execute("SELECT count(*) FROM track_isrcs").fetchone()[0]  # type: ignore[index]
    # Without extra ISRCs a track of ``own_labelled`` carries its first label already (its
    # recording_id, see _lab below): its key rows take it along (``l``; NULL for other tracks),
    # so that the first round's check can be read off the edges alone, without a join.
    known = own_labelled is not None and not extra
    label = f", CASE WHEN generation = {own_labelled} THEN recording_id END" if known else ""
    isrcs = f"({TRACK_ISRCS})" if extra else "tracks WHERE isrc IS NOT NULL"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _keys AS
        SELECT track_id, hash('isrc:' || isrc) AS k{label}{" AS l" if known else ""} FROM {isrcs}
        UNION ALL SELECT track_id, hash('mbid:' || mbid){label} FROM tracks WHERE mbid IS NOT NULL""")
    if extra:
        # A track may carry one ISRC twice (in tracks.isrc and track_isrcs): a key is shared when
        # two different tracks carry it. A key on exactly two of them (most shared keys) gives its
        # two edges straight from the aggregate; only keys on more rows are looked up again.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _edges AS
            WITH g AS MATERIALIZED (
                SELECT k, min(track_id) AS a, max(track_id) AS b, count(*) AS n FROM _keys
                GROUP BY k HAVING a <> b)
            SELECT a AS track_id, k FROM g WHERE n = 2 UNION ALL SELECT b, k FROM g WHERE n = 2
            UNION ALL SELECT track_id, k FROM _keys WHERE k IN (SELECT k FROM g WHERE n > 2)""")
    else:
        # Without extra ISRCs a track has each key once, so a key on two rows is shared: counting
        # rows (no min and max per key) and looking the shared keys up again is cheaper (0.21
        # against 0.27-0.34 CPU-s for 1.7M keys, 340k of them shared; same edges).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _edges AS
            SELECT track_id, k{", l" if known else ""} FROM _keys
            WHERE k IN (SELECT k FROM _keys GROUP BY k HAVING count(*) > 1)""")
    # The tracks whose recording is not simply their own smallest key of tracks.isrc/mbid: those
    # that share a key, and those with extra ISRCs; each labelled by its smallest key ID. A track
    # of ``own_labelled`` without extra ISRCs carries that label already, as its recording_id.
    own = f"generation = {int(own_labelled)}" if own_labelled is not None else "false"
    # The other tracks of _first, filtered before their key IDs are made (a filter above a
    # UNION of MD5s was found applied after them).
    need = f"""NOT ({own}) AND track_id IN (SELECT track_id FROM _edges)
               AND track_id NOT IN (SELECT track_id FROM track_isrcs)"""
    has = "track_id IN (SELECT track_id FROM track_isrcs)"
    with_extra = (
        f"""UNION ALL
        SELECT track_id, min(k) FROM (
            SELECT track_id, stable_id('isrc:' || isrc) AS k FROM tracks WHERE isrc IS NOT NULL AND {has}
            UNION ALL SELECT track_id, stable_id('isrc:' || isrc) FROM track_isrcs
                      WHERE track_id IN (SELECT track_id FROM tracks)
            UNION ALL SELECT track_id, stable_id('mbid:' || mbid) FROM tracks WHERE mbid IS NOT NULL AND {has})
        GROUP BY track_id"""
        if extra
        else ""
    )
    if extra:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _first AS
            SELECT track_id, recording_id AS label FROM tracks
            WHERE {own} AND track_id IN (SELECT track_id FROM _edges)
              AND track_id NOT IN (SELECT track_id FROM track_isrcs)
            UNION ALL
            SELECT track_id, min(k) FROM (
                SELECT track_id, stable_id('isrc:' || isrc) AS k FROM tracks WHERE isrc IS NOT NULL AND {need}
                UNION ALL SELECT track_id, stable_id('mbid:' || mbid) FROM tracks WHERE mbid IS NOT NULL AND {need})
            GROUP BY track_id
            {with_extra}""")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _lab AS
            SELECT f.track_id, f.label, t.listen_count, t.popularity
            FROM _first f JOIN tracks t USING (track_id)
            WHERE f.track_id IN (SELECT track_id FROM _edges)""")
    else:
        # Without extra ISRCs every track of _first is on an edge: the labels start as _first
        # itself, read with the values the canonical track is chosen by rather than joined from
        # tracks again (0.09 CPU-s less per 1M tracks, 470k of them on edges). _canon then
        # holds every track of _first.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _lab AS
            SELECT track_id, recording_id AS label, listen_count, popularity FROM tracks
            WHERE {own} AND track_id IN (SELECT track_id FROM _edges)
            UNION ALL
            SELECT track_id, min(k), any_value(listen_count), any_value(popularity) FROM (
                SELECT track_id, stable_id('isrc:' || isrc) AS k, listen_count, popularity
                FROM tracks WHERE isrc IS NOT NULL AND {need}
                UNION ALL SELECT track_id, stable_id('mbid:' || mbid), listen_count, popularity
                FROM tracks WHERE mbid IS NOT NULL AND {need})
            GROUP BY track_id""")
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):
        # A round changes a label exactly when some shared key's tracks differ in label, so that
        # is checked first: half a round, and the last round (often the only one) is only that.
        if not _labels_differ(con, edges_labelled=rounds == 1 and known):
            break
        # Each shared key takes the smallest label of its tracks; each track the smallest of its keys'.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _lab2 AS
            WITH by_key AS (SELECT e.k, min(l.label) AS m FROM _edges e JOIN _lab l USING (track_id) GROUP BY e.k),
                 best AS (SELECT e.track_id, min(b.m) AS m FROM _edges e JOIN by_key b USING (k) GROUP BY e.track_id)
            SELECT l.track_id, least(l.label, coalesce(b.m, l.label)) AS label, l.listen_count, l.popularity
            FROM _lab l LEFT JOIN best b USING (track_id)""")
        con.execute("DROP TABLE _lab")
        con.execute("ALTER TABLE _lab2 RENAME TO _lab")
    # Canonical: the most listened, then the most popular, then the lowest ID; ranked only
    # where a recording has several tracks (_lab carries their values).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _canon AS
        SELECT track_id, label AS recording_id,
               row_number() OVER (PARTITION BY label ORDER BY listen_count DESC NULLS LAST,
                                  popularity DESC NULLS LAST, track_id) = 1 AS is_canonical
        FROM _lab""")
    # The tracks whose recording was computed here: _first, which _canon covers without extra ISRCs.
    computed = "_first" if extra else "_canon"
    labels = (
        """(SELECT f.track_id, coalesce(c.recording_id, f.label) AS recording_id,
                   coalesce(c.is_canonical, true) AS is_canonical
            FROM _first f LEFT JOIN _canon c USING (track_id))"""
        if extra
        else "_canon"
    )
    con.execute(f"""
        UPDATE tracks SET recording_id = n.recording_id, is_canonical = n.is_canonical
        FROM {labels} n
        WHERE tracks.track_id = n.track_id
          AND (tracks.recording_id IS DISTINCT FROM n.recording_id OR tracks.is_canonical IS DISTINCT FROM n.is_canonical)""")
    # Every other track is a recording of its own, labelled by its smallest key. Ingest writes
    # tracks that way (normalize.py), so this touches only tracks whose keys stopped being shared,
    # and need not even compute the labels of the tracks the ingest just wrote.
    fresh = f"generation <> {int(own_labelled)} AND " if own_labelled is not None else ""
    con.execute(f"""
        UPDATE tracks SET recording_id = {own_label()}, is_canonical = true
        WHERE {fresh}(recording_id IS DISTINCT FROM {own_label()} OR is_canonical IS DISTINCT FROM true)
          AND track_id NOT IN (SELECT track_id FROM {computed})""")
    for t in ("_lab", "_canon", "_keys", "_edges", "_first"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return rounds
