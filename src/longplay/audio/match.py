"""Link scanned files to catalog tracks: by ISRC, by MusicBrainz recording ID, else by title,
artist and duration; and the report of files left unmatched or ambiguous.

Rules, in order (the first rule that finds any track decides):

1. ``isrc``: the file's ISRC tag equals the track's ISRC (both normalized).
2. ``mbid``: the file's MusicBrainz recording ID equals the track's ``mbid``.
3. ``title_artist_duration``: normalized titles are equal, one of the file's artists (credit
   strings are also split at ``&``, ``,``, ``feat.``, ...) equals one of the track's artists,
   and the durations differ by at most ``match_duration_tolerance_ms`` (2 s).

Several candidates are narrowed to those whose album title, then track number, agree with the
file's tags. Tracks sharing an ISRC or recording ID are one recording, so rules 1 and 2 are never
ambiguous: the canonical track of the recording (else the lowest ID) is taken. For rule 3,
candidates of more than one recording leave the file *ambiguous*: no track, ``match_ambiguous``.
Normalizing text: lower case, accents stripped, ``&`` read as "and", anything but letters and
digits turned into single spaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from longplay.archive import Archive
from longplay.audio.library import LibraryStore
from longplay.catalog.store import CatalogStore

SQL_MACROS = r"""
CREATE OR REPLACE TEMP MACRO lp_norm(s) AS nullif(trim(regexp_replace(
    replace(lower(strip_accents(s)), '&', ' and '), '[^\p{L}\p{N}]+', ' ', 'g')), '');
CREATE OR REPLACE TEMP MACRO lp_names(names) AS list_distinct([lp_norm(n) FOR n IN list_concat(
    names, flatten([regexp_split_to_array(a,
        '(?i)\s*(?:,|;|/|&|\bfeat\.?|\bft\.|\bfeaturing\b|\bwith\b|\bvs\.?|\band\b|\bx\b)\s*')
        FOR a IN names])) IF lp_norm(n) IS NOT NULL]);
"""

MATCH_SQL = """
WITH f AS (
    SELECT row_number() OVER () AS fid, root, path, norm_isrc(isrc) AS isrc,
           lower(trim(mb_recording_id)) AS mbid, lp_norm(title) AS ntitle,
           lp_names(coalesce(artists, []::VARCHAR[])) AS nartists, lp_norm(album) AS nalbum,
           track_number, duration_ms
    FROM lp_files),
t AS (
    SELECT track_id, album_id, norm_isrc(isrc) AS isrc, lower(trim(mbid)) AS mbid, title,
           duration_ms, track_number, recording_id, coalesce(is_canonical, false) AS canonical
    FROM tracks),
c AS (
    SELECT f.fid, t.track_id, 1 AS prio, 'isrc' AS method, f.isrc AS grp
    FROM f JOIN t ON t.isrc = f.isrc
    UNION ALL
    SELECT f.fid, t.track_id, 2, 'mbid', f.mbid FROM f JOIN t ON t.mbid = f.mbid
    UNION ALL
    SELECT f.fid, t.track_id, 3, 'title_artist_duration', coalesce(t.recording_id, t.track_id)::VARCHAR
    FROM f JOIN t ON lp_norm(t.title) = f.ntitle AND abs(t.duration_ms - f.duration_ms) <= $tolerance
    WHERE EXISTS (SELECT 1 FROM track_artists ta JOIN artists a USING (artist_id)
                  WHERE ta.track_id = t.track_id AND list_contains(f.nartists, lp_norm(a.name)))),
best AS (SELECT * FROM c QUALIFY prio = min(prio) OVER (PARTITION BY fid)),
scored AS (
    SELECT best.*, tt.canonical,
           coalesce(lp_norm(al.title) = f.nalbum, false)::INT * 2
           + coalesce(tt.track_number = f.track_number, false)::INT AS score
    FROM best JOIN f USING (fid) JOIN t tt ON tt.track_id = best.track_id
    LEFT JOIN albums al ON al.album_id = tt.album_id),
top AS (SELECT * FROM scored QUALIFY score = max(score) OVER (PARTITION BY fid)),
picked AS (
    SELECT fid, any_value(method) AS method, count(DISTINCT track_id) AS n,
           count(DISTINCT grp) AS groups, first(track_id ORDER BY canonical DESC, track_id) AS track_id
    FROM top GROUP BY fid)
SELECT f.root, f.path, CASE WHEN p.groups = 1 THEN p.track_id END AS track_id,
       p.method AS match_method, p.n::INTEGER AS match_candidates,
       coalesce(p.groups > 1, false) AS match_ambiguous
FROM f LEFT JOIN picked p USING (fid)
"""


@dataclass
class MatchSummary:
    generation: int | None
    checked: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    ambiguous: int = 0
    unmatched: int = 0
    note: str = ""


def match_library(archive: Archive, *, everything: bool = False) -> MatchSummary:
    """Match the library's files not yet matched against the current catalog generation."""
    catalog = CatalogStore(archive)
    if catalog.current_name() is None:
        return MatchSummary(None, note="no catalog yet: files are not matched")
    generation = catalog.current_number()
    tolerance = int(archive.settings.match_duration_tolerance_ms)
    with LibraryStore(archive) as store:
        inputs = store.match_inputs(generation, everything=everything)
        summary = MatchSummary(generation, checked=inputs.num_rows)
        if inputs.num_rows == 0:
            return summary
        with catalog.read() as con:
            for stmt in filter(None, (s.strip() for s in SQL_MACROS.split(";\n"))):
                con.execute(stmt)
            con.register("lp_files", inputs)
            result = con.sql(MATCH_SQL, params={"tolerance": tolerance}).to_arrow_table()
            con.unregister("lp_files")
        store.set_matches(result, generation)
    for method, track_id, ambiguous in zip(
        result["match_method"].to_pylist(),
        result["track_id"].to_pylist(),
        result["match_ambiguous"].to_pylist(),
        strict=True,
    ):
        if ambiguous:
            summary.ambiguous += 1
        elif track_id is None:
            summary.unmatched += 1
        else:
            summary.by_method[method] = summary.by_method.get(method, 0) + 1
    return summary


@dataclass
class LibraryReport:
    counts: dict[str, int]
    unmatched: list[dict[str, Any]]
    ambiguous: list[dict[str, Any]]


def report(archive: Archive, limit: int | None = None) -> LibraryReport:
    """Counts, and the files that matched no track or more than one recording."""
    with LibraryStore(archive, read_only=True) as store:
        cols = "root || '/' || path AS file, title, artists, album, isrc, duration_ms, match_candidates"
        lim = f" LIMIT {int(limit)}" if limit else ""

        def rows(where: str) -> list[dict[str, Any]]:
            cur = store.con.execute(f"SELECT {cols} FROM files WHERE {where} ORDER BY file{lim}")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

        return LibraryReport(
            store.counts(),
            rows("track_id IS NULL AND NOT match_ambiguous AND match_generation IS NOT NULL"),
            rows("match_ambiguous"),
        )
