"""What users change while they listen: stars, ratings, plays, playlists and play queues.

All in state.sqlite, every write through :func:`longplay.state.transaction` (one writer at a
time, queued on the busy timeout), so concurrent requests never lose an update: N scrobbles of a
track add exactly N plays. Items are wire IDs (``tr-1``, ``al-2``, ``ar-3``) for stars and
ratings and stable catalog track IDs elsewhere; both outlive catalog generations.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from longplay.errors import InputError
from longplay.state import transaction


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- stars and ratings --------------------------------------------------------------------------
def star(con: sqlite3.Connection, user_id: int, item_ids: list[str]) -> None:
    """Star items; starring a starred item keeps its first date (idempotent)."""
    with transaction(con):
        con.executemany(
            "INSERT OR IGNORE INTO stars (user_id, item_id, created) VALUES (?,?,?)",
            [(user_id, i, now()) for i in item_ids],
        )


def unstar(con: sqlite3.Connection, user_id: int, item_ids: list[str]) -> None:
    with transaction(con):
        con.executemany(
            "DELETE FROM stars WHERE user_id = ? AND item_id = ?", [(user_id, i) for i in item_ids]
        )


def starred(
    con: sqlite3.Connection, user_id: int, prefix: str, limit: int
) -> list[tuple[str, str]]:
    """(item id, starred date) of one kind (``tr-``, ``al-``, ``ar-``), newest first."""
    return con.execute(
        "SELECT item_id, created FROM stars WHERE user_id = ? AND item_id >= ? AND item_id < ? "
        "ORDER BY created DESC LIMIT ?",
        (user_id, prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1), limit),
    ).fetchall()


def set_rating(con: sqlite3.Connection, user_id: int, item_id: str, rating: int) -> None:
    """Rate 1-5; 0 removes the rating."""
    if not 0 <= rating <= 5:
        raise InputError(f"rating {rating} is not between 0 and 5")
    with transaction(con):
        if rating == 0:
            con.execute("DELETE FROM ratings WHERE user_id = ? AND item_id = ?", (user_id, item_id))
        else:
            con.execute(
                "INSERT INTO ratings VALUES (?,?,?) "
                "ON CONFLICT (user_id, item_id) DO UPDATE SET rating = excluded.rating",
                (user_id, item_id, rating),
            )


def marks_of(
    con: sqlite3.Connection, user_id: int, item_ids: list[str]
) -> dict[str, tuple[str | None, int | None]]:
    """item id -> (starred date, rating) for the items that have either."""
    if not item_ids:
        return {}
    marks = ",".join("?" * len(item_ids))
    out: dict[str, tuple[str | None, int | None]] = {}
    for item, created in con.execute(
        f"SELECT item_id, created FROM stars WHERE user_id = ? AND item_id IN ({marks})",
        (user_id, *item_ids),
    ):
        out[item] = (created, None)
    for item, rating in con.execute(
        f"SELECT item_id, rating FROM ratings WHERE user_id = ? AND item_id IN ({marks})",
        (user_id, *item_ids),
    ):
        out[item] = (out.get(item, (None, None))[0], rating)
    return out


def marked_items(con: sqlite3.Connection, user_id: int, prefix: str) -> list[str]:
    """The ids of one kind (wire prefix, e.g. ``ar-``) that the user starred or rated."""
    rows = con.execute(
        "SELECT item_id FROM stars WHERE user_id = ? AND item_id LIKE ? || '%' "
        "UNION SELECT item_id FROM ratings WHERE user_id = ? AND item_id LIKE ? || '%'",
        (user_id, prefix, user_id, prefix),
    )
    return sorted(row[0] for row in rows)


# -- plays ---------------------------------------------------------------------------------------
def scrobble(
    con: sqlite3.Connection, user_id: int, track_id: int, album_id: int | None, when: str
) -> None:
    """One play: the count goes up by exactly one, inside the write lock."""
    with transaction(con):
        con.execute(
            "INSERT INTO plays (user_id, track_id, album_id, count, last_played) "
            "VALUES (?,?,?,1,?) ON CONFLICT (user_id, track_id) DO UPDATE SET "
            "count = count + 1, last_played = max(last_played, excluded.last_played)",
            (user_id, track_id, album_id, when),
        )


def play_counts(con: sqlite3.Connection, user_id: int, track_ids: list[int]) -> dict[int, int]:
    if not track_ids:
        return {}
    marks = ",".join("?" * len(track_ids))
    rows = con.execute(
        f"SELECT track_id, count FROM plays WHERE user_id = ? AND track_id IN ({marks})",
        (user_id, *track_ids),
    )
    return dict(rows.fetchall())


def albums_by_plays(
    con: sqlite3.Connection, user_id: int, kind: str, size: int, offset: int
) -> list[int]:
    """Album IDs for getAlbumList ``frequent`` (most plays) or ``recent`` (last played)."""
    order = "sum(count) DESC" if kind == "frequent" else "max(last_played) DESC"
    rows = con.execute(
        "SELECT album_id FROM plays WHERE user_id = ? AND album_id IS NOT NULL "
        f"GROUP BY album_id ORDER BY {order}, album_id LIMIT ? OFFSET ?",
        (user_id, size, offset),
    )
    return [r[0] for r in rows]


# -- playlists -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Playlist:
    playlist_id: int
    owner: str
    owner_id: int
    name: str
    comment: str | None
    public: bool
    created: str
    changed: str
    track_ids: tuple[int, ...]


_PLAYLIST = (
    "SELECT p.playlist_id, u.name, p.user_id, p.name, p.comment, p.public, p.created, p.changed "
    "FROM playlists p JOIN users u USING (user_id)"
)


def _entries(con: sqlite3.Connection, playlist_id: int) -> tuple[int, ...]:
    rows = con.execute(
        "SELECT track_id FROM playlist_entries WHERE playlist_id = ? ORDER BY position",
        (playlist_id,),
    )
    return tuple(r[0] for r in rows)


def _playlist(con: sqlite3.Connection, r: tuple[Any, ...]) -> Playlist:
    return Playlist(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], _entries(con, r[0]))


def playlists(con: sqlite3.Connection, user_id: int) -> list[Playlist]:
    """The user's playlists and everyone's public ones."""
    rows = con.execute(
        f"{_PLAYLIST} WHERE p.user_id = ? OR p.public ORDER BY p.name, p.playlist_id", (user_id,)
    ).fetchall()
    return [_playlist(con, r) for r in rows]


def playlist(con: sqlite3.Connection, user_id: int, playlist_id: int) -> Playlist | None:
    """A playlist the user may see (own or public), or None."""
    r = con.execute(
        f"{_PLAYLIST} WHERE p.playlist_id = ? AND (p.user_id = ? OR p.public)",
        (playlist_id, user_id),
    ).fetchone()
    return _playlist(con, r) if r else None


def _write_entries(con: sqlite3.Connection, playlist_id: int, track_ids: list[int]) -> None:
    con.execute("DELETE FROM playlist_entries WHERE playlist_id = ?", (playlist_id,))
    con.executemany(
        "INSERT INTO playlist_entries VALUES (?,?,?)",
        [(playlist_id, i, t) for i, t in enumerate(track_ids)],
    )


def _owned(con: sqlite3.Connection, user_id: int, playlist_id: int) -> None:
    row = con.execute(
        "SELECT user_id FROM playlists WHERE playlist_id = ?", (playlist_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"pl-{playlist_id}")
    if row[0] != user_id:
        raise PermissionError(f"pl-{playlist_id}")


def create_playlist(con: sqlite3.Connection, user_id: int, name: str, track_ids: list[int]) -> int:
    with transaction(con):
        cur = con.execute(
            "INSERT INTO playlists (user_id, name, created, changed) VALUES (?,?,?,?)",
            (user_id, name, now(), now()),
        )
        playlist_id = int(cur.lastrowid or 0)
        _write_entries(con, playlist_id, track_ids)
    return playlist_id


def replace_playlist(
    con: sqlite3.Connection, user_id: int, playlist_id: int, track_ids: list[int]
) -> None:
    """createPlaylist with a playlistId: the songs replace the playlist's."""
    with transaction(con):
        _owned(con, user_id, playlist_id)
        _write_entries(con, playlist_id, track_ids)
        con.execute("UPDATE playlists SET changed = ? WHERE playlist_id = ?", (now(), playlist_id))


