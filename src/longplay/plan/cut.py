"""Where a ranked, weighted list crosses a budget — found with a few GROUP BYs, not a full sort.

The plan keeps the longest prefix of recordings, in the order (listens DESC, popularity DESC,
recording_id ASC), whose weights sum to at most a capacity. A running sum over a window would
sort every row (86M); instead ``find_cut`` narrows down the one place the prefix ends:

1. group by (listens, popularity) — far fewer groups than rows — and take the running sum over
   the groups: the first group whose running sum exceeds the capacity holds the cut;
2. inside that group, rows are ordered by recording_id: bucket its ID range into at most
   ``BUCKETS`` equal ranges, take the running sum over the buckets, keep the one that crosses,
   and repeat until at most ``SMALL`` rows remain; those are ranked with a window.

The result is the key of the first row that does *not* fit (or None when everything fits);
a row is kept iff its key comes before that one, which ``kept_sql`` tests in a single scan.
Every step is exact: the same prefix as a running sum over the fully sorted relation.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

BUCKETS = 65_536
SMALL = 1_000_000


@dataclass(frozen=True)
class Cut:
    listens: int
    popularity: int
    recording_id: int  # first row (in that listens/popularity group) that does not fit


def find_cut(con: duckdb.DuckDBPyConnection, rel: str, weight: str, capacity: int) -> Cut | None:
    """The first row of ``rel`` (recording_id, listens, popularity) past the longest prefix
    whose ``weight`` (a non-negative SQL expression) sums to at most ``capacity``; None if all fit."""
    row = con.execute(f"""
        SELECT listens, popularity, before FROM (
            SELECT listens, popularity, s, sum(s) OVER w - s AS before, sum(s) OVER w AS upto
            FROM (SELECT listens, popularity, sum({weight})::HUGEINT AS s FROM {rel} GROUP BY ALL)
            WINDOW w AS (ORDER BY listens DESC, popularity DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
        WHERE upto > {capacity} ORDER BY listens DESC, popularity DESC LIMIT 1""").fetchall()
    if not row:
        return None
    listens, popularity, before = int(row[0][0]), int(row[0][1]), int(row[0][2])
    left = capacity - before  # capacity left for this group's rows, in recording_id order
    group = f"(SELECT recording_id, {weight} AS w FROM {rel} WHERE listens = {listens} AND popularity = {popularity})"
    lo, hi, n = (
        int(x)
        for x in con.execute(
            f"SELECT min(recording_id), max(recording_id), count(*) FROM {group}"
        ).fetchall()[0]
    )
    while n > SMALL and hi > lo:
        width = (hi - lo) // BUCKETS + 1
        b, before, n = (
            int(x)
            for x in con.execute(f"""
            SELECT b, upto - s, n FROM (
                SELECT b, s, n, sum(s) OVER (ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
                FROM (SELECT (recording_id - {lo}) // {width} AS b, sum(w)::HUGEINT AS s, count(*) AS n
                      FROM {group} WHERE recording_id BETWEEN {lo} AND {hi} GROUP BY b))
            WHERE upto > {left} ORDER BY b LIMIT 1""").fetchall()[0]
        )
        left -= before
        lo, hi = lo + b * width, min(hi, lo + (b + 1) * width - 1)
    first = con.execute(f"""
        SELECT recording_id FROM (
            SELECT recording_id, sum(w) OVER (ORDER BY recording_id
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
            FROM {group} WHERE recording_id BETWEEN {lo} AND {hi})
        WHERE upto > {left} ORDER BY recording_id LIMIT 1""").fetchall()
    return Cut(listens, popularity, int(first[0][0]))


def kept_sql(cut: Cut | None) -> str:
    """SQL true for the rows before the cut (recording_id, listens, popularity in scope)."""
    if cut is None:
        return "true"
    return (
        f"(listens > {cut.listens} OR (listens = {cut.listens} AND (popularity > {cut.popularity} "
        f"OR (popularity = {cut.popularity} AND recording_id < {cut.recording_id}))))"
    )
