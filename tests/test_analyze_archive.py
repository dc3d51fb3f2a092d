"""`longplay analyze` over an archive: once per payload, incremental, rejects, kill -9 resume."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mutagen.flac import FLAC

from audiofixtures import shared_data
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.analyze import analyze
from longplay.audio.scan import scan
from procs import assert_all_exit, busy_workers

BEETS = shared_data("audio", "beets") or Path("../shared/data/audio/beets")


def _features(archive: Archive) -> list[tuple[object, ...]]:
    con = sqlite3.connect(archive.root / "analysis" / "analysis.sqlite")
    try:
        return con.execute("SELECT * FROM features ORDER BY payload_sha256").fetchall()
    finally:
        con.close()


def _count(archive: Archive) -> int:
    try:
        con = sqlite3.connect(archive.root / "analysis" / "analysis.sqlite", timeout=1)
        try:
            return con.execute("SELECT count(*) FROM features").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_analyze_is_incremental_and_counts_reconcile(tmp_path: Path, monkeypatch: object) -> None:
    music = tmp_path / "music"
    samples.generate(music, 4, seed=3, seconds=6.0, formats=["flac"])
    broken = tmp_path / "music" / "broken"
    broken.mkdir()
    for name in ("partial.flac", "unparseable.mp3", "full.opus"):
        shutil.copy(BEETS / name, broken / name)
    archive = Archive.init(tmp_path / "a")
    scan(archive, [music], workers=1, match=False)
    first = analyze(archive, workers=1)
    assert (first.held, first.analyzed, first.unchanged) == (first.held, 4, 0)
    assert first.held == first.unchanged + first.same_audio + first.analyzed + first.rejected
    assert first.rejects_log is not None
    again = analyze(archive, workers=1)
    assert (again.analyzed, again.unchanged, again.rejected) == (0, 4, first.rejected)
    # A re-tagged copy is the same audio: recorded, not analyzed again.
    flac = sorted(music.rglob("*.flac"))[0]
    copy = music / "copy.flac"
    shutil.copy(flac, copy)
    tags = FLAC(copy)
    tags["title"] = "retagged"
    tags.save()
    third = analyze(archive, [music], workers=1)
    assert (third.analyzed, third.same_audio) == (0, 1)
    assert len(_features(archive)) == 4


def test_kill_9_during_analyze_then_rerun(tmp_path: Path, cli_env: dict[str, str]) -> None:
    music = tmp_path / "music"
    samples.generate(music, 10, seed=7, seconds=20.0, formats=["flac"])
    env = {**cli_env, "LONGPLAY_ANALYSIS_ESSENTIA": "false"}
    killed, clean = Archive.init(tmp_path / "killed"), Archive.init(tmp_path / "clean")

    def cmd(a: Archive) -> list[str]:
        return [sys.executable, "-m", "longplay.cli", "--archive", str(a.root), "analyze",
                str(music), "--workers", "2"]  # fmt: skip

    proc = subprocess.Popen(
        cmd(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while _count(killed) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = busy_workers(proc.pid, 2, cpu_seconds=0.3)
    assert proc.poll() is None, "the analysis finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert_all_exit(workers, within=10)
    before = _count(killed)
    assert 1 <= before < 10
    rerun = subprocess.run(cmd(killed), env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{before} unchanged" in rerun.stdout and f"{10 - before} analyzed" in rerun.stdout
    whole = subprocess.run(cmd(clean), env=env, capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    assert _features(killed) == _features(clean) and len(_features(clean)) == 10
