"""A file of a torrent read in order while it downloads: a sliding window of urgent pieces.

`PieceReader` is a seekable binary file over one file of a torrent in the swarm session. A read
at position P needs the piece holding P: the window of pieces from there on gets the top
priority (7) and piece deadlines that grow with the distance (deadlines alone let late pieces
be picked first; priorities alone do not order them), and the read waits until libtorrent has
the piece. libtorrent reports a piece only after its hash check, and only such pieces are read
back from disk, so no unverified byte ever leaves. Pieces arrive out of order; reads hand them
out in order. A seek moves the window (old deadlines are reset). Waits poll `have_piece` as
well as waking on piece alerts, since alerts can drop under load.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from longplay.errors import LongplayError
from longplay.mirror.safety import layout

WINDOW_BYTES = 16 * 1024 * 1024  # how far ahead of the read position pieces are urgent
MAX_WINDOW_PIECES = 64
DEADLINE_STEP_MS = 150  # deadline of the k-th piece of the window: k steps from now
POLL_S = 0.1


class SwarmUnavailable(LongplayError):
    """No peer delivered the needed piece within the timeout (the track is not available now)."""


class PieceReader(io.RawIOBase):
    """One file of a torrent, read as its pieces arrive; seekable; blocking reads."""

    def __init__(
        self,
        handle: Any,
        file_index: int,
        path: Path,
        *,
        timeout: float,
        wake: threading.Condition,
        read_piece: Callable[[Any, int], bytes],
        on_close: Callable[[PieceReader], None] | None = None,
    ) -> None:
        super().__init__()
        ti = handle.torrent_file()
        files = layout(ti)
        self.handle = handle
        self.path = Path(path)
        self.size = int(files.file_size(file_index))
        self.offset = int(files.file_offset(file_index))  # of the file inside the torrent
        self.piece_length = int(ti.piece_length())
        self.timeout = timeout
        self._wake = wake
        self._on_close = on_close
        self._read_piece = read_piece
        self._held: tuple[int, bytes] | None = None
        self._pos = 0
        self._window: list[int] = []
        self._last_piece = self._piece_of(max(self.size - 1, 0))
        self.window_pieces = max(
            2, min(MAX_WINDOW_PIECES, -(-WINDOW_BYTES // max(self.piece_length, 1)))
        )

    # -- io.RawIOBase -------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read_at(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._clear_window()
            self._held = None
            if self._on_close is not None:
                self._on_close(self)
        super().close()

    # -- pieces -------------------------------------------------------------------------
    def _piece_of(self, pos: int) -> int:
        return (self.offset + pos) // self.piece_length

    def _piece_end(self, piece: int) -> int:
        """The file position just after ``piece``."""
        return min(self.size, (piece + 1) * self.piece_length - self.offset)

    def complete(self) -> bool:
        first, last = self._piece_of(0), self._last_piece
        return all(self.handle.have_piece(p) for p in range(first, last + 1))

    def _move_window(self, piece: int) -> None:
        want = list(range(piece, min(piece + self.window_pieces, self._last_piece + 1)))
        want = [p for p in want if not self.handle.have_piece(p)]
        if want == self._window:
            return
        for p in self._window:
            if p not in want:
                self.handle.reset_piece_deadline(p)
        for k, p in enumerate(want):
            self.handle.piece_priority(p, 7)
            self.handle.set_piece_deadline(p, k * DEADLINE_STEP_MS)
        self._window = want

    def _clear_window(self) -> None:
        for p in self._window:
            try:
                self.handle.reset_piece_deadline(p)
            except RuntimeError:  # the torrent left the session meanwhile
                break
        self._window = []

    def _progress(self) -> int:
        return int(self.handle.status().total_payload_download)

    def wait_piece(self, piece: int) -> None:
        """Block until the session has ``piece`` (hash-checked); `SwarmUnavailable` when no
        payload byte arrives for the timeout."""
        if self.handle.have_piece(piece):
            return
        self._move_window(piece)
        seen = self._progress()
        idle_since = time.monotonic()
        while not self.handle.have_piece(piece):
            with self._wake:
                self._wake.wait(POLL_S)
            now = time.monotonic()
            got = self._progress()
            if got != seen:
                seen, idle_since = got, now
            elif now - idle_since > self.timeout:
                self._clear_window()
                raise SwarmUnavailable(
                    f"not available right now: no peer sent a byte of piece {piece} "
                    f"in {self.timeout:g} s"
                )

    def _piece_bytes(self, piece: int) -> bytes:
        """The whole of ``piece`` as libtorrent has it (last one kept: reads come in chunks)."""
        if self._held is None or self._held[0] != piece:
            self._held = (piece, self._read_piece(self.handle, piece))
        return self._held[1]

    def read_at(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``pos`` (to the end of its piece at most); b"" at the end."""
        if n <= 0 or pos >= self.size:
            return b""
        piece = self._piece_of(pos)
        self.wait_piece(piece)
        self._move_window(piece + 1 if piece < self._last_piece else piece)
        end = min(pos + n, self._piece_end(piece))
        data = self._piece_bytes(piece)
        start = self.offset + pos - piece * self.piece_length
        out = data[start : start + end - pos]
        if len(out) != end - pos:
            raise LongplayError(f"piece {piece} came back short from libtorrent")
        return out
