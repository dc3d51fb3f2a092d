"""Benchmark: scan speed (files/s, cold and warm) and Opus re-encode speed against ffmpeg.

    python bench/audio.py            # 3,000 generated files; 6 two-minute re-encode sources
    python bench/audio.py --quick    # 200 files; 2 twenty-second sources

Scan: a fresh archive scans the generated files ("cold": nothing in the library; the files are
in the page cache, as they were just written), then scans them again ("warm": all unchanged).
Goal: warm >= 1,000 files/s.

Re-encode: the same sources (half Ogg Vorbis, half FLAC) go through `transcode_opus` (PyAV,
libopus, 75 kbit/s) and through the `ffmpeg` command line (Debian's, installed when missing)
with one thread, alternately, in this run. Figure: seconds of audio per wall second on one
core (x realtime); goal: PyAV >= 0.95 x ffmpeg.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.probe import probe
from longplay.audio.scan import scan
from longplay.audio.transcode import transcode_opus

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "audio"


def ensure_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "system-deps.sh"), "ffmpeg"], check=False)
        found = shutil.which("ffmpeg")
    if found is None:
        sys.exit(
            "bench/audio.py: ffmpeg is missing and could not be installed (apt-get install ffmpeg)"
        )
    return found


def bench_scan(count: int, seconds: float, workers: int | None) -> None:
    music = OUT / f"scan-{count}x{seconds:g}s"
    t = time.perf_counter()
    samples.generate(music, count, seed=11, seconds=seconds)
    print(
        f"sample files: {count} x {seconds:g} s in {music} (ready in {time.perf_counter() - t:.1f} s)"
    )
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        archive = Archive.init(Path(tmp) / "archive")
        cold = scan(archive, [music], workers=workers, match=False)
        warm = scan(archive, [music], workers=workers, match=False)
        demux_archive = Archive.init(Path(tmp) / "archive-demux")
        demux = scan(demux_archive, [music], workers=workers, decode=False, match=False)
    assert cold.kept == count and warm.unchanged == count + 1, (cold, warm)  # +1: catalog.jsonl
    cores = workers or os.cpu_count()
    print(
        f"scan cold (decode every frame): {cold.files_per_second:8.0f} files/s  "
        f"({cold.walked} files, {cold.seconds:.2f} s, {cores} workers)"
    )
    print(f"scan cold (demux only):         {demux.files_per_second:8.0f} files/s")
    print(
        f"scan warm (all unchanged):      {warm.files_per_second:8.0f} files/s  "
        f"-> {warm.files_per_second / 1000:.2f} x the 1,000 files/s goal"
    )


def bench_transcode(sources: int, seconds: float, rounds: int) -> None:
    ffmpeg = ensure_ffmpeg()
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split(
        "\n"
    )[0]
    src_dir = OUT / f"transcode-{sources}x{seconds:g}s"
    src_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(sources):
        fmt = "ogg" if i % 2 == 0 else "flac"
        path = src_dir / f"src{i}.{fmt}"
        if not path.exists():
            samples.write_clip(samples.clip(i, 21, seconds), path, fmt)
        files.append(path)
    audio_s = sum(probe(str(p)).duration_ms for p in files) / 1000
    ours = theirs = 0.0
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for _ in range(rounds):
            for i, src in enumerate(files):
                t = time.perf_counter()
                transcode_opus(src, Path(tmp) / f"py{i}.opus", 75_000)
                ours += time.perf_counter() - t
                t = time.perf_counter()
                subprocess.run(
                    [
                        ffmpeg,
                        "-nostdin",
                        "-v",
                        "error",
                        "-y",
                        "-threads",
                        "1",
                        "-i",
                        str(src),
                        "-vn",
                        "-c:a",
                        "libopus",
                        "-b:a",
                        "75k",
                        str(Path(tmp) / f"ff{i}.opus"),
                    ],
                    check=True,
                )
                theirs += time.perf_counter() - t
        size_py = sum((Path(tmp) / f"py{i}.opus").stat().st_size for i in range(len(files)))
        size_ff = sum((Path(tmp) / f"ff{i}.opus").stat().st_size for i in range(len(files)))
    ours_x, theirs_x = audio_s * rounds / ours, audio_s * rounds / theirs
    print(
        f"re-encode sources: {sources} x {seconds:g} s (Ogg Vorbis and FLAC), {rounds} round(s); {version}"
    )
    print(
        f"Opus 75k, PyAV (longplay): {ours_x:7.1f} x realtime per core  ({size_py * 8 / audio_s / 1000:.0f} kbit/s)"
    )
    print(
        f"Opus 75k, ffmpeg CLI:      {theirs_x:7.1f} x realtime per core  ({size_ff * 8 / audio_s / 1000:.0f} kbit/s)"
    )
    print(f"ratio PyAV / ffmpeg: {ours_x / theirs_x:.2f}  (goal >= 0.95)")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument(
        "--files", type=int, default=None, help="files to scan (default 3000; quick 200)"
    )
    ap.add_argument("--workers", type=int, default=None, help="scan workers (default: all cores)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    bench_scan(args.files or (200 if args.quick else 3000), 2.0, args.workers)
    if args.quick:
        bench_transcode(2, 20.0, 1)
    else:
        bench_transcode(6, 120.0, 2)


if __name__ == "__main__":
    main()
