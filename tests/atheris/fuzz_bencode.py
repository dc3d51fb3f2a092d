"""atheris over the .torrent decoder and its checks: ``python tests/atheris/fuzz_bencode.py -runs=N``."""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    from longplay.mirror.safety import load_torrent
    from longplay.pack.torrents import read_torrent


def _bencode(value: object) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(_bencode(v) for v in value) + b"e"
    assert isinstance(value, dict)
    return b"d" + b"".join(_bencode(k) + _bencode(v) for k, v in sorted(value.items())) + b"e"


FILES = [{b"length": 20000, b"path": [b"cd1", b"01.flac"]}, {b"length": 300, b"path": [b"a.txt"]}]
SEEDS = {
    "multi.torrent": _bencode(
        {
            b"info": {
                b"name": b"album",
                b"piece length": 16384,
                b"pieces": b"\1" * 40,
                b"files": FILES,
            }
        }
    ),
    "single.torrent": _bencode(
        {b"info": {b"name": b"a.flac", b"piece length": 16384, b"pieces": b"\2" * 20, b"length": 9}}
    ),
}


def parse(data: bytes) -> None:
    load_torrent(data, "fuzzed.torrent")
    read_torrent(data)


if __name__ == "__main__":
    from _harness import fuzz

    fuzz(SEEDS, parse)
