"""EBU R128 loudness through PyAV's bundled ``ebur128`` filter, and ReplayGain 2 from it.

The filter measures integrated loudness (LUFS), loudness range (LU) and true peak at the
file's own rate and channel layout; it gives -23.00 LUFS on the EBU -23 reference. ReplayGain 2
is the same measurement against a -18 LUFS reference: track gain = -18 - integrated loudness,
track peak = the true peak (linear, 1.0 = full scale).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.filter

REPLAYGAIN_REFERENCE_LUFS = -18.0
SILENT_LUFS = -70.0  # the absolute gate: a file gated out entirely measures exactly this


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    range_lu: float
    true_peak: float  # linear; 1.0 is digital full scale

    @property
    def true_peak_dbtp(self) -> float | None:
        return round(20 * math.log10(self.true_peak), 2) if self.true_peak > 0 else None

    @property
    def track_gain_db(self) -> float:
        return round(REPLAYGAIN_REFERENCE_LUFS - self.integrated_lufs, 2)

    @property
    def silent(self) -> bool:
        return self.integrated_lufs <= SILENT_LUFS or self.true_peak <= 0


class Meter:
    """Push decoded frames (any format, one layout and rate); :meth:`finish` gives the result."""

    def __init__(self, first: av.AudioFrame) -> None:
        self._graph = av.filter.Graph()
        src = self._graph.add_abuffer(
            format=first.format.name,
            sample_rate=first.sample_rate,
            layout=first.layout.name,
            time_base=Fraction(1, first.sample_rate),
        )
        meter = self._graph.add("ebur128", "metadata=1:peak=true")
        sink = self._graph.add("abuffersink")
        src.link_to(meter)
        meter.link_to(sink)
        self._graph.configure()
        self._meta: dict[str, Any] = {}

    def _drain(self) -> None:
        while True:
            try:
                meta = self._graph.pull().metadata
            except (av.BlockingIOError, av.EOFError):
                return
            if "lavfi.r128.I" in meta:  # the last frames of a short file may carry none
                self._meta = dict(meta)

    def push(self, frame: av.AudioFrame) -> None:
        self._graph.push(frame)
        self._drain()

    def finish(self) -> Loudness:
        self._graph.push(None)
        self._drain()
        meta = self._meta
        return Loudness(
            integrated_lufs=float(meta.get("lavfi.r128.I", SILENT_LUFS)),
            range_lu=float(meta.get("lavfi.r128.LRA", 0.0)),
            true_peak=float(meta.get("lavfi.r128.true_peak", 0.0)),
        )


def album_gain(tracks: Iterable[tuple[float, float, float]]) -> tuple[float, float] | None:
    """ReplayGain 2 album (gain dB, peak) from (integrated LUFS, seconds, true peak) per track.

    The album's loudness is the duration-weighted power mean of its tracks' integrated
    loudness: what measuring the files end to end gives when each track's gated blocks sit
    near its own integrated level (the relative gate is per track here, not per album).
    """
    energy = seconds = peak = 0.0
    for lufs, duration, tp in tracks:
        if lufs <= SILENT_LUFS or duration <= 0:
            continue
        energy += duration * 10 ** (lufs / 10)
        seconds += duration
        peak = max(peak, tp)
    if not seconds:
        return None
    lufs = 10 * math.log10(energy / seconds)
    return round(REPLAYGAIN_REFERENCE_LUFS - lufs, 2), round(peak, 6)
