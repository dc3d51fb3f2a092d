"""The transcode cache: keys follow the source, the budget holds, least recently used goes first."""

from __future__ import annotations

import os
import time
from pathlib import Path

from longplay.server.transcode_cache import TranscodeCache, cache_key


def put(cache: TranscodeCache, key: str, size: int) -> Path | None:
    part = cache.partial_path(key)
    part.write_bytes(b"x" * size)
    return cache.add(key, "mp3", part)


def test_key_follows_the_source_and_the_settings(tmp_path: Path) -> None:
    src = tmp_path / "a.flac"
    src.write_bytes(b"one")
    key = cache_key(src, "opus", 96_000, 0.0)
    assert key == cache_key(tmp_path / "." / "a.flac", "opus", 96_000, 0.0)
    assert len({
        key,
        cache_key(src, "mp3", 96_000, 0.0),
        cache_key(src, "opus", 128_000, 0.0),
        cache_key(src, "opus", 96_000, 2.5),
    }) == 4  # fmt: skip
    src.write_bytes(b"two")  # same size, new mtime
    os.utime(src, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert cache_key(src, "opus", 96_000, 0.0) != key


def test_lookup_after_add(tmp_path: Path) -> None:
    cache = TranscodeCache(tmp_path, 1000)
    assert cache.lookup("ab" * 32, "mp3") is None
    path = put(cache, "ab" * 32, 100)
    assert path == tmp_path / "ab" / f"{'ab' * 32}.mp3" and path.stat().st_size == 100
    assert cache.lookup("ab" * 32, "mp3") == path
    assert cache.lookup("ab" * 32, "opus") is None
    assert cache.total_bytes == 100
    assert list((tmp_path / "partial").iterdir()) == []


def test_least_recently_used_is_evicted(tmp_path: Path) -> None:
    cache = TranscodeCache(tmp_path, 300)
    keys = [f"{i:02d}" * 32 for i in range(4)]
    paths = [put(cache, k, 100) for k in keys[:3]]
    assert cache.lookup(keys[0], "mp3") is not None  # used: now the newest
    put(cache, keys[3], 100)
    assert cache.total_bytes == 300
    assert paths[1] is not None and not paths[1].exists()
    assert cache.lookup(keys[1], "mp3") is None
    assert all(cache.lookup(k, "mp3") for k in (keys[0], keys[2], keys[3]))


def test_an_entry_over_the_budget_is_not_kept(tmp_path: Path) -> None:
    cache = TranscodeCache(tmp_path, 50)
    assert put(cache, "cd" * 32, 100) is None
    assert cache.total_bytes == 0 and cache.lookup("cd" * 32, "mp3") is None
    assert list((tmp_path / "partial").iterdir()) == []
    nothing = TranscodeCache(tmp_path / "off", 0)
    assert put(nothing, "cd" * 32, 1) is None


def test_reopening_keeps_entries_in_use_order_and_drops_part_files(tmp_path: Path) -> None:
    cache = TranscodeCache(tmp_path, 1000)
    keys = [f"{i:02d}" * 32 for i in range(3)]
    for i, k in enumerate(keys):
        path = put(cache, k, 100)
        assert path is not None
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    first = cache.path_for(keys[0], "mp3")
    os.utime(first, (2_000_000, 2_000_000))  # keys[0] last used
    (tmp_path / "partial" / "left-by-a-crash.part").write_bytes(b"half")
    again = TranscodeCache(tmp_path, 250)  # a smaller budget: the least recently used goes
    assert again.total_bytes == 200
    assert again.lookup(keys[0], "mp3") is not None
    assert again.lookup(keys[1], "mp3") is None
    assert list((tmp_path / "partial").iterdir()) == []
