"""Test audio whose content can be checked: tones that change pitch at known times, decoded back.

The live-transcode and streaming tests share these: a file that is 440 Hz until ``change_s`` and
880 Hz after, so a transcode from an offset can be checked to start with the right sound.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np

LOW, HIGH = 440.0, 880.0


def write_tone(
    path: Path,
    seconds: float = 6.0,
    change_s: float = 2.0,
    *,
    rate: int = 44_100,
    codec: str | None = None,
) -> Path:
    """A stereo file of ``seconds``: LOW Hz before ``change_s``, HIGH Hz after."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.5 * np.where(t < change_s, np.sin(2 * np.pi * LOW * t), np.sin(2 * np.pi * HIGH * t))
    pcm = (wave * 32767).astype(np.int16)
    codecs = {".flac": "flac", ".mp3": "libmp3lame", ".opus": "libopus", ".m4a": "aac"}
    codec = codec or codecs[path.suffix]
    frame = av.AudioFrame.from_ndarray(np.repeat(pcm, 2)[None, :], "s16", "stereo")
    frame.sample_rate = rate
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "stereo"
        resampler = av.AudioResampler(
            format=stream.codec_context.codec.audio_formats[0].name,
            layout="stereo",
            rate=rate,
            frame_size=stream.codec_context.frame_size or 4096,
        )
        pts = 0
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            f.pts, pts = pts, pts + f.samples
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    return path


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """The first channel of encoded ``data`` as float samples, and the sample rate."""
    parts = []
    rate = 0
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(audio=0):
            arr = frame.to_ndarray().astype(np.float64)
            if not frame.format.is_planar:
                arr = arr[:, :: len(frame.layout.channels)]
            parts.append(arr[0])
            rate = frame.sample_rate
    return (np.concatenate(parts) if parts else np.zeros(0)), rate


def pitch(samples: np.ndarray, rate: int, start_s: float, length_s: float = 0.2) -> float:
    """The strongest frequency (Hz) in a window of ``samples``."""
    window = samples[int(start_s * rate) : int((start_s + length_s) * rate)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    return float(np.argmax(spectrum) * rate / len(window))
