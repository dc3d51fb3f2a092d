"""Generated test signals with known answers, encoded with PyAV: clicks, chords, pink noise."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

RATE = 44100
# Equal-tempered frequencies of the notes the chord sequences use (A4 = 440 Hz).
_SEMITONE = {"C": -9, "Db": -8, "D": -7, "Eb": -6, "E": -5, "F": -4, "Gb": -3, "G": -2,
             "Ab": -1, "A": 0, "Bb": 1, "B": 2}  # fmt: skip


def note(name: str, octave: int = 4) -> float:
    return 440.0 * 2 ** ((_SEMITONE[name] + 12 * (octave - 4)) / 12)


def encode(path: Path, signal: np.ndarray, *, codec: str = "flac", rate: int = RATE,
           bit_rate: int | None = None) -> Path:  # fmt: skip
    """Write mono or (2, n) float ``signal`` in [-1, 1] as ``codec`` at ``rate``."""
    stereo = np.atleast_2d(signal).astype(np.float32)
    if stereo.shape[0] == 1:
        stereo = np.vstack([stereo, stereo])
    container = {"flac": "flac", "libopus": "ogg", "libmp3lame": "mp3", "pcm_s16le": "wav"}[codec]
    fmt = {"flac": "s16", "libopus": "flt", "libmp3lame": "s16p", "pcm_s16le": "s16"}[codec]
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "stereo"
        stream.format = fmt
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=fmt, layout="stereo", rate=rate)
        for start in range(0, stereo.shape[1], RATE):
            block = np.ascontiguousarray(stereo[:, start : start + RATE])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate = RATE
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def clicks(bpm: float, seconds: float = 30.0, accent: int = 4) -> np.ndarray:
    """A click track: a short decaying 1.5 kHz burst on every beat, the first of each bar louder."""
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    burst = np.exp(-np.arange(int(0.03 * RATE)) / (0.005 * RATE))
    burst = burst * np.sin(2 * np.pi * 1500 * np.arange(burst.size) / RATE)
    for i, start in enumerate(np.arange(0, seconds, 60.0 / bpm)):
        s = int(start * RATE)
        n = min(burst.size, out.size - s)
        out[s : s + n] += burst[:n] * (0.8 if i % accent == 0 else 0.5)
    return out


def pattern(bpm: float, seconds: float = 30.0) -> np.ndarray:
    """A drum-machine pattern: kick on 1 and 3, snare (noise) on 2 and 4, hi-hats on eighths."""
    rng = np.random.default_rng(97)
    out = np.zeros(int(seconds * RATE))
    beat = 60.0 / bpm
    kick_t = np.arange(int(0.15 * RATE)) / RATE
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-kick_t * 30)) * kick_t) * np.exp(-kick_t * 18)
    snare = rng.standard_normal(int(0.12 * RATE)) * np.exp(-np.arange(int(0.12 * RATE)) / 1500)
    hat = rng.standard_normal(int(0.03 * RATE)) * np.exp(-np.arange(int(0.03 * RATE)) / 200)
    for i, start in enumerate(np.arange(0, seconds, beat / 2)):
        s = int(start * RATE)
        hits = [(hat, 0.15)]
        if i % 4 == 0:
            hits.append((kick, 0.9))
        elif i % 4 == 2:
            hits.append((snare, 0.4))
        for sound, gain in hits:
            n = min(sound.size, out.size - s)
            out[s : s + n] += sound[:n] * gain
    return out


def chords(progression: list[list[str]], seconds_each: float = 2.0, repeats: int = 3) -> np.ndarray:
    """Chords (note names, lowest first) as decaying harmonic tones, the bass an octave down."""
    t = np.arange(int(seconds_each * RATE)) / RATE
    env = np.minimum(1, t * 50) * np.exp(-t * 0.8)
    parts = []
    for _ in range(repeats):
        for names in progression:
            tone = np.zeros_like(t)
            for j, n in enumerate(names):
                f = note(n, 3 if j == 0 else 4)
                for h, amp in ((1, 1.0), (2, 0.4), (3, 0.2)):
                    tone += amp * np.sin(2 * np.pi * f * h * t)
            parts.append(tone * env / len(names))
    out = np.concatenate(parts)
    return 0.5 * out / np.abs(out).max()


A_MINOR = [["A", "C", "E"], ["D", "F", "A"], ["E", "Ab", "B"], ["A", "C", "E"]]
EB_MAJOR = [["Eb", "G", "Bb"], ["Ab", "C", "Eb"], ["Bb", "D", "F"], ["Eb", "G", "Bb"]]


def pink_noise(seconds: float = 20.0, seed: int = 1) -> np.ndarray:
    """Pink noise (1/f power) by shaping white noise's spectrum."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[1:] /= np.sqrt(f[1:])
    spectrum[0] = 0
    out = np.fft.irfft(spectrum, n)
    return out / np.abs(out).max()


def tone(freq: float, dbfs: float, seconds: float = 20.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)
