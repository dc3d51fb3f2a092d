"""Benchmark: live transcodes for the stream endpoint against the ffmpeg command line.

    python bench/stream.py            # a 4-minute generated FLAC, 3 rounds
    python bench/stream.py --quick    # a 30-second one, 1 round

For Opus (96k), MP3 (192k) and AAC (160k, ADTS): time to the first byte and to the last, and
x realtime, of `audio.live.transcode_chunks` (PyAV, in this process) and of Debian's `ffmpeg`
writing the same format to a pipe (one thread; started fresh each time, as a server spawning
ffmpeg per stream would). CPU seconds are counted too (this process's, and ffmpeg's as a
child), as the shared machine's load makes wall times vary between runs. Then the same Opus transcode over HTTP: `TranscodeService` on uvicorn
with an empty cache, read by httpx, as a player sees it: the first request of the server
process (cold: thread pool, codecs, connection), then the median of the rounds. Goal: Opus
first byte < 300 ms. Figures are the median of the rounds.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from longplay.audio import live, samples
from longplay.server.streaming import TranscodeService

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "stream"
FFMPEG_ARGS = {
    "opus": ["-c:a", "libopus", "-b:a", "96k", "-vbr", "constrained", "-f", "ogg"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "192k", "-f", "mp3"],
    "aac": ["-c:a", "aac", "-b:a", "160k", "-f", "adts"],
}


def ensure_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "system-deps.sh"), "ffmpeg"], check=False)
        found = shutil.which("ffmpeg")
    if found is None:
        sys.exit("bench/stream.py: ffmpeg is missing and could not be installed")
    return found


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the ffmpeg runs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


Timing = tuple[float, float, float, int]  # first byte s, total s, CPU s, bytes


def timed(chunks: Iterator[bytes]) -> Timing:
    """(seconds to the first chunk, to the end, CPU seconds, bytes) of consuming ``chunks``."""
    start, cpu = time.perf_counter(), cpu_seconds()
    first = None
    size = 0
    for chunk in chunks:
        if first is None and chunk:
            first = time.perf_counter() - start
        size += len(chunk)
    return first or 0.0, time.perf_counter() - start, cpu_seconds() - cpu, size


def ffmpeg_chunks(ffmpeg: str, src: Path, fmt: str) -> Iterator[bytes]:
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-threads", "1", "-i", str(src), "-vn"]
    proc = subprocess.Popen([*cmd, *FFMPEG_ARGS[fmt], "pipe:1"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    while chunk := proc.stdout.read1(64 * 1024):  # type: ignore[attr-defined]
        yield chunk
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed on {src}")


def serve(service: TranscodeService, src: Path, port: int) -> uvicorn.Server:
    async def stream(request: Request) -> Response:
        fmt = request.query_params["fmt"]
        return await service.response(
            request, src, fmt=fmt, bitrate=None, offset_s=0.0, user="bench",
            duration_s=None, estimate_length=False,
        )  # fmt: skip

    app = Starlette(routes=[Route("/stream", stream)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_chunks(client: httpx.Client, url: str) -> Iterator[bytes]:
    with client.stream("GET", url) as r:
        r.raise_for_status()
        yield from r.iter_raw()


def median_of(rounds: int, run: Callable[[], Timing]) -> Timing:
    results = [run() for _ in range(rounds)]
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        statistics.median(r[2] for r in results),
        results[-1][3],
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="a 30 s source, one round")
    args = ap.parse_args()
    seconds, rounds = (30.0, 1) if args.quick else (240.0, 3)
    ffmpeg = ensure_ffmpeg()
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout
    OUT.mkdir(parents=True, exist_ok=True)
    src = OUT / f"track-{seconds:g}s.flac"
    if not src.exists():
        samples.write_clip(samples.clip(0, 31, seconds), src, "flac")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"source: {seconds:g} s generated FLAC (44.1 kHz stereo); {rounds} round(s), medians")
    print(f"peer: {version.splitlines()[0]}")
    print(
        f"{'':24}{'first byte':>11}{'total':>9}{'x realtime':>11}{'CPU':>8}"
        f"{'x realtime/CPU s':>17}{'kbit/s':>8}"
    )

    def row(name: str, result: Timing) -> None:
        first, total, cpu, size = result
        print(
            f"{name:24}{first * 1000:>8.0f} ms{total:>7.2f} s{seconds / total:>10.1f}x"
            f"{cpu:>6.2f} s{seconds / cpu:>16.1f}x{size * 8 / seconds / 1000:>8.0f}"
        )

    for fmt in ("opus", "mp3", "aac"):
        ours = median_of(rounds, lambda: timed(live.transcode_chunks(src, fmt)))  # noqa: B023
        theirs = median_of(rounds, lambda: timed(ffmpeg_chunks(ffmpeg, src, fmt)))  # noqa: B023
        row(f"{fmt}  PyAV (longplay)", ours)
        row(f"{fmt}  ffmpeg CLI", theirs)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        # An empty cache that keeps nothing: every request encodes.
        service = TranscodeService(Path(tmp), 0, 4, 4)
        server = serve(service, src, free_port())
        try:
            url = f"http://127.0.0.1:{server.config.port}/stream?fmt=opus"
            # One client for all requests, as a player keeps one: making an httpx client
            # costs 100-400 ms (its TLS context), which is no part of the server's answer.
            with httpx.Client(timeout=120) as client:
                row("opus  HTTP, 1st request", timed(http_chunks(client, url)))
                row(
                    "opus  HTTP (uvicorn)",
                    median_of(rounds, lambda: timed(http_chunks(client, url))),
                )
        finally:
            server.should_exit = True
    print("goal: Opus first byte < 300 ms")


if __name__ == "__main__":
    main()
