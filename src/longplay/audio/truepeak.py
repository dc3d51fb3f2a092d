"""True peak (ITU-R BS.1770 Annex 2 style): 4x oversampled, evaluated only near the loud samples.

FFmpeg's ``ebur128`` filter finds the true peak by resampling everything to 192 kHz, which
was two thirds of the whole loudness measurement. Here each channel is interpolated at the
three points between neighbouring samples with a 12-tap-per-phase windowed sinc, and only
where one of the two neighbours is within :data:`HEADROOM_DB` of the loudest sample seen so far.
A point between two samples both more than 6 dB down would need an inter-sample overshoot of
more than 6 dB to matter: a full-scale tone at a quarter of the sample rate overshoots by 3 dB,
music far less. Measured against the filter's own true peak on the benchmark's clips and the
analysis tests' signals, the two agree within 0.1 dB (bench/RESULTS.md).
"""

from __future__ import annotations

import math

import numpy as np

OVERSAMPLE = 4
TAPS = 12  # per phase: samples n-5 .. n+6 for the points between n and n+1
HEADROOM_DB = 6.0
_BETA = 7.0  # Kaiser window: stop band about 70 dB down, pass band flat to ~0.45 fs
_BEFORE = TAPS // 2 - 1  # samples before n in a window
_AFTER = TAPS // 2  # samples after n


def _phases() -> np.ndarray:
    """(TAPS, OVERSAMPLE - 1) weights: the value at n + k/4 is x[n-5 .. n+6] @ column k-1."""
    out = np.empty((TAPS, OVERSAMPLE - 1))
    offsets = np.arange(-_BEFORE, _AFTER + 1)
    half = TAPS / 2
    for k in range(1, OVERSAMPLE):
        t = k / OVERSAMPLE - offsets  # distance from the point to each sample, in samples
        window = np.i0(_BETA * np.sqrt(np.clip(1 - (t / half) ** 2, 0, None))) / np.i0(_BETA)
        w = np.sinc(t) * window
        out[:, k - 1] = w / w.sum()  # unity gain at DC: a constant stays that constant
    return out.astype(np.float32)


PHASES = _phases()
_RATIO = np.float32(10 ** (-HEADROOM_DB / 20))


def _dense(x: np.ndarray, phase: int) -> np.ndarray:
    """Every point of one phase: shifted multiply-adds, no gather."""
    m = x.size - TAPS + 1
    w = PHASES[:, phase]
    acc = w[0] * x[:m]
    for j in range(1, TAPS):
        acc += w[j] * x[j : j + m]
    return acc


def _at(x: np.ndarray, n: np.ndarray) -> list[np.ndarray]:
    """The points between x[n] and x[n+1] for the chosen n: one gather per tap."""
    acc = [np.zeros(n.size, dtype=np.float32) for _ in range(OVERSAMPLE - 1)]
    for j, r in enumerate(range(-_BEFORE, _AFTER + 1)):
        g = x[n + r]
        for k in range(OVERSAMPLE - 1):
            acc[k] += PHASES[j, k] * g
    return acc


class TruePeak:
    """Feed float32 planar blocks (channels, samples); :attr:`peak` is the linear true peak."""

    def __init__(self, channels: int) -> None:
        # Zeros before the first sample: the points before it interpolate from silence.
        self._carry = np.zeros((channels, TAPS - 1), dtype=np.float32)
        self.sample_peak = 0.0
        self.peak = 0.0
        self.evaluated = 0  # interpolated sample pairs, for the benchmark's report

    def feed(self, block: np.ndarray) -> None:
        if not block.shape[1]:
            return
        self.sample_peak = max(self.sample_peak, float(np.abs(block).max()))
        self.peak = max(self.peak, self.sample_peak)
        buf = np.concatenate([self._carry, block], axis=1)
        self._carry = buf[:, -(TAPS - 1) :]
        threshold = _RATIO * np.float32(self.sample_peak)
        loud = np.abs(buf) >= threshold
        # Pairs (n, n+1) with a loud member, n where a whole window fits in the buffer.
        pair = loud[:, _BEFORE : buf.shape[1] - _AFTER] | loud[:, _BEFORE + 1 : buf.shape[1] - _AFTER + 1]  # fmt: skip
        for ch in range(buf.shape[0]):
            n = np.flatnonzero(pair[ch]) + _BEFORE
            if not n.size:
                continue
            self.evaluated += n.size
            x = buf[ch]
            # Gathering costs about twice a dense pass per point: past a third, go dense.
            if 3 * n.size > x.size:
                values = [_dense(x, k) for k in range(OVERSAMPLE - 1)]
            else:
                values = _at(x, n)
            self.peak = max(self.peak, max(float(np.abs(v).max()) for v in values))

    def finish(self) -> float:
        """Flush the last samples' points (zeros after the end) and give the peak."""
        self.feed(np.zeros((self._carry.shape[0], _AFTER + 1), dtype=np.float32))
        return self.peak


def dbtp(peak: float) -> float | None:
    return round(20 * math.log10(peak), 2) if peak > 0 else None
