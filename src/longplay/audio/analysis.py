"""One file's audio analysis: one PyAV decode pass feeding every analyzer.

Decoded frames are gathered into float32 blocks of a few seconds; each block goes to the EBU
R128 meter and the true-peak meter at the file's own rate, downmixed to Chromaprint (16-bit
mono at 11025 Hz) and, with the ``analysis`` extra, into a 44.1 kHz mono buffer for Essentia; the audio-payload hash is taken from the same packets. The result,
:class:`Features`, is keyed by that hash: re-tagging or moving a file does not change it.

:func:`analyze_file` is pure and raises :class:`AnalysisProblem` with the reject reason;
:func:`analyze_one` is the worker task (imports: PyAV, numpy, ctypes; no DuckDB or Rich).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from longplay.audio import descriptors, fingerprint, loudness, truepeak
from longplay.audio.probe import (
    AudioProblem,
    _audio_stream,
    _error_text,
    _ffmpeg_log,
    payload_sha256,
)

ANALYSIS_VERSION = 2  # bump when a stored value would come out differently
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


BLOCK_SECONDS = 4.0  # decoded frames are gathered into blocks this long before analysis
_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


_DTYPES = {"u8": "u1", "s16": "<i2", "s32": "<i4", "s64": "<i8", "flt": "<f4", "dbl": "<f8"}


def _samples(frame: av.AudioFrame, dtype: np.dtype, channels: int) -> list[np.ndarray]:
    """The frame's planes as arrays, without a copy: ``to_ndarray`` stacks the planes of
    every frame and cost as much as the decoding."""
    if len(frame.planes) == 1:
        return [np.frombuffer(memoryview(frame.planes[0]), dtype, frame.samples * channels)]
    return [np.frombuffer(memoryview(p), dtype, frame.samples) for p in frame.planes]


def _planar_float(frames: list[list[np.ndarray]], fmt: str, channels: int) -> np.ndarray:
    """Frames' planes (see :func:`_samples`) as one float32 (channels, samples) block in [-1, 1]."""
    planes = len(frames[0])
    x = np.stack([np.concatenate([f[i] for f in frames]) for i in range(planes)])
    if planes == 1 and channels > 1:  # interleaved
        x = x.reshape(-1, channels).T
    base = fmt.rstrip("p")
    out = x.astype(np.float32)
    if base == "u8":
        out -= 128.0
    if base in _SCALE:
        out *= np.float32(1.0 / _SCALE[base])
    return np.ascontiguousarray(out)


class _Pass:
    """The consumers of one decode pass, fed blocks of :data:`BLOCK_SECONDS`.

    One numpy conversion per block instead of a resampler and filter call per decoded frame
    (MP3 frames are 26 ms): per-frame Python calls were most of the old pass's time.
    """

    def __init__(self, with_essentia: bool) -> None:
        self.with_essentia = with_essentia
        self.meter: loudness.Meter | None = None
        self.peak: truepeak.TruePeak | None = None
        self.fp: fingerprint.Fingerprinter | None = None
        self.to_mono: av.AudioResampler | None = None
        self.mono: list[np.ndarray] = []
        self.pending: list[list[np.ndarray]] = []
        self.pending_samples = 0
        self.samples = 0
        self.rate = 0
        self.layout = ""
        self.format = ""
        self.channels = 0
        self.dtype = np.dtype(np.float32)

    def frame(self, frame: av.AudioFrame) -> None:
        if self.meter is None:
            self.rate, self.layout = frame.sample_rate, frame.layout.name
            self.format, self.channels = frame.format.name, frame.layout.nb_channels
            self.dtype = np.dtype(_DTYPES[self.format.rstrip("p")])
            self.meter = loudness.Meter(self.rate, self.layout)
            self.peak = truepeak.TruePeak(self.channels)
            self.fp = fingerprint.Fingerprinter(self.rate)
            if self.with_essentia and self.rate != descriptors.RATE:
                self.to_mono = av.AudioResampler(format="flt", layout="mono", rate=descriptors.RATE)
        elif (frame.sample_rate, frame.layout.name, frame.format.name) != (
            self.rate,
            self.layout,
            self.format,
        ):
            raise AnalysisProblem(
                f"the stream changes from {self.rate} Hz {self.layout} {self.format} to "
                f"{frame.sample_rate} Hz {frame.layout.name} {frame.format.name} midway"
            )
        if not frame.samples:
            return
        self.pending.append(_samples(frame, self.dtype, self.channels))
        self.pending_samples += frame.samples
        if self.pending_samples >= BLOCK_SECONDS * self.rate:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        block = _planar_float(self.pending, self.format, self.channels)
        self.pending, self.pending_samples = [], 0
        self.samples += block.shape[1]
        assert self.meter is not None and self.peak is not None and self.fp is not None
        self.meter.push(block)
        self.peak.feed(block)
        mono = block[0] if self.channels == 1 else block.mean(axis=0, dtype=np.float32)
        self.fp.feed(mono)
        if not self.with_essentia:
            return
        if self.to_mono is None:
            self.mono.append(mono)
            return
        frame = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
        frame.sample_rate = self.rate
        self.mono += [out.to_ndarray()[0].copy() for out in self.to_mono.resample(frame)]

    def finish(self) -> None:
        self.flush()
        if self.to_mono is not None:
            self.mono += [out.to_ndarray()[0].copy() for out in self.to_mono.resample(None)]


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
            pts = None  # of the last packet: where a decode error happened (float only then)
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    digest.update(packet)
                    pts = packet.pts if packet.pts is not None else pts
                    for frame in ctx.decode(packet):
                        run.frame(frame)
                for frame in ctx.decode(None):
                    run.frame(frame)
            except av.FFmpegError as exc:
                base = stream.time_base
                position = float(pts * base) if pts is not None and base is not None else 0.0
                raise AnalysisProblem(
                    f"corrupt audio near {position:.1f} s ({_error_text(exc)})"
                ) from None
    run.finish()
    if run.meter is None or run.peak is None or run.fp is None or run.samples == 0:
        raise AnalysisProblem("no audio frames")
    seconds = run.samples / run.rate
    if seconds < MIN_SECONDS:
        raise AnalysisProblem(
            f"too short to analyze: {seconds:.1f} s (fingerprints need {MIN_SECONDS:.0f} s)"
        )
    measured = run.meter.finish(run.peak.finish())
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
