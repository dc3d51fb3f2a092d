"""How long `longplay --help` takes, against the floor of starting Python and importing click.

Goal: under 0.3 s. The command loads its groups lazily and imports DuckDB, PyAV, Rich and
libtorrent only inside commands, so its start-up should sit close to `python -c "import click"`.
Each figure is the median of --runs fresh processes, run alternately so load hits all alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import click'": [sys.executable, "-c", "import click"],
    "longplay --help": [str(BIN / "longplay"), "--help"],
    "longplay ingest synthetic --help": [str(BIN / "longplay"), "ingest", "synthetic", "--help"],
    "python -c 'import duckdb, av, libtorrent'": [
        sys.executable,
        "-c",
        "import duckdb, av, libtorrent",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    env = {**os.environ, "LONGPLAY_NO_PROGRESS": "1"}
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, argv in CASES.items():
            started = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - started)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; median of {args.runs} runs")
    floor = statistics.median(times["python -c 'import click'"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<44} {median * 1000:7.1f} ms   {median / floor:5.2f} × import click")
    help_s = statistics.median(times["longplay --help"])
    print(
        f"goal: longplay --help < 300 ms: {'met' if help_s < 0.3 else 'NOT met'} ({help_s * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
