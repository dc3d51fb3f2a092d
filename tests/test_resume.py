"""`kill -9` during an ingest, then the same command again: same catalog as an uninterrupted run."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from longplay.catalog.schema import RELEASE_TABLES

TRACKS = 60_000
CHUNK = "4000"  # 15 units


def _longplay(archive: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "longplay.cli", "--archive", str(archive), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _fingerprint(archive: Path) -> dict[str, str]:
    gen = (archive / "catalog" / "CURRENT").read_text().strip()
    con = duckdb.connect(str(archive / "catalog" / gen / "catalog.duckdb"), read_only=True)
    out = {}
    for table in RELEASE_TABLES:
        cols = "* EXCLUDE (finished_at)" if table == "ingest_log" else "*"
        out[table] = (
            con.execute(f"""SELECT count(*) || ':' || coalesce(md5(string_agg(r, '|' ORDER BY r)), '')
                                     FROM (SELECT CAST(t AS VARCHAR) AS r FROM (SELECT {cols} FROM {table}) t)""").fetchone()[
                0
            ]
        )
    con.close()
    return out


def test_kill_9_then_rerun_equals_uninterrupted(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "LONGPLAY_SYNTHETIC_CHUNK_TRACKS": CHUNK}
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for a in (killed, clean):
        subprocess.run(
            [sys.executable, "-m", "longplay.cli", "init", str(a)],
            env=env,
            check=True,
            capture_output=True,
        )

    proc = _longplay(killed, env, "ingest", "synthetic", "--tracks", str(TRACKS), "--seed", "9")
    done = 0
    assert proc.stderr is not None
    for line in proc.stderr:
        if "unit chunk-" in line and "done" in line:
            done += 1
            if done == 4:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert not (killed / "catalog" / "CURRENT").exists()  # nothing half-written is current
    assert list((killed / "catalog").glob("gen-*.partial"))

    rerun = _longplay(killed, env, "ingest", "synthetic", "--tracks", str(TRACKS), "--seed", "9")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "resumed: 4 of 15 units already done" in out
    assert f"read {TRACKS:,} = kept {TRACKS:,} + rejected 0" in out

    whole = _longplay(clean, env, "ingest", "synthetic", "--tracks", str(TRACKS), "--seed", "9")
    _, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err
    assert _fingerprint(killed) == _fingerprint(clean)
