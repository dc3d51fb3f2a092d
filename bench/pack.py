"""Benchmark torrent creation: MB/s of file data, ours against peers and this machine's limits.

Measures, on the same generated audio-like files (1-8 MB each) in one run: Longplay's
create_torrent (hybrid and v1), libtorrent's own set_piece_hashes (hybrid and v1), mktorrent
and transmission-create (v1), each cold (page cache dropped with posix_fadvise DONTNEED) and
warm (from the page cache); and the machine's limits: SHA-1 and SHA-256 rates on one core and
on all cores (cache-resident 1 MiB buffers, one process per core) and sequential cold reads.

The piece size defaults to the one a production torrent gets (choose_piece_size of the
torrent_target_size default, 100 GB -> 4 MiB), where a hybrid pads each file to a piece
boundary, so SHA-1 also runs over the pad zeros: the "layout limit" counts that work.

    .venv/bin/python bench/pack.py --quick        # ~100 MB, checks that it works
    .venv/bin/python bench/pack.py                # 4 GB, best of 3 warm runs
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import libtorrent as lt
import numpy as np

from longplay import progress
from longplay.pack.hashing import default_workers
from longplay.pack.layout import choose_piece_size, plan
from longplay.pack.torrents import create_torrent
from longplay.settings import SETTINGS, parse_size

NAME = "longplay-bench"
MB = 1e6


# ------------------------------------------------------------------------------- the data
def make_data(root: Path, total: int, max_file: int, seed: int = 1) -> list[tuple[str, str]]:
    """Audio-sized random files under root/NAME, reused when a previous run made the same."""
    data = root / NAME
    stamp = root / f"{NAME}.done"
    want = f"{total} {max_file} {seed}"
    if not (stamp.exists() and stamp.read_text() == want):
        shutil.rmtree(data, ignore_errors=True)
        rng = np.random.default_rng(seed)
        written, index = 0, 0
        while written < total:
            size = min(int(rng.integers(max_file // 8, max_file)), total - written)
            path = (
                data
                / f"artist-{index // 60:03d}"
                / f"album-{index // 12:04d}"
                / f"{index % 12:02d}.ogg"
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rng.bytes(size))
            written, index = written + size, index + 1
        os.sync()  # DONTNEED only drops clean pages
        stamp.write_text(want)
    files = []
    for directory, _, names in os.walk(data):
        for name in names:
            path = Path(directory, name)
            files.append((path.relative_to(data).as_posix(), str(path)))
    return sorted(files)


def drop_cache(paths: list[str]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_all(paths: list[str], readers: int = 1) -> None:
    def read(chunk: list[str]) -> None:
        buf = bytearray(8 << 20)
        for path in chunk:
            with open(path, "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass

    if readers == 1:
        read(paths)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(readers) as pool:
        list(pool.map(read, [paths[i::readers] for i in range(readers)]))


# ----------------------------------------------------------------------------- the limits
def _hash_rate(args: tuple[str, float], size: int = 1 << 20) -> float:
    """Bytes/s of one core hashing a ``size`` buffer for ``seconds`` (1 MiB: cache-resident)."""
    algorithm, seconds = args
    buf = np.random.default_rng(0).bytes(size)
    new = getattr(hashlib, algorithm)
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(max(1, (16 << 20) // size)):
            new(buf).digest()
            n += 1
    return n * len(buf) / elapsed


def hash_rates(algorithm: str, cores: int, seconds: float) -> tuple[float, float]:
    one = _hash_rate((algorithm, seconds))
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        pool.map(_hash_rate, [(algorithm, 0.05)] * cores)  # start the interpreters first
        every = sum(pool.map(_hash_rate, [(algorithm, seconds)] * cores))
    return one, every


# ------------------------------------------------------------------------------ the tools
def run_ours(
    files: list[tuple[str, str]], version: str, piece: int, executor: str = "auto"
) -> bytes:
    return create_torrent(NAME, files, version=version, piece_size=piece, executor=executor).data


def run_libtorrent(files: list[tuple[str, str]], base: Path, version: str, piece: int) -> bytes:
    entries = [lt.create_file_entry(f"{NAME}/{rel}", os.path.getsize(src)) for rel, src in files]
    flags = lt.create_torrent.v1_only if version == "v1" else 0
    ct = lt.create_torrent(entries, piece, flags)
    ct.set_creation_date(0)
    ct.set_creator("Longplay")
    lt.set_piece_hashes(ct, str(base))
    return lt.bencode(ct.generate())


def run_tool(argv: list[str], out: Path) -> bytes:
    out.unlink(missing_ok=True)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out.read_bytes()


def measure(
    fn: Callable[[], bytes], paths: list[str], data_bytes: int, cold: bool, repeat: int
) -> tuple[float, bytes]:
    """MB/s of file data: cold once after dropping the page cache, warm the best of ``repeat``."""
    best, out = float("inf"), b""
    for _ in range(1 if cold else repeat):
        if cold:
            drop_cache(paths)
        else:
            read_all(paths)
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return data_bytes / best / MB, out


# ---------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~100 MB of data, one warm run")
    parser.add_argument("--size", default="4GB", help="data size of the full run (default 4GB)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the data lives (default bench/out/pack)"
    )
    parser.add_argument("--piece-size", default=None, help="e.g. 4MiB (default: production size)")
    parser.add_argument("--repeat", type=int, default=None, help="warm runs, best kept (default 3)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-cache runs")
    args = parser.parse_args()

    progress.set_quiet(True)
    quick = args.quick
    total = 100 * 10**6 if quick else parse_size(args.size)
    repeat = args.repeat or (1 if quick else 3)
    seconds = 0.2 if quick else 1.0
    root = args.dir or Path(__file__).resolve().parent / "out" / "pack"
    root.mkdir(parents=True, exist_ok=True)
    target = next(s.default for s in SETTINGS if s.name == "torrent_target_size")
    piece = parse_size(args.piece_size) if args.piece_size else choose_piece_size(target)
    cores = default_workers()
    load_before = os.getloadavg()

    files = make_data(root, total, max_file=8 * 10**6)
    paths = [src for _, src in files]
    sizes = [(rel, os.path.getsize(src), src) for rel, src in files]
    data = sum(s for _, s, _ in sizes)
    hybrid = plan(NAME, sizes, version="hybrid", piece_size=piece)
    stream = hybrid.stream_size

    sha1_one, sha1_all = hash_rates("sha1", cores, seconds)
    sha256_one, sha256_all = hash_rates("sha256", cores, seconds)
    # The same from RAM (buffers far larger than the caches), for comparison only.
    sha1_ram, sha256_ram = (_hash_rate((a, seconds), 256 << 20) for a in ("sha1", "sha256"))
    combined = 1 / (1 / sha1_all + 1 / sha256_all)
    layout_limit = data / (stream / sha1_all + data / sha256_all)
    disk = {}
    for readers in sorted({1, cores}):
        drop_cache(paths)
        start = time.perf_counter()
        read_all(paths, readers)
        disk[readers] = data / (time.perf_counter() - start) / MB

    print(
        f"machine: {cores} cores, load average {load_before[0]:.2f} at start "
        "(other jobs make every figure noisy)"
    )
    print(f"  SHA-1   {sha1_one / MB:7.0f} MB/s one core, {sha1_all / MB:7.0f} MB/s all cores")
    print(f"  SHA-256 {sha256_one / MB:7.0f} MB/s one core, {sha256_all / MB:7.0f} MB/s all cores")
    print(
        f"  (one core hashing 256 MiB buffers from RAM: SHA-1 {sha1_ram / MB:.0f}, "
        f"SHA-256 {sha256_ram / MB:.0f} MB/s)"
    )
    print(
        f"  hybrid limit, SHA-1 + SHA-256 of each byte on all cores: {combined / MB:.0f} MB/s; "
        f"with this layout's pad zeros: {layout_limit / MB:.0f} MB/s"
    )
    print(
        "  cold sequential read: "
        + ", ".join(f"{disk[r]:.0f} MB/s with {r} reader(s)" for r in disk)
    )
    print(
        f"data: {data / 1e9:.2f} GB in {len(files)} files, piece size {piece // 1024} KiB, "
        f"hybrid pad zeros {(stream - data) / 1e9:.2f} GB, {root / NAME}"
    )

    out = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    log2 = piece.bit_length() - 1
    runs: list[tuple[str, str, Callable[[], bytes]]] = [
        ("longplay", "hybrid", lambda: run_ours(files, "hybrid", piece)),
        ("longplay", "v1", lambda: run_ours(files, "v1", piece)),
        ("longplay threads", "hybrid", lambda: run_ours(files, "hybrid", piece, "thread")),
        ("longplay processes", "hybrid", lambda: run_ours(files, "hybrid", piece, "process")),
        (
            "libtorrent set_piece_hashes",
            "hybrid",
            lambda: run_libtorrent(files, root, "hybrid", piece),
        ),
        ("libtorrent set_piece_hashes", "v1", lambda: run_libtorrent(files, root, "v1", piece)),
    ]
    if shutil.which("mktorrent"):
        runs.append(
            (
                f"mktorrent -t {cores}",
                "v1",
                lambda: run_tool(
                    [
                        "mktorrent",
                        "-l",
                        str(log2),
                        "-t",
                        str(cores),
                        "-d",
                        "-o",
                        str(out / "m.torrent"),
                        str(root / NAME),
                    ],
                    out / "m.torrent",
                ),
            )
        )
    if shutil.which("transmission-create"):
        runs.append(
            (
                "transmission-create",
                "v1",
                lambda: run_tool(
                    [
                        "transmission-create",
                        "-s",
                        str(piece // 1024),
                        "-o",
                        str(out / "t.torrent"),
                        str(root / NAME),
                    ],
                    out / "t.torrent",
                ),
            )
        )

    rates: dict[tuple[str, str, str], float] = {}
    outputs: dict[tuple[str, str], bytes] = {}
    print(f"\n{'tool':30s} {'format':6s} {'cache':5s} {'MB/s':>7s}  ratio to limit")
    for tool, version, fn in runs:
        for cache in ("warm",) if args.no_cold or "longplay " in tool else ("warm", "cold"):
            rate, outputs[tool, version] = measure(fn, paths, data, cache == "cold", repeat)
            rates[tool, version, cache] = rate
            limit = (layout_limit if version == "hybrid" else sha1_all) / MB
            if cache == "cold":
                limit = min(limit, max(disk.values()))
            print(
                f"{tool:30s} {version:6s} {cache:5s} {rate:7.0f}  {rate / limit:.2f} x "
                f"{'disk' if cache == 'cold' and limit == max(disk.values()) else 'hashing'} limit {limit:.0f}"
            )
    shutil.rmtree(out)

    ours = outputs["longplay", "hybrid"], outputs["longplay", "v1"]
    same = (
        ours[0] == outputs["libtorrent set_piece_hashes", "hybrid"],
        ours[1] == outputs["libtorrent set_piece_hashes", "v1"],
    )
    print(f"\nbyte-identical to libtorrent: hybrid {same[0]}, v1 {same[1]}")
    mk = next((v for (t, _), v in outputs.items() if t.startswith("mktorrent")), None)
    if mk is not None:
        same_hash = (
            lt.torrent_info(mk).info_hashes().v1 == lt.torrent_info(ours[1]).info_hashes().v1
        )
        print(f"v1 info-hash equal to mktorrent's: {same_hash}")

    lt_hybrid = rates["libtorrent set_piece_hashes", "hybrid", "warm"]
    hyb = rates["longplay", "hybrid", "warm"]
    print("\ngoals (warm):")
    print(
        f"  hybrid {hyb:.0f} MB/s = {hyb * MB / combined:.2f} x the SHA-1 + SHA-256 limit "
        f"({hyb * MB / layout_limit:.2f} x with pad zeros counted); goal 0.9"
    )
    print(f"  hybrid = {hyb / lt_hybrid:.1f} x libtorrent's own hybrid hashing; goal 5")
    mk_rate = next(
        (r for (t, v, c), r in rates.items() if t.startswith("mktorrent") and c == "warm"), None
    )
    if mk_rate:
        v1 = rates["longplay", "v1", "warm"]
        print(f"  v1 {v1:.0f} MB/s = {v1 / mk_rate:.2f} x mktorrent; goal 1")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if not all(same):
        sys.exit("torrents differ from libtorrent's")


if __name__ == "__main__":
    main()
