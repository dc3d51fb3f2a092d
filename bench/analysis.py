"""Audio analysis: x realtime per core (full, fingerprint + loudness, decode-only floor, fpcalc),
true peak against FFmpeg's, identification accuracy, lookup time at N stored fingerprints.

    .venv/bin/python bench/analysis.py [N_FINGERPRINTS] [speed|accuracy|lookup ...]
    # default 1,000,000 and all three parts

Speed runs on two sets of eight 60 s files (FLAC and MP3): generated clips (steady tones and
chords, the worst case for the true-peak shortcut) and real music (Debian's planetblupi-music-ogg,
which `make bench` installs). Rates are CPU seconds of this process (fpcalc: of its children).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import numpy as np

from _analysis_accuracy import MUSIC, accuracy, encode, pcm
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.analysis import analyze_file
from longplay.audio.analysisdb import AnalysisStore, pack_items
from longplay.audio.identify import FingerprintIndex, update_index


def _decode(path: str) -> None:
    with av.open(path) as c:
        for _ in c.decode(audio=0):
            pass


def _rate(label: str, fn: Callable[[str], object], files: list[Path], seconds: float) -> None:
    start = time.process_time()
    for f in files:
        fn(str(f))
    print(f"{label:<30} {seconds / (time.process_time() - start):7.0f} x realtime per core")


def _fpcalc(files: list[Path], seconds: float) -> None:
    if not shutil.which("fpcalc"):
        print("fpcalc: not installed (apt-get install libchromaprint-tools)")
        return
    before = os.times()
    for f in files:
        subprocess.run(["fpcalc", "-length", "0", str(f)], capture_output=True, check=False)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)  # fmt: skip
    print(f"{'fpcalc -length 0':<30} {seconds / cpu:7.0f} x realtime per core")


def _ffmpeg_true_peak(path: Path) -> float:
    """The ebur128 filter's own true peak (its 192 kHz resample): the reference."""
    graph, meta, n = None, {}, 0
    with av.open(str(path)) as c:
        for frame in [*c.decode(audio=0), None]:
            if graph is None and frame is not None:
                graph = av.filter.Graph()
                src = graph.add_abuffer(format=frame.format.name, sample_rate=frame.sample_rate,
                                        layout=frame.layout.name, time_base=Fraction(1, frame.sample_rate))  # fmt: skip
                meter, sink = graph.add("ebur128", "metadata=1:peak=true"), graph.add("abuffersink")
                src.link_to(meter)
                meter.link_to(sink)
                graph.configure()
            if frame is not None:
                frame.pts, frame.time_base = n, Fraction(1, frame.sample_rate)
                n += frame.samples
            assert graph is not None
            graph.push(frame)
            while True:
                try:
                    got = graph.pull().metadata
                except (av.BlockingIOError, av.EOFError):
                    break
                if "lavfi.r128.true_peak" in got:
                    meta = dict(got)
    return float(meta["lavfi.r128.true_peak"])


def speed(label: str, files: list[Path]) -> None:
    seconds = sum(analyze_file(str(f), essentia=False).duration_s for f in files)
    print(f"== speed, {label}: {len(files)} files, {seconds:.0f} s of audio (FLAC and MP3)")
    _rate("decode only (floor)", _decode, files, seconds)
    _rate("fingerprint + loudness", lambda p: analyze_file(p, essentia=False), files, seconds)
    _rate("full (with Essentia)", lambda p: analyze_file(p, essentia=True), files, seconds)
    _fpcalc(files, seconds)
    errors = [
        20 * np.log10(analyze_file(str(f), essentia=False).true_peak / _ffmpeg_true_peak(f))
        for f in files
    ]
    print(f"true peak vs ebur128 peak=true: max |difference| {max(map(abs, errors)):.3f} dB")


def speed_sets(d: Path) -> None:
    made = samples.generate(d / "m", 8, seed=21, seconds=60.0, formats=["flac", "mp3"])
    speed("generated clips", [p for p in made if p.suffix in (".flac", ".mp3")])
    if not MUSIC.is_dir():
        print("real music: not installed (apt-get install planetblupi-music-ogg)")
        return
    real = []
    for i, track in enumerate(sorted(MUSIC.glob("*.ogg"))[:8]):
        way, ext = ("flac", "flac") if i % 2 == 0 else ("mp3 128k", "mp3")
        real.append(encode(d / f"real{i}.{ext}", pcm(track, 60.0), way))
    speed("real music", real)


def lookup(n: int, d: Path) -> None:
    print(f"== lookup: {n:,} synthetic stored fingerprints of 240 items (~30 s), persisted index")
    archive = Archive.init(d / "archive")
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    with AnalysisStore(archive) as store, store.con:
        for first in range(0, n, 50_000):
            block = rng.integers(0, 2**32, size=(min(50_000, n - first), 240), dtype=np.uint64)
            store.con.executemany(
                "INSERT INTO features VALUES (?, 2, 30.0, '{}', ?, '')",
                (
                    (f"{first + i:064x}", pack_items(fp))
                    for i, fp in enumerate(block.astype(np.uint32))
                ),
            )
    print(f"store written {time.perf_counter() - start:.0f} s")
    with AnalysisStore(archive) as store:
        start = time.perf_counter()
        segments = update_index(archive, store)
        size = sum(s.nbytes for s in segments)
        print(f"index build {time.perf_counter() - start:.0f} s, {size / 1e6:,.0f} MB on disk")
        times = []
        for q in rng.integers(1, n + 1, 50):
            (query,) = (fp for _, _, fp in store.fingerprints_by_id([int(q)]))
            query = query[40:200].copy()
            query[::3] ^= np.uint32(1)
            start = time.perf_counter()  # open (mmap) + look up + read candidates + score
            fetch = lambda refs: {r: fp for r, _, fp in store.fingerprints_by_id(refs)}  # noqa: E731
            best = FingerprintIndex(update_index(archive, store), fetch).candidates(query)[0]
            times.append(time.perf_counter() - start)
            assert best.ref == q and best.matches
        print(f"lookup median {np.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
        con = sqlite3.connect(store.path)
        with con:
            extra = rng.integers(0, 2**32, size=(1000, 240), dtype=np.uint64).astype(np.uint32)
            con.executemany(
                "INSERT INTO features VALUES (?, 2, 30.0, '{}', ?, '')",
                ((f"new{i:061x}", pack_items(fp)) for i, fp in enumerate(extra)),
            )
        con.close()
        start = time.perf_counter()
        segments = update_index(archive, store)
        print(f"adding 1,000 more: {time.perf_counter() - start:.2f} s ({len(segments)} segments)")


def main() -> None:
    args = sys.argv[1:]
    n = int(args.pop(0)) if args and args[0].isdigit() else 1_000_000
    parts = set(args) or {"speed", "accuracy", "lookup"}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if "speed" in parts:
            speed_sets(d)
        if "accuracy" in parts:
            print("== identification accuracy")
            accuracy(d / "accuracy")
        if "lookup" in parts:
            lookup(n, d)


if __name__ == "__main__":
    main()
