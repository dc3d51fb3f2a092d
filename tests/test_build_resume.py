"""`kill -9` during `longplay build`: no worker survives it; building again gives the same files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat
from longplay.plan.planner import make_plan
from procs import assert_all_exit, busy_workers


def _planned(root: Path, music: Path) -> Archive:
    archive = Archive.init(root)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=1)
    make_plan(archive, 10**12)
    return archive


def _built(archive: Archive) -> dict[int, tuple[str, str]]:
    con = sqlite3.connect(archive.state_path)
    try:
        return {
            t: (p, h)
            for t, p, h in con.execute("SELECT track_id, out_path, sha256 FROM build_files")
        }
    finally:
        con.close()


def _count(archive: Archive) -> int:
    try:
        con = sqlite3.connect(archive.state_path, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM build_files").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_kill_9_during_build_then_rerun(tmp_path: Path, cli_env: dict[str, str]) -> None:
    music = tmp_path / "music"
    # 48 songs: 16 were built before two workers were busy on an idle machine here.
    samples.generate(music, 48, seed=5, seconds=8.0)
    killed = _planned(tmp_path / "killed", music)
    clean = _planned(tmp_path / "clean", music)
    cmd = [
        sys.executable,
        "-m",
        "longplay.cli",
        "--archive",
        str(killed.root),
        "build",
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _count(killed) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    # Workers start on demand, each with a task: two of them past start-up are mid-task.
    workers = busy_workers(proc.pid, 2, cpu_seconds=0.15)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # what the OOM killer does
    proc.wait(timeout=30)
    assert_all_exit(workers, within=10)
    done_before = _count(killed)
    assert 1 <= done_before < 48, "the build finished before it could be killed"
    rerun = subprocess.run(cmd, env=cli_env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"already built {done_before}" in rerun.stdout
    whole = subprocess.run(
        [sys.executable, "-m", "longplay.cli", "--archive", str(clean.root), "build"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert whole.returncode == 0, whole.stderr
    assert _built(killed) == _built(clean) and len(_built(clean)) == 48
    leftovers = [
        p for p in (killed.root / "build").rglob("*") if p.is_file() and p.name.startswith(".")
    ]
    assert leftovers == []  # a killed task's partial output never survives as a file
