"""The documented, monotone mapping between listen counts and the 0–100 popularity score.

popularity = round(100 · log10(1 + listens) / 9), capped at 100: a billion listens is 100, ten
listens is 12, none is 0. The inverse, used as a track's listen weight where only the score is
known, is the geometric middle of the listens that round to that score:
listens(p) = 10^(9·p/100) − 1 (0 for p = 0). Both are monotone, so ranking by either agrees.
"""

from __future__ import annotations

import math

LOG_SPAN = 9.0  # log10 of the listen count that maps to 100

SQL_MACROS = f"""
CREATE OR REPLACE MACRO popularity_from_listens(n) AS
    least(100, round(100 * log10(1 + greatest(n, 0)) / {LOG_SPAN}))::SMALLINT;
CREATE OR REPLACE MACRO listens_from_popularity(p) AS
    CASE WHEN p IS NULL OR p <= 0 THEN 0 ELSE round(pow(10, {LOG_SPAN} * p / 100) - 1) END::BIGINT;
"""


def popularity_from_listens(listens: int) -> int:
    return min(100, math.floor(100 * math.log10(1 + max(listens, 0)) / LOG_SPAN + 0.5))


def listens_from_popularity(popularity: int | None) -> int:
    if popularity is None or popularity <= 0:
        return 0
    return math.floor(10 ** (LOG_SPAN * popularity / 100) - 1 + 0.5)
