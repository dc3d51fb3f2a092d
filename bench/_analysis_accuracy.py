"""bench/analysis.py's identification accuracy: originals held, other encodings and excerpts asked.

Real music: the GPL-3+ soundtrack in Debian's ``planetblupi-music-ogg`` (10 tracks; `make bench`
installs it), the first 90 s of 8 tracks held as FLAC and 2 tracks never held; the demo's
generated clips (4 s, as `longplay demo` makes them), 20 held and 4 not; the beets test files
as files that must not match. Each held recording is asked as FLAC, Opus 75k, MP3 128k and
30-second excerpts of the Opus and MP3; every unheld one the same ways.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import av
import numpy as np

from longplay.audio import samples
from longplay.audio.analysis import AnalysisProblem, analyze_file
from longplay.audio.identify import MAX_BER, MIN_OVERLAP, FingerprintIndex

RATE = 44100
MUSIC = Path("/usr/share/planetblupi/music")
BEETS = Path(__file__).resolve().parents[2] / "shared" / "data" / "audio" / "beets"
HELD_SECONDS = 90.0
EXCERPT = 30.0
WAYS = {  # label: (container, codec, sample format, bit rate)
    "flac": ("flac", "flac", "s16", None),
    "opus 75k": ("ogg", "libopus", "flt", 75_000),
    "mp3 128k": ("mp3", "libmp3lame", "s16p", 128_000),
}


def pcm(path: Path, seconds: float | None = None) -> np.ndarray:
    """Float32 stereo (2, n) at 44.1 kHz, the first ``seconds``."""
    out, n = [], 0
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            for f in resampler.resample(frame):
                out.append(f.to_ndarray())
                n += f.samples
            if seconds is not None and n >= seconds * RATE:
                break
    x = np.concatenate(out, axis=1)
    return x[:, : int(seconds * RATE)] if seconds is not None else x


def encode(path: Path, x: np.ndarray, way: str) -> Path:
    container, codec, fmt, bit_rate = WAYS[way]
    rate = 48000 if codec == "libopus" else RATE
    with av.open(str(path), "w", format=container) as out:
        stream: Any = out.add_stream(codec, rate=rate)  # (an audio stream: PyAV types the union)
        stream.layout, stream.format = "stereo", fmt
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=fmt, layout="stereo", rate=rate)
        for start in [*range(0, x.shape[1], RATE), None]:
            frame = None
            if start is not None:
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(x[:, start : start + RATE]), format="fltp", layout="stereo"
                )
                frame.sample_rate = RATE
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def queries(name: str, x: np.ndarray, d: Path) -> list[tuple[str, Path]]:
    """(way, file) of one recording: three encodings and, when long enough, two excerpts."""
    out = [(way, encode(d / f"{name}.{i}", x, way)) for i, way in enumerate(WAYS)]
    if x.shape[1] >= 2 * EXCERPT * RATE:
        start = int(0.37 * (x.shape[1] - EXCERPT * RATE))  # off the item grid on purpose
        part = x[:, start : start + int(EXCERPT * RATE)]
        for way in ("opus 75k", "mp3 128k"):
            out.append((f"30 s excerpt, {way}", encode(d / f"{name}.x{len(out)}", part, way)))
    return out


def corpus(d: Path) -> tuple[dict[str, Path], dict[str, np.ndarray]]:
    """Held originals (written as FLAC) and the recordings never held, as PCM."""
    held: dict[str, Path] = {}
    unheld: dict[str, np.ndarray] = {}
    tracks = sorted(MUSIC.glob("*.ogg")) if MUSIC.is_dir() else []
    for i, track in enumerate(tracks):
        x = pcm(track, HELD_SECONDS)
        if i < len(tracks) - 2:
            held[f"music {track.stem}"] = encode(d / f"held-{track.stem}.flac", x, "flac")
        else:
            unheld[f"music {track.stem}"] = x
    clips = [p for p in samples.generate(d / "clips", 24, seed=0, seconds=4.0) if p.suffix != ".jsonl"]  # fmt: skip
    for i, clip in enumerate(sorted(clips)):
        name = f"clip {i:02d}"
        if i < 20:
            held[name] = encode(d / f"held-clip{i:02d}.flac", pcm(clip), "flac")
        else:
            unheld[name] = pcm(clip)
    return held, unheld


def accuracy(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    held, unheld = corpus(d)
    names, stored = [], []
    for name, path in held.items():
        names.append(name)
        stored.append(np.asarray(analyze_file(str(path), essentia=False).fingerprint, np.uint32))
    index = FingerprintIndex.of(stored)
    asked: list[tuple[str, str, bool, Path]] = []  # (recording, way, held, file)
    for name, path in held.items():
        asked += [(name, way, True, f) for way, f in queries(name.replace(" ", "-"), pcm(path), d)]
    for name, x in unheld.items():
        asked += [(name, way, False, f) for way, f in queries(name.replace(" ", "-"), x, d)]
    asked += [
        (f"beets {p.name}", "as is", False, p) for p in sorted(BEETS.iterdir()) if p.is_file()
    ]
    rows: dict[str, list[int]] = defaultdict(
        lambda: [0, 0, 0, 0, 0]
    )  # right wrong none unheld-fp skipped
    same: list[Any] = []
    different: list[Any] = []
    for name, way, is_held, path in asked:
        kind = f"{'music' if name.startswith('music') else 'clips' if name.startswith('clip') else 'beets'} / {way}"  # fmt: skip
        try:
            items = np.asarray(analyze_file(str(path), essentia=False).fingerprint, np.uint32)
        except AnalysisProblem:
            rows[kind][4] += 1
            continue
        found = index.candidates(items)
        best = found[0] if found and found[0].matches else None
        for c in found:
            (same if names[c.ref] == name else different).append(c.ber)
        if not is_held:
            rows[kind][3] += best is not None
        elif best is None:
            rows[kind][2] += 1
        else:
            rows[kind][0 if names[best.ref] == name else 1] += 1
    print(f"{'recordings asked / way':<34} {'right':>5} {'wrong':>5} {'none':>5} {'unheld matched':>14} {'not fp':>6}")  # fmt: skip
    for kind in sorted(rows):
        r = rows[kind]
        print(f"{kind:<34} {r[0]:5d} {r[1]:5d} {r[2]:5d} {r[3]:14d} {r[4]:6d}")
    right = sum(r[0] for r in rows.values())
    wrong = sum(r[1] + r[3] for r in rows.values())
    asked_held = sum(r[0] + r[1] + r[2] for r in rows.values())
    print(f"precision {right / max(right + wrong, 1):.3f}, recall {right / max(asked_held, 1):.3f} "
          f"({right} of {asked_held} held asked; {wrong} wrong or false matches)")  # fmt: skip
    if same and different:
        print(f"bit error rate: same recording median {np.median(same):.3f} max {max(same):.3f}; "
              f"different recordings min {min(different):.3f} median {np.median(different):.3f}")  # fmt: skip
    print(f"threshold: a match needs BER <= {MAX_BER} over >= {MIN_OVERLAP} items")
