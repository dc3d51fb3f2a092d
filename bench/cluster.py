"""What the Dask seam costs: per-task overhead and the demo's build, DaskPool against ProcessPool.

Both pools get the same machine: a ``LocalCluster`` of ``--workers`` worker processes of one
thread each, against a :class:`longplay.workers.ProcessPool` of as many processes. The trivial
task (``leaf_width``) measures what a task costs beyond its work (submit, schedule, pickle,
answer); the build is the demo's: ``--clips`` sample clips planned under the demo's budget,
built once per pool into fresh archives from the same plan. The cluster is running before the
clock starts, as a real one would be; the build's figure includes its pool's own start (spawning
processes, or connecting a client). Figures are medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from distributed import LocalCluster

from longplay import workers
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat
from longplay.pack import build as build_mod
from longplay.pack.hashing import leaf_width
from longplay.plan.planner import make_plan
from longplay.workers_dask import DaskPool


def cpu_seconds() -> float:
    """CPU time of this process (client, and a LocalCluster's scheduler) and its children
    (worker processes, nannies): on a loaded machine, the figure that load does not inflate."""
    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def per_task(pool: workers.Pool, tasks: int) -> tuple[float, float]:
    """(wall, CPU) seconds per trivial task through map_unordered, the callers' way in."""
    list(pool.map_unordered(leaf_width, range(1, 20)))  # warm: workers started, modules imported
    started, cpu = time.perf_counter(), cpu_seconds()
    for _, outcome in pool.map_unordered(leaf_width, range(1, tasks + 1)):
        outcome.result()
    return (time.perf_counter() - started) / tasks, (cpu_seconds() - cpu) / tasks


def planned(root: Path, music: Path) -> Archive:
    archive = Archive.init(root)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=1)
    make_plan(archive, 1_300_000, available_only=True)  # the demo's budget
    return archive


def build_seconds(template: Path, where: Path, cluster: str | None, n: int) -> float:
    shutil.copytree(template, where)
    archive = Archive.open(where).override(cluster=cluster)
    started = time.perf_counter()
    summary = build_mod.build(archive, workers=n)
    took = time.perf_counter() - started
    assert summary.failed == 0 and summary.built == summary.planned, summary.text()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        music = Path(tmp) / "music"
        samples.generate(music, args.clips, seed=1, seconds=4.0)
        template = Path(tmp) / "planned"
        planned(template, music)
        with LocalCluster(
            n_workers=args.workers, processes=True, threads_per_worker=1, dashboard_address=None
        ) as lc:
            local, dask, b_local, b_dask = [], [], [], []
            for run in range(args.runs):
                with workers.ProcessPool(args.workers) as pool:
                    local.append(per_task(pool, args.tasks))
                with DaskPool(lc.scheduler_address) as pool:
                    dask.append(per_task(pool, args.tasks))
                b_local.append(build_seconds(template, Path(tmp) / f"l{run}", None, args.workers))
                b_dask.append(
                    build_seconds(template, Path(tmp) / f"d{run}", lc.scheduler_address, 0)
                )
    m = statistics.median
    for what, i in (("wall", 0), ("CPU", 1)):
        here, there = m(r[i] for r in local), m(r[i] for r in dask)
        print(
            f"trivial task, {args.workers} workers, {what}: ProcessPool {here * 1e3:.2f} ms/task, "
            f"DaskPool {there * 1e3:.2f} ms/task ({there / here:.0f}x)"
        )
    print(
        f"demo build ({args.clips} clips): ProcessPool {m(b_local):.2f} s, "
        f"DaskPool {m(b_dask):.2f} s ({m(b_dask) / m(b_local):.2f}x)"
    )
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