def update_playlist(
    con: sqlite3.Connection,
    user_id: int,
    playlist_id: int,
    *,
    name: str | None = None,
    comment: str | None = None,
    public: bool | None = None,
    add: list[int] | None = None,
    remove_positions: list[int] | None = None,
) -> None:
    """Rename, comment, publish; remove entries by their position, then append ``add``."""
    with transaction(con):
        _owned(con, user_id, playlist_id)
        for column, value in (("name", name), ("comment", comment), ("public", public)):
            if value is not None:
                con.execute(
                    f"UPDATE playlists SET {column} = ? WHERE playlist_id = ?",
                    (int(value) if isinstance(value, bool) else value, playlist_id),
                )
        if add or remove_positions:
            drop = set(remove_positions or ())
            kept = [t for i, t in enumerate(_entries(con, playlist_id)) if i not in drop]
            _write_entries(con, playlist_id, kept + list(add or ()))
        con.execute("UPDATE playlists SET changed = ? WHERE playlist_id = ?", (now(), playlist_id))


def delete_playlist(con: sqlite3.Connection, user_id: int, playlist_id: int) -> None:
    with transaction(con):
        _owned(con, user_id, playlist_id)
        con.execute("DELETE FROM playlists WHERE playlist_id = ?", (playlist_id,))


