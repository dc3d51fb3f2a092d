"""Rendered answers kept per catalog view, and the users' marks that decide when one may be reused.

A view (one generation, its holdings and analysis values) never changes, so what a browsing
answer holds apart from the caller's own stars, ratings and play counts is fixed for the view's
lifetime. A handler that says so (``Call.shared``) has its rendered bytes kept here, by endpoint,
parameters (less the credentials) and format, in an LRU bounded by the ``server_answer_cache``
setting; the bytes are stored only when the caller had no mark on any item of the answer, so
they are what anyone without marks there would get. A later call is answered from them on the
event loop, without a thread hop, rendering or SQLite lookup, when its user has no mark among
the answer's IDs either; any other caller takes the full path, so marks stay exact.

The users' marks (:class:`MarkIndex`) are sets of wire IDs read from state.sqlite and kept
while ``PRAGMA data_version`` on one connection stays put: any commit to state.sqlite, by this
process or another, moves it, so a star shows in the very next answer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Parameters that say who is asking or with which client: not part of an answer's key.
NOT_KEYED = frozenset({"u", "p", "t", "s", "c", "v", "apiKey", "_"})


def key_of(name: str, params: dict[str, list[str]]) -> tuple[Any, ...]:
    return (name, tuple(sorted((k, tuple(v)) for k, v in params.items() if k not in NOT_KEYED)))


def item_ids(doc: Any, out: set[str]) -> set[str]:
    """Every ``id`` of a plain answer (songs, albums, artists: what a user can mark)."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "id" and isinstance(v, str):
                out.add(v)
            elif isinstance(v, (dict, list)):
                item_ids(v, out)
    elif isinstance(doc, list):
        for v in doc:
            item_ids(v, out)
    return out


class MarkIndex:
    """Per user, the wire IDs they starred, rated or played, valid for one state version."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._connect = connect
        self._con: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._marks: dict[int, tuple[int, frozenset[str]]] = {}

    def version(self) -> int:
        """state.sqlite's data version as one connection sees it: moves on every commit."""
        with self._lock:
            if self._con is None:
                self._con = self._connect()
            return int(self._con.execute("PRAGMA data_version").fetchone()[0])

    def current(self, user_id: int) -> frozenset[str] | None:
        """The user's marks if known for the present version (cheap: for the event loop)."""
        known = self._marks.get(user_id)
        if known is None or known[0] != self.version():
            return None
        return known[1]

    def load(self, con: sqlite3.Connection, user_id: int, version: int) -> frozenset[str] | None:
        """The user's marks at ``version`` (read now if needed); None once state moved on."""
        known = self._marks.get(user_id)
        if known is not None and known[0] == version:
            return known[1]
        rows = con.execute(
            "SELECT item_id FROM stars WHERE user_id = ?1 UNION ALL "
            "SELECT item_id FROM ratings WHERE user_id = ?1 UNION ALL "
            "SELECT 'tr-' || track_id FROM plays WHERE user_id = ?1",
            (user_id,),
        )
        marks = frozenset(row[0] for row in rows)
        # A commit during the read may or may not be in it: keep the set only if none happened.
        if self.version() != version:
            return None
        if len(self._marks) > 10_000:
            self._marks.clear()
        self._marks[user_id] = (version, marks)
        return marks

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    ids: frozenset[str]
    listing: float  # torrents.json's time when stored: no torrent carried a track then

    @property
    def size(self) -> int:
        """What it costs the cache: its body and, roughly, its ID set."""
        return len(self.body) + 64 * len(self.ids)


class AnswerCache:
    """An LRU of rendered answers of one view, at most ``budget`` bytes of bodies."""

    def __init__(self, budget: int):
        self.budget = budget
        self._lock = threading.Lock()
        self._view: object | None = None
        self._entries: OrderedDict[tuple[Any, ...], Answer] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, view: object, key: tuple[Any, ...]) -> Answer | None:
        with self._lock:
            found = self._entries.get(key) if view is self._view else None
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, view: object, key: tuple[Any, ...], answer: Answer) -> None:
        size = answer.size
        if size > self.budget // 8:  # one huge answer must not flush everything else
            return
        with self._lock:
            if view is not self._view:  # a new view: the old one's answers are of no more use
                self._view, self._bytes = view, 0
                self._entries.clear()
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self.budget and self._entries:
                _, gone = self._entries.popitem(last=False)
                self._bytes -= gone.size

    def cache_bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


def unmarked(marks: frozenset[str] | None, ids: Iterable[str]) -> bool:
    return marks is not None and marks.isdisjoint(ids)
