"""What the atheris fuzzers share: a seed corpus copied to a scratch folder, and the run."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris
from longplay.errors import LongplayError


def fuzz(seeds: dict[str, bytes], parse: Callable[[bytes], object]) -> None:
    """Run libFuzzer over ``parse`` with ``sys.argv``'s options; a LongplayError is a reject.

    Without a corpus folder on the command line, the seeds go in a scratch folder, so that
    libFuzzer's new inputs never land in the repository."""
    args = list(sys.argv)
    scratch = None
    if not any(not a.startswith("-") for a in args[1:]):
        scratch = Path(tempfile.mkdtemp(prefix="longplay-atheris-"))
        for name, data in seeds.items():
            (scratch / name).write_bytes(data)
        args.append(str(scratch))

    def one(data: bytes) -> None:
        try:
            parse(data)
        except LongplayError as exc:
            if not str(exc).strip():
                raise AssertionError(f"{type(exc).__name__} without a message") from None

    try:
        atheris.Setup(args, one)
        atheris.Fuzz()
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
