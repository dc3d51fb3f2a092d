"""Chromaprint in process: libchromaprint through pyacoustid, raw and compressed fingerprints.

The fingerprinter is fed 16-bit mono at :data:`RATE`, chromaprint's own working rate, straight
from PyAV's resampler (no ``fpcalc`` subprocess: Debian 12's 1.5.1 exits 3 on files shorter than
its ``-length``). A fingerprint is a list of 32-bit items, about 8 a second; two encodings of
one recording differ in a few bits of each aligned item, two recordings in about half of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from longplay.errors import LongplayError

RATE = 11025  # chromaprint resamples everything to this rate: feeding it so skips its resampler
ITEMS_PER_SECOND = RATE / 1365  # one item per 1365-sample hop (a 4096 frame, 2/3 overlap)
MISSING = (
    "Chromaprint is not available: install Debian's libchromaprint1 (`make venv` does) "
    "and PyPI's pyacoustid"
)


class ChromaprintMissing(LongplayError):
    """libchromaprint (or its Python binding) cannot be loaded."""


def _module() -> Any:
    try:
        import chromaprint
    except ImportError:  # no pyacoustid, or ctypes found no libchromaprint.so.1
        raise ChromaprintMissing(MISSING) from None
    return chromaprint


def check() -> None:
    """Raise :class:`ChromaprintMissing` (one line) when fingerprints cannot be computed."""
    _module()


def version() -> str:
    lib = _module()._libchromaprint
    return f"chromaprint {lib.chromaprint_get_version().decode()}"


class Fingerprinter:
    """Feed int16 mono blocks at :data:`RATE`; :meth:`finish` gives (raw items, compressed)."""

    def __init__(self) -> None:
        self._fp = _module().Fingerprinter()
        self._fp.start(RATE, 1)

    def feed(self, samples: np.ndarray) -> None:
        if samples.size:
            self._fp.feed(np.ascontiguousarray(samples, dtype=np.int16).tobytes())

    def finish(self) -> tuple[list[int], str]:
        encoded = self._fp.finish()
        if not encoded:
            return [], ""
        raw, _algorithm = _module().decode_fingerprint(encoded)
        return [int(v) for v in raw], encoded.decode("ascii")


def encode(raw: list[int], algorithm: int = 1) -> str:
    """The compressed, base64 string AcoustID uses, from raw items."""
    if not raw:
        return ""
    signed = [v - (1 << 32) if v >= 1 << 31 else v for v in raw]
    return bytes(_module().encode_fingerprint(signed, algorithm)).decode("ascii")


def decode(encoded: str) -> list[int]:
    """Raw unsigned items from the compressed string."""
    if not encoded:
        return []
    raw, _algorithm = _module().decode_fingerprint(encoded.encode("ascii"))
    return [int(v) & 0xFFFFFFFF for v in raw]


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def bit_errors(a: np.ndarray, b: np.ndarray) -> int:
    """Differing bits between two equally long uint32 arrays."""
    x = np.bitwise_xor(a.astype(np.uint32), b.astype(np.uint32))
    return int(_POPCOUNT[x.view(np.uint8)].sum())


def bit_error_rate(a: np.ndarray, b: np.ndarray, offset: int) -> tuple[float, int]:
    """(share of differing bits, items compared) with ``b[i]`` aligned to ``a[i + offset]``."""
    start_a, start_b = max(offset, 0), max(-offset, 0)
    n = min(len(a) - start_a, len(b) - start_b)
    if n <= 0:
        return 1.0, 0
    errors = bit_errors(a[start_a : start_a + n], b[start_b : start_b + n])
    return errors / (32 * n), n
