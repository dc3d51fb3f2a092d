"""Helpers of the kill tests: a job's worker processes, and proof that none outlives the job."""

from __future__ import annotations

import time

import psutil

WORKER_MARK = "longplay.workers"  # in the command line of every worker (python -c ...)


def _alive(p: psutil.Process) -> bool:
    try:  # is_running also compares the start time, so a reused pid is not mistaken
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def workers_of(pid: int) -> list[psutil.Process]:
    out = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if WORKER_MARK in " ".join(child.cmdline()):
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def busy_workers(
    pid: int, n: int, cpu_seconds: float = 0.5, timeout: float = 60
) -> list[psutil.Process]:
    """Wait until job ``pid`` has ``n`` workers past their start-up, busy in tasks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = workers_of(pid)
            busy = [w for w in found if sum(w.cpu_times()[:2]) >= cpu_seconds]
        except psutil.NoSuchProcess:  # the job ended, or a worker between two looks
            if not psutil.pid_exists(pid):
                break
            continue
        if len(busy) >= n:
            return found
        time.sleep(0.05)
    raise AssertionError(f"job {pid} never had {n} busy workers (did it finish first?)")


def assert_all_exit(procs: list[psutil.Process], within: float = 10) -> None:
    """Every process in ``procs`` is gone (or a zombie nobody reaps) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(_alive(p) for p in procs):
        time.sleep(0.1)
    left = [p.pid for p in procs if _alive(p)]
    assert not left, f"processes {left} outlived their job by {within} s"
