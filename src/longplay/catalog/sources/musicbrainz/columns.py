"""The columns one chunk of MusicBrainz documents is mapped into (``documents.Batch`` fills them).

Flat track rows, album values and artist-credit structs as plain lists (turned into Arrow by
``chunks.flat_table``), kept documents with their residual JSON, rejects, unknown-field
counts and sort names. A document that turns out bad half-way is rolled back to a mark.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson


class Columns:
    """Columns of the flat rows, documents and side tables of one chunk of documents."""

    def __init__(self) -> None:
        # per flat row
        self.track_key: list[str | None] = []
        self.title: list[str | None] = []
        self.isrc: list[str | None] = []
        self.mbid: list[str | None] = []
        self.duration: list[int | None] = []
        self.disc: list[int | None] = []
        self.number: list[int | None] = []
        self.genres: list[list[str] | None] = []
        self.art_off: list[int] = [0]  # offsets into the artist struct children
        self.art: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])
        self.doc_of_row: list[int] = []
        self.album_only: list[bool] = []
        # per release (album columns, taken per row)
        self.album: tuple[list[Any], ...] = tuple([] for _ in range(9))
        self.alb_off: list[int] = [0]
        self.alb_art: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])
        self.pos: list[str] = []
        # rejected documents
        self.reject_pos: list[str] = []
        self.reject_why: list[str] = []
        # kept documents: kind, key, line, residual JSON
        self.docs: tuple[list[str], list[str], list[int], list[str]] = ([], [], [], [])
        self.isrc_extra: tuple[list[str], list[str], list[int]] = ([], [], [])
        self.sort_names: dict[str, str] = {}
        # numbers too large for their flat column: (line, field, value); kept in the residual
        self.oversize: list[tuple[int, str, int]] = []
        self.unknown: Counter[str] = Counter()
        self.unknown_first: dict[str, int] = {}
        self.read = 0

    def _track_columns(self) -> tuple[list[Any], ...]:
        return (
            self.track_key,
            self.title,
            self.isrc,
            self.mbid,
            self.duration,
            self.disc,
            self.number,
            self.genres,
        )

    def reject(self, line: int, why: str) -> None:
        self.reject_pos.append(f"line {line}")
        self.reject_why.append(why)

    def too_large(self, line: int, field: str, value: int) -> None:
        self.oversize.append((line, field, value))

    def note_unknown(self, keys: set[str], level: str, line: int) -> None:
        for k in keys:
            path = f"{level}.{k}"
            self.unknown[path] += 1
            self.unknown_first.setdefault(path, line)

    def _keep(self, kind: str, key: str, line: int, residual: dict[str, Any]) -> None:
        self.docs[0].append(kind)
        self.docs[1].append(key)
        self.docs[2].append(line)
        self.docs[3].append(orjson.dumps(residual).decode())

    def _mark(self) -> tuple[int, ...]:
        return (
            len(self.track_key),
            len(self.art[0]),
            len(self.pos),
            len(self.alb_art[0]),
            len(self.isrc_extra[0]),
            len(self.oversize),
        )

    def _rollback(self, mark: tuple[int, ...]) -> None:
        """Forget what a rejected document appended (rare: only on a Problem)."""
        rows, arts, docs, alb_arts, extras, oversize = mark
        del self.oversize[oversize:]
        for col in (*self._track_columns(), self.doc_of_row, self.album_only):
            del col[rows:]
        del self.art_off[rows + 1 :]
        for lst in (*self.art,):
            del lst[arts:]
        for lst in (*self.album, self.pos):
            del lst[docs:]
        del self.alb_off[docs + 1 :]
        for lst in (*self.alb_art,):
            del lst[alb_arts:]
        for lst in (*self.isrc_extra,):
            del lst[extras:]
