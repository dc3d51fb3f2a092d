"""The worker seam: results and errors come back, a dying worker fails only its task, no leaks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from longplay import workers
from longplay.errors import InputError
from longplay.pack import layout
from longplay.pack.hashing import leaf_width
from longplay.workers import PoolBroken, ProcessPool, WorkerDied


def test_results_come_back_from_worker_processes() -> None:
    pool = ProcessPool(2)
    try:
        futures = [pool.submit(leaf_width, n) for n in range(1, 40)]
        assert [f.result(timeout=30) for f in futures] == [
            1 << (n - 1).bit_length() for n in range(1, 40)
        ]
        assert pool.started and os.getpid() not in pool.started
    finally:
        pool.shutdown()
    assert all(not psutil.pid_exists(p) or _gone(p) for p in pool.started)


def test_exceptions_are_raised_in_the_caller() -> None:
    with workers.pool(1) as pool:
        with pytest.raises(InputError, match="torrent version 'v3'"):
            pool.submit(layout.check_version, "v3").result(timeout=30)
        assert pool.submit(layout.check_version, "v1").result(timeout=30) == "v1"  # still serving


def test_map_unordered_yields_every_item_once_with_its_outcome() -> None:
    with workers.pool(2) as pool:
        got = dict(pool.map_unordered(layout.check_version, ["v1", "v3", "hybrid"] * 20, window=3))
    assert got["v1"].result() == "v1" and got["hybrid"].ok
    assert isinstance(got["v3"].error, InputError)


def test_map_unordered_reads_a_huge_iterable_lazily() -> None:
    read = []

    def items():  # type: ignore[no-untyped-def]
        for n in range(1, 10**9):
            read.append(n)
            yield n

    with workers.pool(2) as pool:
        for n, (item, outcome) in enumerate(pool.map_unordered(leaf_width, items(), window=4)):
            assert outcome.result() == leaf_width(item)
            if n == 20:
                break
    assert len(read) <= 21 + 4


def test_a_dead_worker_fails_only_its_task_and_is_replaced() -> None:
    with workers.pool(1) as pool:
        dying = pool.submit(os._exit, 3)
        queued = [pool.submit(leaf_width, 5) for _ in range(3)]
        with pytest.raises(WorkerDied, match=r"died while running _exit \(exit status 3\)"):
            dying.result(timeout=30)
        assert [f.result(timeout=30) for f in queued] == [8, 8, 8]
        assert len(pool.started) == 2


def test_a_worker_killed_by_a_signal_is_named() -> None:
    with workers.pool(1) as pool:
        outcome = dict(pool.map_unordered(os.kill, [0]))  # os.kill(0) needs two args: TypeError
        assert isinstance(outcome[0].error, TypeError)
        future = pool.submit(signal.raise_signal, signal.SIGKILL)
        with pytest.raises(WorkerDied, match="killed by SIGKILL"):
            future.result(timeout=30)
        assert pool.submit(leaf_width, 3).result(timeout=30) == 4


def test_a_task_the_worker_cannot_import_fails_alone() -> None:
    with workers.pool(1) as pool:
        with pytest.raises(ModuleNotFoundError):
            pool.submit(_local_task, 1).result(timeout=30)
        assert pool.submit(leaf_width, 3).result(timeout=30) == 4
        assert len(pool.started) == 1


def _local_task(n: int) -> int:  # tests/ is not on the workers' path
    return n


def test_workers_that_keep_dying_break_the_pool_instead_of_respawning() -> None:
    with workers.pool(2) as pool:
        outcomes = pool.map_unordered(os._exit, [1] * 50, window=4)
        with pytest.raises(PoolBroken, match="in a row died before finishing"):
            list(outcomes)
        assert len(pool.started) <= workers.GIVE_UP + 1
        assert isinstance(pool.submit(leaf_width, 1).exception(timeout=5), PoolBroken)


def test_count_prefers_the_argument_then_the_setting_then_the_cores() -> None:
    assert workers.count(3, 5) == 3 and workers.count(None, 5) == 5 and workers.count(0, 0) >= 1
    assert workers.count() == len(os.sched_getaffinity(0))


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


SLEEPER = textwrap.dedent("""
    import sys, time
    from longplay import workers
    pool = workers.pool(2)
    for _ in range(4):
        pool.submit(time.sleep, 600)
    print("ready", flush=True)
    time.sleep(600)
""")


def test_busy_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE, cwd=tmp_path, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 30
        children: list[psutil.Process] = []
        while len(children) < 2 and time.monotonic() < deadline:
            children = psutil.Process(proc.pid).children()
            time.sleep(0.05)
        assert len(children) == 2
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(c.pid) for c in children):
        time.sleep(0.1)
    assert all(_gone(c.pid) for c in children), "workers outlived their parent"


BASE = {"longplay", "longplay.errors", "longplay.settings", "longplay.archive", "longplay.units"}
BASE |= {"longplay.progress", "longplay.state", "longplay.workers", "longplay.rejects"}
BASE |= {"longplay.safepaths"}


def _imported(*modules: str) -> set[str]:
    code = f"import sys; import {', '.join(modules)}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_seam_and_the_state_import_only_base_modules() -> None:
    loaded = {
        m for m in _imported("longplay.workers", "longplay.state") if m.startswith("longplay")
    }
    assert loaded <= BASE


def test_task_modules_keep_worker_start_up_light() -> None:
    # What a build or scan worker imports when it unpickles its first task.
    for task_module in (
        "longplay.pack.buildtask",
        "longplay.audio.examine",
        "longplay.audio.analysis",
    ):
        loaded = _imported("longplay.workers", task_module)
        assert not loaded & {"duckdb", "rich", "pyarrow", "longplay.catalog.store"}, task_module


def test_a_result_that_cannot_travel_back_is_the_task_error() -> None:
    with workers.pool(1) as pool:
        with pytest.raises(workers.TaskError, match="cannot send back its result"):
            pool.submit(open, os.devnull).result(timeout=30)  # a file object does not pickle
        assert pool.submit(leaf_width, 3).result(timeout=30) == 4 and len(pool.started) == 1
