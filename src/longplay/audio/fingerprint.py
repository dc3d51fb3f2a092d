"""Chromaprint in process: libchromaprint through pyacoustid, raw and compressed fingerprints.

The fingerprinter is fed 16-bit mono at :data:`RATE`, chromaprint's own working rate (no
``fpcalc`` subprocess: Debian 12's 1.5.1 exits 3 on files shorter than its ``-length``). From
a multiple of that rate (44.1 kHz) a short FIR decimates in numpy: four times cheaper than
FFmpeg's resampler, whose filter grows with the ratio, and than chromaprint's own; Chromaprint
only looks below 3.5 kHz. Other rates go through PyAV's resampler. A fingerprint is a list of 32-bit items, about 8 a second; two encodings of
one recording differ in a few bits of each aligned item, two recordings in about half of them.
"""

from __future__ import annotations

from typing import Any

import av
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


def _lowpass(factor: int) -> np.ndarray:
    """A windowed-sinc low-pass for decimating by ``factor``: 8 taps per output sample."""
    taps = 8 * factor + 1
    t = np.arange(taps) - taps // 2
    cutoff = 0.9 / factor  # of the input's Nyquist frequency: 4.96 kHz from 44.1 kHz
    h = cutoff * np.sinc(cutoff * t) * np.kaiser(taps, 6.0)
    return (h / h.sum()).astype(np.float32)


class Fingerprinter:
    """Feed float32 mono blocks at ``rate``; :meth:`finish` gives (raw items, compressed)."""

    def __init__(self, rate: int = RATE) -> None:
        self._fp = _module().Fingerprinter()
        self._fp.start(RATE, 1)
        self._factor = rate // RATE if rate % RATE == 0 else 0
        self._resampler: av.AudioResampler | None = None
        if self._factor > 1:
            self._h = _lowpass(self._factor)
            self._tail = np.zeros(self._h.size // 2, dtype=np.float32)  # centres the filter
        elif not self._factor:
            self._rate = rate
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)

    def _feed16(self, samples: np.ndarray) -> None:
        if samples.size:
            self._fp.feed(np.ascontiguousarray(samples, dtype=np.int16).tobytes())

    def _decimated(self, mono: np.ndarray) -> np.ndarray:
        q, h = self._factor, self._h
        buf = np.concatenate([self._tail, mono])
        n = (buf.size - h.size) // q + 1 if buf.size >= h.size else 0
        acc = np.zeros(n, dtype=np.float32)
        for j, w in enumerate(h):
            acc += w * buf[j : j + n * q : q]
        self._tail = buf[n * q :]
        return acc

    def feed(self, mono: np.ndarray) -> None:
        """Float32 samples in [-1, 1] at this fingerprinter's rate."""
        if self._resampler is not None:
            frame = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
            frame.sample_rate = self._rate
            for out in self._resampler.resample(frame):
                self._feed16(out.to_ndarray()[0])
            return
        low = self._decimated(mono) if self._factor > 1 else mono
        self._feed16(np.clip(low * 32768, -32768, 32767).astype(np.int16))

    def finish(self) -> tuple[list[int], str]:
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                self._feed16(out.to_ndarray()[0])
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
