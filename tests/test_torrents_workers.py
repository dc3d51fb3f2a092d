"""The hashing worker processes: results, errors carried back, and a dying worker failing fast."""

from __future__ import annotations

import os

import pytest

from longplay.errors import InputError
from longplay.pack import layout
from longplay.pack.hashing import leaf_width
from longplay.pack.workers import ProcessPool


def test_results_come_back_from_worker_processes():
    pool = ProcessPool(2)
    try:
        futures = [pool.submit(leaf_width, n) for n in range(1, 40)]
        assert [f.result(timeout=30) for f in futures] == [
            1 << (n - 1).bit_length() for n in range(1, 40)
        ]
        assert all(p.poll() is None and p.pid != os.getpid() for p in pool._procs)
    finally:
        pool.shutdown()
    assert all(p.returncode == 0 for p in pool._procs)


def test_exceptions_are_raised_in_the_caller():
    pool = ProcessPool(1)
    try:
        with pytest.raises(InputError, match="torrent version 'v3'"):
            pool.submit(layout.check_version, "v3").result(timeout=30)
        assert pool.submit(layout.check_version, "v1").result(timeout=30) == "v1"  # still serving
    finally:
        pool.shutdown()


def test_a_dead_worker_fails_the_queued_work_instead_of_hanging():
    pool = ProcessPool(1)
    try:
        dying = pool.submit(os._exit, 3)
        queued = [pool.submit(leaf_width, 5) for _ in range(3)]
        with pytest.raises(RuntimeError, match="died"):
            dying.result(timeout=30)
        for future in queued:
            with pytest.raises(RuntimeError, match="died"):
                future.result(timeout=30)
        with pytest.raises(RuntimeError, match="shut down"):
            pool.submit(leaf_width, 1)
    finally:
        pool.shutdown()
