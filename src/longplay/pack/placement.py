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
from dataclasses import dataclass

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


def layout(
    con: duckdb.DuckDBPyConnection, files_sql: str, archive_name: str, target_size: int
) -> list[Placement]:
    """Placements of every file: which torrent, which path inside it (deterministic).

    ``files_sql`` yields: track_id, tier, size, popularity, listens, artist, album, year, disc,
    track_number, title, ext.
    """
    assign_torrents(con, files_sql, target_size)
    rows = con.execute(f"""
        SELECT f.track_id, p.tier, p.seq, f.artist, f.album, f.year, f.disc, f.track_number, f.title, f.ext
        FROM ({files_sql}) f JOIN _placed p USING (track_id)
        ORDER BY p.tier, p.seq, f.track_id""").fetchall()
    out: list[Placement] = []
    taken: dict[str, set[str]] = {}
    for track_id, tier, seq, artist, album, year, disc, number, title, ext in rows:
        name = torrent_name(archive_name, tier, seq)
        path = track_path(artist, album, year, disc, number, title, ext)
        used = taken.setdefault(name, set())
        if path.lower() in used:
            path = track_path(artist, album, year, disc, number, title, ext, track_id)
        used.add(path.lower())
        out.append(Placement(track_id, name, path))
    return out
