"""Run the `longplay` command in this process and report its peak RSS: `python peakrss.py ARGS`.

The last line on stderr is ``peak-rss-bytes N`` (VmHWM, as bench/_common.py reads it, or its
workers' peak when larger), written
at exit whatever the command did, so a test can bound the memory a hostile input costs.
"""

from __future__ import annotations

import atexit
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MARK = "peak-rss-bytes"


def _report() -> None:
    status = Path("/proc/self/status").read_text()
    kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    # Worker processes too: the largest of them (an upper bound, since Linux starts a child's
    # ru_maxrss at its parent's RSS at fork time).
    kb = max(kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"{MARK} {kb * 1024}", file=sys.stderr, flush=True)


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str  # without the peak line
    peak_rss: int


def run(args: list[str], env: dict[str, str], timeout: float = 300) -> Outcome:
    """`longplay ARGS` in a subprocess; its exit code, output and peak RSS in bytes."""
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    lines = done.stderr.rstrip("\n").split("\n")
    assert lines and lines[-1].startswith(MARK), done.stderr[-2000:]
    return Outcome(done.returncode, done.stdout, "\n".join(lines[:-1]), int(lines[-1].split()[1]))


if __name__ == "__main__":
    atexit.register(_report)
    from longplay.cli import main

    main()
