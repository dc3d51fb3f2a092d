"""Audio analysis: x realtime per core (full, fingerprint + loudness, decode-only floor, fpcalc),
fingerprint lookup time against N synthetic stored fingerprints, identification accuracy.

    .venv/bin/python bench/analysis.py [N_FINGERPRINTS]     # default 1,000,000
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from longplay.audio import samples
from longplay.audio.analysis import analyze_file
from longplay.audio.identify import FingerprintIndex


def _decode(path: str) -> None:
    with av.open(path) as c:
        for _ in c.decode(audio=0):
            pass


def _rate(label: str, fn, files: list[Path], seconds: float) -> None:  # type: ignore[no-untyped-def]
    start = time.process_time()
    for f in files:
        fn(str(f))
    cpu = time.process_time() - start
    print(f"{label:<28} {seconds / cpu:7.0f} x realtime per core")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = [p for p in samples.generate(d / "m", 8, seed=21, seconds=60.0, formats=["flac", "mp3"]) if p.suffix in (".flac", ".mp3")]  # fmt: skip
        seconds = sum(analyze_file(str(f), essentia=False).duration_s for f in files)
        print(f"== speed: {len(files)} files, {seconds:.0f} s of audio (FLAC and MP3)")
        _rate("decode only (floor)", _decode, files, seconds)
        _rate("fingerprint + loudness", lambda p: analyze_file(p, essentia=False), files, seconds)
        _rate("full (with Essentia)", lambda p: analyze_file(p, essentia=True), files, seconds)
        if shutil.which("fpcalc"):
            start = time.perf_counter()
            for f in files:
                subprocess.run(["fpcalc", "-length", "0", str(f)], capture_output=True, check=False)
            print(
                f"{'fpcalc -length 0 (wall)':<28} {seconds / (time.perf_counter() - start):7.0f} x realtime"
            )
        else:
            print("fpcalc: not installed (apt-get install libchromaprint-tools)")
        print(f"== lookup: {n:,} synthetic stored fingerprints of 240 items (~30 s)")
        rng = np.random.default_rng(1)
        stored = rng.integers(0, 2**32, size=(n, 240), dtype=np.uint64).astype(np.uint32)
        start = time.perf_counter()
        index = FingerprintIndex(n, stored.__getitem__)
        print(f"index build {time.perf_counter() - start:.1f} s, {index.nbytes / 1e6:,.0f} MB")
        times = []
        for q in rng.integers(0, n, 50):
            query = stored[q][40:200].copy()
            query[::3] ^= np.uint32(1)
            start = time.perf_counter()
            best = index.candidates(query)[0]
            times.append(time.perf_counter() - start)
            assert best.ref == q
        print(f"lookup median {np.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
