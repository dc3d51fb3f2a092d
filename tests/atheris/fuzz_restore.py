"""atheris over the restore-data decoder: ``python tests/atheris/fuzz_restore.py -runs=N``."""

from __future__ import annotations

import hashlib

import atheris

with atheris.instrument_imports():
    from longplay.audio import patches

ORIGINAL = bytes(range(256)) * 40
TAGGED = b"TAGS" * 50 + ORIGINAL[:5000] + b"more tags" + ORIGINAL[5000:]


def parse(data: bytes) -> None:
    info = patches.parse(data)
    rebuilt = patches.apply(TAGGED, data)
    # whatever applies must rebuild exactly the original it promises
    assert hashlib.sha256(rebuilt).hexdigest() == info.original_sha256


if __name__ == "__main__":
    from _harness import fuzz

    fuzz({"seed.lprestore": patches.make(ORIGINAL, TAGGED)}, parse)
