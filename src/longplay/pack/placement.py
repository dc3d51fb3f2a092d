"""Placement of archived files into torrents grouped by popularity tier (deterministic).

Within a tier, files are ordered by popularity (most popular first, then listens, then track ID)
and cut into torrents of about ``torrent_target_size`` bytes with one window function: a file
goes to torrent ``(bytes before it in its tier) // target``, so each torrent holds at most the
target plus one file. Torrent names say archive, tier and sequence: ``longplay-t0-0001``.
Paths inside a torrent are ``Artist/Album (Year)/DD-NN Title.ext``, made safe for every
filesystem a mirror might use; a path that would collide (case-insensitively) with another in
the same torrent gets the track ID appended.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

MAX_COMPONENT_BYTES = 120
_FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)} | {"\x7f"}
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def safe_component(text: str | None, fallback: str = "Unknown") -> str:
    """One path component safe on Linux, macOS and Windows, at most MAX_COMPONENT_BYTES long."""
    s = unicodedata.normalize("NFC", text or "")
    s = "".join("_" if ch in _FORBIDDEN else ch for ch in s)
    s = " ".join(s.split()).strip(" .")
    if not s or s in (".", ".."):
        s = fallback
    if s.split(".")[0].upper() in _RESERVED:
        s = f"_{s}"
    encoded = s.encode("utf-8")
    if len(encoded) > MAX_COMPONENT_BYTES:
        s = encoded[:MAX_COMPONENT_BYTES].decode("utf-8", "ignore").rstrip(" .") or fallback
    return s


def track_path(
    artist: str | None,
    album: str | None,
    year: int | None,
    disc: int | None,
    track: int | None,
    title: str | None,
    ext: str,
    track_id: int | None = None,
) -> str:
    album_dir = safe_component(album, "Unknown Album") + (f" ({year})" if year else "")
    number = f"{disc or 1:02d}-{track or 0:02d}"
    suffix = f" [{track_id}]" if track_id is not None else ""
    stem_budget = MAX_COMPONENT_BYTES - len(number) - 1 - len(suffix.encode()) - len(ext) - 1
    stem = (
        safe_component(title, "Untitled")
        .encode("utf-8")[:stem_budget]
        .decode("utf-8", "ignore")
        .rstrip(" .")
    )
    return "/".join(
        (
            safe_component(artist, "Unknown Artist"),
            safe_component(album_dir),
            f"{number} {stem or 'Untitled'}{suffix}.{ext}",
        )
    )


def torrent_name(archive_name: str, tier: int, seq: int) -> str:
    return f"{safe_component(archive_name, 'longplay')}-t{tier}-{seq + 1:04d}"


@dataclass(frozen=True)
class Placement:
    track_id: int
    torrent: str
    path: str


def assign_torrents(con: duckdb.DuckDBPyConnection, files_sql: str, target_size: int) -> None:
    """Create temp table ``_placed(track_id, tier, seq)`` from ``files_sql``.

    ``files_sql`` yields one row per file: track_id, tier, size, popularity, listens.
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _placed AS
        SELECT track_id, tier,
               ((sum(size) OVER w) - size) // {int(target_size)} AS seq
        FROM ({files_sql})
        WINDOW w AS (PARTITION BY tier ORDER BY popularity DESC NULLS LAST, listens DESC NULLS LAST,
                     track_id ROWS UNBOUNDED PRECEDING)""")


@dataclass
class PlacedTorrent:
    """One torrent's files: ``files_sql``'s columns plus ``path``, in track order."""

    name: str
    tier: int
    rows: list[dict[str, Any]]


def place_torrents(
    con: duckdb.DuckDBPyConnection, files_sql: str, archive_name: str, target_size: int
) -> Iterator[PlacedTorrent]:
    """Every torrent with its files' paths, one torrent at a time, in (tier, seq) order.

    ``files_sql`` yields: track_id, tier, size, popularity, listens, artist, album, year, disc,
    track_number, title, ext (and any other columns, passed through). The ordered rows wait in
    DuckDB (temp table ``_ordered``, which spills to disk) and only the torrent being yielded is
    in Python, so memory follows the torrent size, not the archive's file count. No query is
    left open between torrents: the caller may use ``con`` while it iterates.
    """
    assign_torrents(con, files_sql, target_size)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ordered AS
        SELECT row_number() OVER (ORDER BY f.tier, p.seq, f.track_id) AS _rn, p.seq AS _seq, f.*
        FROM ({files_sql}) f JOIN _placed p USING (track_id)
        ORDER BY _rn""")  # stored in _rn order, so each range below reads few row groups
    bounds = con.execute(
        "SELECT tier, _seq, min(_rn), max(_rn) FROM _ordered GROUP BY ALL ORDER BY tier, _seq"
    ).fetchall()
    for tier, seq, lo, hi in bounds:
        cur = con.execute(f"""SELECT * EXCLUDE (_rn, _seq) FROM _ordered
                              WHERE _rn BETWEEN {int(lo)} AND {int(hi)} ORDER BY _rn""")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, values, strict=True)) for values in cur.fetchall()]
        taken: set[str] = set()
        for r in rows:
            fields = (r["artist"], r["album"], r["year"], r["disc"], r["track_number"], r["title"])
            path = track_path(*fields, r["ext"])
            if path.lower() in taken:  # a case-insensitive twin: the track ID tells them apart
                path = track_path(*fields, r["ext"], r["track_id"])
            taken.add(path.lower())
            r["path"] = path
        yield PlacedTorrent(torrent_name(archive_name, tier, seq), tier, rows)


def layout(
    con: duckdb.DuckDBPyConnection, files_sql: str, archive_name: str, target_size: int
) -> list[Placement]:
    """Placements of every file as one list (for small sets; :func:`place_torrents` streams)."""
    return [
        Placement(r["track_id"], t.name, r["path"])
        for t in place_torrents(con, files_sql, archive_name, target_size)
        for r in t.rows
    ]
