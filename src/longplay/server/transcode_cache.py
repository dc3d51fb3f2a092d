"""The transcode cache: finished transcodes on disk, bounded in bytes, least recently used first out.

Layout under the cache directory::

    ab/ab12...ef.opus         a finished transcode: named by the SHA-256 of its key, in the
                              subfolder of its first two hex digits (256 folders keep each
                              one small); its mtime is its last use
    partial/<key>.<rand>.part transcodes being written; emptied when the cache opens, as a
                              part file left by a stopped server is never finished

The key is the source's resolved path, size and mtime (so a replaced file is transcoded anew),
the format, the bitrate and the offset in milliseconds. The index of entries lives in memory,
rebuilt from a scan when the cache opens (ordered by mtime), so a lookup touches no directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

PARTIAL = "partial"


def cache_key(src: Path, fmt: str, bitrate: int, offset_s: float) -> str:
    """The hex name of the transcode of ``src`` as it is on disk now (raises OSError if gone)."""
    st = src.stat()
    ident = f"{src.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{fmt}\0{bitrate}\0"
    ident += str(round(offset_s * 1000))
    return hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()


def ident_key(ident: str, fmt: str, bitrate: int, offset_s: float) -> str:
    """The hex name of the transcode of the bytes ``ident`` names (a content hash)."""
    text = f"ident\0{ident}\0{fmt}\0{bitrate}\0{round(offset_s * 1000)}"
    return hashlib.sha256(text.encode()).hexdigest()


class TranscodeCache:
    """Finished transcodes under ``directory``, kept within ``max_bytes`` (0 keeps nothing)."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Path, int] = OrderedDict()  # path -> bytes, oldest use first
        self._bytes = 0
        partial = self.directory / PARTIAL
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True, exist_ok=True)
        found = []
        for sub in self.directory.iterdir():
            if sub.name == PARTIAL or not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                st = entry.stat()
                found.append((st.st_mtime_ns, Path(entry.path), st.st_size))
        for _, path, size in sorted(found):
            self._entries[path] = size
            self._bytes += size
        with self._lock:
            self._evict()

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def path_for(self, key: str, fmt: str) -> Path:
        return self.directory / key[:2] / f"{key}.{fmt}"

    def partial_path(self, key: str) -> Path:
        """A new, unique part-file name for a transcode of ``key`` being written."""
        return self.directory / PARTIAL / f"{key}.{uuid.uuid4().hex[:8]}.part"

    def lookup(self, key: str, fmt: str) -> Path | None:
        """The finished entry of ``key``, marked as just used; None when there is none."""
        path = self.path_for(key, fmt)
        with self._lock:
            if path not in self._entries:
                return None
            self._entries.move_to_end(path)
        try:
            now = time.time()
            os.utime(path, (now, now))  # the order survives a restart
        except FileNotFoundError:
            with self._lock:
                self._forget(path)
            return None
        return path

    def add(self, key: str, fmt: str, part: Path) -> Path | None:
        """Move the finished ``part`` into the cache; evict old entries to stay in budget.

        Returns the entry's path, or None when the cache keeps nothing this big (the part file
        is then deleted; a reader holding it open still reads it to the end).
        """
        size = part.stat().st_size
        if size > self.max_bytes:
            part.unlink(missing_ok=True)
            return None
        path = self.path_for(key, fmt)
        path.parent.mkdir(exist_ok=True)
        os.replace(part, path)  # atomic: a reader sees the old entry or the whole new one
        with self._lock:
            self._forget(path)  # the same key finished twice (two requests at once)
            self._entries[path] = size
            self._bytes += size
            self._evict()
        return path

    def _forget(self, path: Path) -> None:
        size = self._entries.pop(path, None)
        if size is not None:
            self._bytes -= size

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._entries:
            path, size = self._entries.popitem(last=False)
            self._bytes -= size
            # A response streaming this entry holds it open and still reads it to the end.
            path.unlink(missing_ok=True)
