"""Per-file jobs on a Dask cluster: the same bytes as local processes, a killed worker included."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from distributed import Client, LocalCluster

from longplay import workers
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.analysisdb import AnalysisStore
from longplay.audio.analyze import analyze
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat
from longplay.errors import InputError, LongplayError, SettingsError
from longplay.mirror.verify import verify_mirror
from longplay.pack import hashing, layout
from longplay.pack.build import build
from longplay.pack.publish import pack
from longplay.pack.torrents import create_torrent, directory_files
from longplay.plan.planner import make_plan
from longplay.units import parse_size
from longplay.workers_dask import DaskPool
from procs import assert_all_exit

CLIPS = 8
BUDGET = "300kB"  # 3 originals, 5 Opus re-encodes
# Essentia is slow and not what is tested here; Chromaprint still runs on the workers.
SETTINGS = 'torrent_target_size = "200kB"\narchive_name = "lpdask"\nanalysis_essentia = false\n'


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two worker processes of one thread each (behind their nannies), torn down after."""
    before = _children()
    lc = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    started = [
        p
        for p in map(psutil.Process, _children() - before)
        if "resource_tracker" not in " ".join(p.cmdline())  # Python's own, lives with us
    ]
    try:
        yield lc
    finally:
        lc.close()
        assert_all_exit(started, within=30)


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("music")
    samples.generate(out, CLIPS, seed=7, seconds=3.0)
    return out


def _archive(root: Path, music: Path, cluster: str | None, analyzed: bool = True) -> Archive:
    """Ingest the clips' catalog, then scan, analyze and plan, here or on ``cluster``."""
    Archive.init(root).toml_path.write_text(SETTINGS)
    archive = Archive.open(root).override(cluster=cluster)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=2)
    if analyzed:
        analyze(archive, workers=2)
    make_plan(archive, parse_size(BUDGET), available_only=True)
    return archive


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, music: Path) -> Archive:
    archive = _archive(tmp_path_factory.mktemp("local"), music, None)
    build(archive, workers=2)
    pack(archive)
    return archive


def _built(archive: Archive) -> dict[int, tuple[str, str, str]]:
    con = sqlite3.connect(archive.state_path)
    try:
        rows = con.execute("SELECT track_id, action, out_path, sha256 FROM build_files")
        return {t: (a, p, h) for t, a, p, h in rows}
    finally:
        con.close()


def _same_files(a: Archive, b: Archive) -> None:
    """The ledgers agree, and every built file's bytes are what its ledger row says."""
    built = _built(a)
    assert built == _built(b)
    assert {action for action, _, _ in built.values()} == {"original", "opus"}
    for _, rel, sha in built.values():
        for archive in (a, b):
            assert hashlib.sha256((archive.root / rel).read_bytes()).hexdigest() == sha


def _library(archive: Archive) -> list[tuple[object, ...]]:
    from longplay.audio.library import LibraryStore

    with LibraryStore(archive, read_only=True) as lib:
        return lib.con.execute(
            "SELECT path, sha256, payload_sha256, codec, duration_ms FROM files ORDER BY path"
        ).fetchall()


def _torrents(archive: Archive) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(archive.torrents_dir.glob("*.torrent"))}


def test_dask_pool_carries_results_and_errors(cluster: LocalCluster) -> None:
    with workers.pool(cluster=cluster.scheduler_address) as pool:
        assert isinstance(pool, DaskPool) and pool.workers == 2
        futures = [pool.submit(hashing.leaf_width, n) for n in range(1, 30)]
        assert [f.result(timeout=60) for f in futures] == [
            1 << (n - 1).bit_length() for n in range(1, 30)
        ]
        got = dict(pool.map_unordered(layout.check_version, ["v1", "v3", "hybrid"] * 5, window=3))
        assert got["v1"].result() == "v1" and got["hybrid"].ok
        assert isinstance(got["v3"].error, InputError)  # the task's own exception type


def test_a_bad_or_unreachable_address_is_one_clear_error(unused_port: int) -> None:
    with pytest.raises(SettingsError, match=r"'cluster' from \$LONGPLAY_CLUSTER: 'localhost:8786'"):
        DaskPool("localhost:8786", origin="$LONGPLAY_CLUSTER")
    with pytest.raises(
        LongplayError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{unused_port}"
    ):
        DaskPool(f"tcp://127.0.0.1:{unused_port}", connect_timeout=2)