# -- play queues ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlayQueue:
    track_ids: tuple[int, ...]
    current_index: int | None
    position_ms: int
    changed: str
    changed_by: str


def save_queue(
    con: sqlite3.Connection,
    user_id: int,
    track_ids: list[int],
    current_index: int | None,
    position_ms: int,
    client: str,
) -> None:
    """Replace the user's queue; an empty list clears it."""
    if current_index is not None and not 0 <= current_index < max(1, len(track_ids)):
        raise InputError(f"current index {current_index} is outside the queue")
    with transaction(con):
        con.execute("DELETE FROM play_queues WHERE user_id = ?", (user_id,))
        if not track_ids:
            return
        con.execute(
            "INSERT INTO play_queues VALUES (?,?,?,?,?)",
            (user_id, current_index, position_ms, now(), client),
        )
        con.executemany(
            "INSERT INTO play_queue_entries VALUES (?,?,?)",
            [(user_id, i, t) for i, t in enumerate(track_ids)],
        )


def queue(con: sqlite3.Connection, user_id: int) -> PlayQueue | None:
    row = con.execute(
        "SELECT current_index, position_ms, changed, changed_by FROM play_queues WHERE user_id = ?",
        (user_id,),
    ).fetchone()
    if row is None:
        return None
    tracks = con.execute(
        "SELECT track_id FROM play_queue_entries WHERE user_id = ? ORDER BY position", (user_id,)
    )
    return PlayQueue(tuple(r[0] for r in tracks), row[0], row[1], row[2], row[3])


def highest_rated(
    con: sqlite3.Connection, user_id: int, prefix: str, size: int, offset: int
) -> list[str]:
    """Item IDs of one kind by the user's rating, best first (getAlbumList ``highest``)."""
    rows = con.execute(
        "SELECT item_id FROM ratings WHERE user_id = ? AND item_id >= ? AND item_id < ? "
        "ORDER BY rating DESC, item_id LIMIT ? OFFSET ?",
        (user_id, prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1), size, offset),
    )
    return [r[0] for r in rows]
