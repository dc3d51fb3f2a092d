"""Exclusion lists (takedowns): parsing the file and resolving its entries to catalog keys.

One entry a line, ``KIND:VALUE`` then its reason; ``#`` starts a comment line::

    # takedowns
    isrc:USRC17607839        DMCA notice 2024-03-01
    mbid:8f3471b5-7e6a-48da-86a9-c1c07a0f47ae   rights holder request
    artist:"Sigur Rós"       label request          (quoted: a value with spaces)
    artist:Sigur Rós<TAB>label request              (or ended by a tab or two spaces)
    album:036000291452       label request          (UPC/EAN, release MBID or title)

``isrc`` and ``mbid`` (recording MBID) name recordings; ``artist`` is an artist name or artist
MBID; ``album`` an album title, UPC/EAN or release MBID. Names and titles match case-insensitively.
Exclusions are conservative: an entry removes every *recording* one of whose tracks it matches
(an artist entry matches the tracks crediting the artist and the tracks of albums credited to
them), because keeping another release of the same sound would defeat a takedown. A malformed
line is an :class:`InputError` naming the file and line.

Resolved, an entry becomes keys the plan core matches candidates by: ``isrc`` and ``mbid``
(``key_text``), ``album_id`` and ``artist_id`` (``key_id``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from longplay.catalog.identifiers import isrc_problem, normalize_isrc, normalize_upc, upc_problem
from longplay.errors import InputError

KINDS = ("isrc", "mbid", "artist", "album")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ENTRY = re.compile(r"([A-Za-z]+):(.*)")
_SEPARATOR = re.compile(r"\t|\s{2,}")

# Keys the plan core matches (kind, key_text, key_id, reason, line).
KEYS_DDL = """CREATE OR REPLACE TEMP TABLE {name} (
    line INTEGER, kind VARCHAR, key_text VARCHAR, key_id BIGINT, reason VARCHAR)"""


@dataclass(frozen=True)
class Exclusion:
    line: int
    kind: str  # isrc | mbid | artist | album
    match: str  # isrc | mbid | artist_mbid | artist_name | album_mbid | album_upc | album_title
    value: str  # normalized
    reason: str

    @property
    def entry(self) -> str:
        return f"{self.kind}:{self.value}"


def _split_value(rest: str, kind: str) -> tuple[str, str]:
    rest = rest.strip()
    if rest.startswith('"'):
        end = rest.find('"', 1)
        if end < 0:
            raise ValueError("unterminated quote")
        return rest[1:end], rest[end + 1 :].strip()
    if kind in ("isrc", "mbid"):  # these values never contain spaces
        parts = rest.split(None, 1)
        return parts[0] if parts else "", parts[1].strip() if len(parts) > 1 else ""
    parts = _SEPARATOR.split(rest, maxsplit=1)
    if len(parts) == 1:
        raise ValueError(
            "missing reason: end the value with a tab or two spaces, or quote it "
            '(artist:"Some Name"  reason)'
        )
    return parts[0].strip(), parts[1].strip()


def parse_line(text: str, line: int) -> Exclusion | None:
    """One line of an exclusion file; None for blank and comment lines; ValueError if malformed."""
    s = text.strip()
    if not s or s.startswith("#"):
        return None
    m = _ENTRY.fullmatch(s)
    if not m or m.group(1).lower() not in KINDS:
        raise ValueError(
            f"expected KIND:VALUE REASON with KIND one of {', '.join(KINDS)}, got {s[:60]!r}"
        )
    kind = m.group(1).lower()
    value, reason = _split_value(m.group(2), kind)
    if not value:
        raise ValueError(f"empty {kind} value")
    if not reason:
        raise ValueError(f"missing reason after {kind}:{value}")
    if kind == "isrc":
        value = normalize_isrc(value)
        problem = isrc_problem(value)
        if problem:
            raise ValueError(problem)
        match = "isrc"
    elif kind == "mbid":
        value = value.lower()
        if not _UUID.fullmatch(value):
            raise ValueError(f"recording MBID {value!r} is not a UUID")
        match = "mbid"
    elif _UUID.fullmatch(value.lower()):
        value, match = value.lower(), f"{kind}_mbid"
    elif kind == "album" and re.fullmatch(r"[0-9 -]{8,}", value):
        value = normalize_upc(value)
        problem = upc_problem(value)
        if problem:
            raise ValueError(problem)
        match = "album_upc"
    else:
        match = "artist_name" if kind == "artist" else "album_title"
    return Exclusion(line, kind, match, value, reason)


def parse(path: Path) -> list[Exclusion]:
    """All entries of an exclusion file; the first malformed line is an InputError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"exclusion list {path}: cannot read it: {exc}") from None
    out = []
    for no, raw in enumerate(text.splitlines(), 1):
        try:
            entry = parse_line(raw, no)
        except ValueError as exc:
            raise InputError(f"exclusion list {path} line {no}: {exc}") from None
        if entry is not None:
            out.append(entry)
    return out


def resolve(
    con: duckdb.DuckDBPyConnection, entries: list[Exclusion], name: str = "plan_exclusion_keys"
) -> str:
    """Resolve entries against the catalog into the temp table ``name`` of match keys."""
    con.execute(KEYS_DDL.format(name=name))
    if not entries:
        return name
    table = pa.table(
        {
            "line": pa.array([e.line for e in entries], pa.int32()),
            "match": [e.match for e in entries],
            "value": [e.value for e in entries],
            "reason": [f"{e.entry}: {e.reason}" for e in entries],
        }
    )
    con.register("_excl_in", table)
    try:
        con.execute(f"""
            INSERT INTO {name}
            SELECT line, match, value, NULL, reason FROM _excl_in WHERE match IN ('isrc', 'mbid')""")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _excl_artists AS
            SELECT e.line, a.artist_id, e.reason FROM _excl_in e JOIN artists a ON a.mbid = e.value
            WHERE e.match = 'artist_mbid'
            UNION ALL
            SELECT e.line, a.artist_id, e.reason FROM _excl_in e
            JOIN artists a ON lower(trim(a.name)) = lower(trim(e.value))
            WHERE e.match = 'artist_name'""")
        con.execute(f"""
            INSERT INTO {name}
            SELECT line, 'artist_id', NULL, artist_id, reason FROM _excl_artists
            UNION ALL
            SELECT x.line, 'album_id', NULL, aa.album_id, x.reason
            FROM _excl_artists x JOIN album_artists aa USING (artist_id)
            UNION ALL
            SELECT e.line, 'album_id', NULL, al.album_id, e.reason FROM _excl_in e
            JOIN albums al ON al.mbid = e.value WHERE e.match = 'album_mbid'
            UNION ALL
            SELECT e.line, 'album_id', NULL, al.album_id, e.reason FROM _excl_in e
            JOIN albums al ON al.upc = e.value WHERE e.match = 'album_upc'
            UNION ALL
            SELECT e.line, 'album_id', NULL, al.album_id, e.reason FROM _excl_in e
            JOIN albums al ON lower(trim(al.title)) = lower(trim(e.value)) WHERE e.match = 'album_title'""")
        con.execute("DROP TABLE _excl_artists")
    finally:
        con.unregister("_excl_in")
    return name
