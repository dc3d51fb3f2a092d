"""One file's audio analysis: one PyAV decode pass feeding every analyzer.

Each decoded frame goes, as it comes, to the EBU R128 meter at the file's own rate, to
Chromaprint as 16-bit mono at 11025 Hz, and (with the ``analysis`` extra) into a 44.1 kHz
mono buffer for Essentia; the audio-payload hash is taken from the same packets. The result,
:class:`Features`, is keyed by that hash: re-tagging or moving a file does not change it.

:func:`analyze_file` is pure and raises :class:`AnalysisProblem` with the reject reason;
:func:`analyze_one` is the worker task (imports: PyAV, numpy, ctypes; no DuckDB or Rich).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from longplay.audio import descriptors, fingerprint, loudness
from longplay.audio.probe import (
    AudioProblem,
    _audio_stream,
    _error_text,
    _ffmpeg_log,
    payload_sha256,
)

ANALYSIS_VERSION = 1  # bump when a stored value would come out differently
MIN_SECONDS = 3.0  # below this Chromaprint returns (almost) nothing and R128's gates misbehave


class AnalysisProblem(Exception):
    """Why a file has no analysis (the rejects log's reason)."""


@dataclass(frozen=True)
class Features:
    """What analysis knows about one audio payload. Essentia's fields are None without it."""

    payload_sha256: str
    duration_s: float
    sample_rate: int
    channels: int
    loudness_lufs: float
    loudness_range_lu: float
    true_peak: float  # linear, 1.0 = full scale
    true_peak_dbtp: float | None
    replaygain_track_gain_db: float
    replaygain_track_peak: float
    fingerprint: list[int] = field(default_factory=list, repr=False)  # raw Chromaprint items
    fingerprint_compressed: str = field(default="", repr=False)  # AcoustID's string
    bpm: float | None = None
    key: str | None = None
    mode: str | None = None  # major | minor
    key_strength: float | None = None
    danceability: float | None = None  # Essentia's DFA-based value, about 0-3
    dynamic_complexity: float | None = None  # dB
    onset_rate: float | None = None  # onsets per second
    analyzers: str = ""
    # Filled when read for catalog tracks (album gain needs the album's other files).
    replaygain_album_gain_db: float | None = None
    replaygain_album_peak: float | None = None

    def values(self, *, fingerprints: bool = False) -> dict[str, Any]:
        """The fields that have a value (absent, not null, when unknown)."""
        skip = () if fingerprints else ("fingerprint", "fingerprint_compressed")
        return {
            k: v
            for k, v in dataclasses.asdict(self).items()
            if v is not None and k not in skip and v != ""
        }

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Features:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def analyzers(with_essentia: bool | None = None) -> str:
    """Which analyzers and versions produce the values (published beside them)."""
    libavfilter = ".".join(str(n) for n in av.library_versions["libavfilter"])
    parts = [fingerprint.version(), f"ffmpeg ebur128 (libavfilter {libavfilter})"]
    if with_essentia is False:
        pass
    elif (ess := descriptors.version()) is not None:
        parts.append(f"{ess} ({descriptors.TEMPO_METHOD} tempo)")
    return "; ".join(parts)


class _Pass:
    """The consumers of one decode pass."""

    def __init__(self, with_essentia: bool) -> None:
        self.meter: loudness.Meter | None = None
        self.fp = fingerprint.Fingerprinter()
        self.to_fp = av.AudioResampler(format="s16", layout="mono", rate=fingerprint.RATE)
        self.to_mono = (
            av.AudioResampler(format="flt", layout="mono", rate=descriptors.RATE)
            if with_essentia
            else None
        )
        self.mono: list[np.ndarray] = []
        self.samples = 0
        self.rate = 0
        self.layout = ""

    def _resampled(self, frame: av.AudioFrame | None) -> None:
        for out in self.to_fp.resample(frame):
            self.fp.feed(out.to_ndarray()[0])
        if self.to_mono is not None:
            for out in self.to_mono.resample(frame):
                self.mono.append(out.to_ndarray()[0].copy())

    def frame(self, frame: av.AudioFrame) -> None:
        if self.meter is None:
            self.meter = loudness.Meter(frame)
            self.rate, self.layout = frame.sample_rate, frame.layout.name
        elif frame.sample_rate != self.rate or frame.layout.name != self.layout:
            raise AnalysisProblem(
                f"the stream changes from {self.rate} Hz {self.layout} to "
                f"{frame.sample_rate} Hz {frame.layout.name} midway"
            )
        frame.pts = self.samples  # the meter's clock: samples since the start
        frame.time_base = Fraction(1, self.rate)
        self.samples += frame.samples
        self._resampled(frame)
        self.meter.push(frame)


def analyze_file(path: str, *, essentia: bool | None = None) -> Features:
    """Analyze the audio of ``path``; :class:`AnalysisProblem` says why it cannot be."""
    with_essentia = descriptors.available() if essentia is None else essentia
    with _ffmpeg_log():
        try:
            container = av.open(path, metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
            raise AnalysisProblem(f"cannot be read ({_error_text(exc)})") from None
        with container:
            try:
                stream = _audio_stream(container)
            except AudioProblem as exc:
                raise AnalysisProblem(str(exc)) from None
            ctx = stream.codec_context
            digest = hashlib.sha256()
            run = _Pass(with_essentia)
            position = 0.0
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    digest.update(packet)
                    if packet.pts is not None and packet.time_base is not None:
                        position = float(packet.pts * packet.time_base)
                    for frame in ctx.decode(packet):
                        run.frame(frame)
                for frame in ctx.decode(None):
                    run.frame(frame)
            except av.FFmpegError as exc:
                raise AnalysisProblem(
                    f"corrupt audio near {position:.1f} s ({_error_text(exc)})"
                ) from None
    if run.meter is None or run.samples == 0:
        raise AnalysisProblem("no audio frames")
    seconds = run.samples / run.rate
    if seconds < MIN_SECONDS:
        raise AnalysisProblem(
            f"too short to analyze: {seconds:.1f} s (fingerprints need {MIN_SECONDS:.0f} s)"
        )
    run._resampled(None)  # flush the resamplers' tails
    measured = run.meter.finish()
    if measured.silent:
        raise AnalysisProblem("silent: nothing above the -70 LUFS gate")
    raw, compressed = run.fp.finish()
    if not raw:
        raise AnalysisProblem(f"Chromaprint found nothing to fingerprint in {seconds:.1f} s")
    described = descriptors.describe(np.concatenate(run.mono)) if run.mono else {}
    return Features(
        payload_sha256=digest.hexdigest(),
        duration_s=round(seconds, 3),
        sample_rate=run.rate,
        channels=ctx.channels,
        loudness_lufs=measured.integrated_lufs,
        loudness_range_lu=measured.range_lu,
        true_peak=measured.true_peak,
        true_peak_dbtp=measured.true_peak_dbtp,
        replaygain_track_gain_db=measured.track_gain_db,
        replaygain_track_peak=round(measured.true_peak, 6),
        fingerprint=raw,
        fingerprint_compressed=compressed,
        analyzers=analyzers(bool(described)),
        **described,
    )


def analyze_one(job: tuple[str, bool]) -> Features | str:
    """The worker task, (path, with Essentia): the :class:`Features`, or why there are none."""
    path, with_essentia = job
    try:
        return analyze_file(path, essentia=with_essentia and descriptors.available())
    except AnalysisProblem as exc:
        return str(exc)
    except fingerprint.ChromaprintMissing:
        raise
    except Exception as exc:  # a decoder surprise rejects this file, not the run
        return f"could not be analyzed ({type(exc).__name__}: {exc})"


def payload_one(path: str) -> str | tuple[str]:
    """The worker task of the first pass: the payload hash (demux only), or (reject reason,)."""
    try:
        return payload_sha256(path)
    except AudioProblem as exc:
        return (str(exc),)
    except OSError as exc:
        return (f"cannot be read ({exc.strerror or exc})",)
    except Exception as exc:
        return (f"cannot be read ({type(exc).__name__}: {exc})",)