def test_scan_analyze_build_and_hashing_on_the_cluster_match_a_local_run(
    tmp_path: Path, music: Path, local: Archive, cluster: LocalCluster
) -> None:
    address = cluster.scheduler_address
    remote = _archive(tmp_path / "remote", music, address)
    assert (
        remote.settings.cluster == address and remote.settings.origins["cluster"] == "command line"
    )
    assert _library(remote) == _library(local)
    with AnalysisStore(remote) as a, AnalysisStore(local) as b:
        assert a.all_rows() == b.all_rows() and len(a.all_rows()) == CLIPS
    summary = build(remote)
    assert summary.built == summary.planned > 0 and summary.failed == 0
    _same_files(remote, local)
    pack(remote)
    assert _torrents(remote) == _torrents(local)
    # mirror verify: spans of files checked on the workers, the verdicts as from threads
    assert verify_mirror(remote.root, cluster=address).text() == verify_mirror(local.root).text()
    victim = next(p for p in sorted(remote.files_dir.rglob("*")) if p.is_file())
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 1
    victim.unlink()  # a hard link to build/: write a new file, not through the link
    victim.write_bytes(bytes(data))
    there_report = verify_mirror(remote.root, cluster=address)
    assert not there_report.ok and there_report.count("corrupt") == 1
    assert there_report.text() == verify_mirror(remote.root).text()
    # Small torrents hash here; a large one hashes on the cluster by piece ranges. Forced onto
    # the cluster with tasks of two pieces, a hybrid torrent of the built files is the same.
    files = directory_files(local.build_dir)
    here = create_torrent("built", files, executor="thread")
    there = create_torrent("built", files, executor="cluster", cluster=address)
    assert (there.info_hash_v1, there.info_hash_v2) == (here.info_hash_v1, here.info_hash_v2)
    entries = [(p, os.path.getsize(s), s) for p, s in files]
    plan = layout.plan("built", entries, version="hybrid", piece_size=16 * 1024)
    small = 2 * plan.piece_size
    assert plan.num_pieces > 10 * 2  # many tasks
    assert hashing.hash_layout(plan, executor="cluster", cluster=address, task_bytes=small) == (
        hashing.hash_layout(plan, executor="thread", task_bytes=small)
    )


def test_a_worker_killed_mid_build_has_its_tasks_redone_elsewhere(
    tmp_path: Path, music: Path, local: Archive, cluster: LocalCluster
) -> None:
    archive = _archive(tmp_path / "killed", music, cluster.scheduler_address, analyzed=False)
    result: list[object] = []

    def run() -> None:
        try:
            result.append(build(archive))
        except BaseException as exc:  # shown by the assertion below, not lost with the thread
            result.append(exc)

    job = threading.Thread(target=run, daemon=True)
    with Client(cluster, set_as_default=False) as client:
        job.start()
        deadline = time.monotonic() + 120
        busy: list[str] = []
        while not busy and job.is_alive() and time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys]
            time.sleep(0.01)
        assert busy, "no task ever ran"
        victim = client.run(os.getpid)[busy[0]]
        os.kill(victim, signal.SIGKILL)  # what the OOM killer does, mid-task
        done_at_kill = len(_built(archive))
        job.join(timeout=300)
        assert not job.is_alive()
        client.wait_for_workers(2, timeout=60)  # the nanny starts a new one
        assert victim not in client.run(os.getpid).values()
    (summary,) = result
    assert not isinstance(summary, BaseException), repr(summary)
    assert summary.built == summary.planned and summary.failed == 0  # type: ignore[attr-defined]
    assert done_at_kill < summary.planned  # type: ignore[attr-defined]
    _same_files(archive, local)
    assert not [p for p in archive.build_dir.rglob(".*.part*")], "a part file was left behind"


# --- the command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on loopback, random ports; the address."""
    where = tmp_path_factory.mktemp("dask")
    sched_file = where / "scheduler.json"
    dask = str(Path(sys.executable).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
    worker = [dask, "worker", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
    where_to = ["--scheduler-file", str(sched_file)]
    procs = [subprocess.Popen([*scheduler, *where_to], cwd=where, **quiet)]  # type: ignore[call-overload]
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        procs += [subprocess.Popen([*worker, *where_to], cwd=where, **quiet) for _ in range(2)]  # type: ignore[call-overload]
        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        family = [psutil.Process(p.pid) for p in procs]
        family += [c for p in family for c in p.children(recursive=True)]
        yield address
    finally:
        for p in reversed(procs):  # workers first, then the scheduler
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert_all_exit(family, within=30)


def _cli(env: dict[str, str], *args: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "longplay.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr


def test_cli_build_and_pack_with_longplay_cluster_give_the_same_torrents(
    tmp_path: Path, music: Path, local: Archive, cluster: LocalCluster, cli_env: dict[str, str]
) -> None:
    archive = _archive(tmp_path / "cli", music, None, analyzed=False)
    a = ["--archive", str(archive.root)]
    _cli({**cli_env, "LONGPLAY_CLUSTER": cluster.scheduler_address}, *a, "build")
    _cli(cli_env, *a, "pack", "--cluster", cluster.scheduler_address)
    _same_files(archive, local)
    assert _torrents(archive) == _torrents(local)


@pytest.mark.slow
def test_demo_on_a_dask_cluster_makes_the_same_torrents_as_a_local_demo(
    tmp_path: Path, dask_cli: str, cli_env: dict[str, str]
) -> None:
    for name, env in (("local", cli_env), ("cluster", {**cli_env, "LONGPLAY_CLUSTER": dask_cli})):
        _cli(env, "demo", str(tmp_path / name), "--no-serve")
    local_torrents = sorted((tmp_path / "local" / "torrents").glob("*.torrent"))
    assert len(local_torrents) >= 3
    for t in local_torrents:
        assert (tmp_path / "cluster" / "torrents" / t.name).read_bytes() == t.read_bytes(), t.name
