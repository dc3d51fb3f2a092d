"""Growth curves: each catalog stage timed at several sizes, fitted, extrapolated to 256M tracks.

For each size (synthetic tracks), every stage runs in a fresh child process, in pipeline order
on one archive: ingest, dedup (identity recomputed in a new generation, plus its group report),
coverage, plan, pack planning (the kept files cut into torrents by their virtual sizes with
``pack.placement.assign_torrents``, no audio), search indexing, a query mix (7 classes of
bench/search.py, p50/p99) and shuffle draws. The child reports wall time, CPU time (its own
and its children's, from getrusage: the steadier figure on a shared machine) and peak RSS
(VmHWM; for the index build also its shard processes' ru_maxrss).

The fit is log-log least squares of CPU seconds (and of peak RSS) against size. A slope of 1 is
linear; n log n over 1M-10M shows as about 1.07. The extrapolation to 256M tracks (86M files
for pack planning, whose unit is planned files) follows the fitted slope from the largest size.
Results accumulate in bench/scale.json (one entry per size and stage, so 30M can be added
later), and every run rewrites the table and bench/scale.png.

    .venv/bin/python bench/scale.py --quick                 # 100k and 300k tracks
    .venv/bin/python bench/scale.py --sizes 1000000,3000000,10000000 --dir /tmp/lp-scale
    .venv/bin/python bench/scale.py --report                # table and plot from scale.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "scale.json"
PLOT = HERE / "scale.png"
STAGES = ("ingest", "dedup", "coverage", "plan", "pack", "index", "query", "shuffle")
LATENCY = ("query", "shuffle")  # stages measured per operation, not as a whole job
TARGET_TRACKS = 256_000_000
TARGET_FILES = 86_000_000
BUDGET_PER_TRACK = 200e12 / 86e6 * 0.727  # bench/plan.py's binding budget per catalog track
QUERIES_PER_CLASS = 50
MEMORY_LIMIT = 8 * 10**9  # the archive's duckdb_memory_limit here (8GB)
# Stages whose peak memory DuckDB bounds: the index build's peak is its first stage, DuckDB
# writing the documents (the Tantivy shards are other processes with fixed 400 MB heaps).
DUCKDB = ("ingest", "dedup", "coverage", "plan", "pack", "index")


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its children that have ended."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _stage(name: str, root: Path, n: int) -> dict:
    """Run one stage on the archive at ``root``; returns its own figures (wall time is the
    caller's to take too, but the child's own excludes interpreter start-up)."""
    from longplay import progress
    from longplay.archive import Archive

    progress.set_quiet(True)
    # Imports before the clocks start: their ~0.5 CPU-s is no part of any stage's growth.
    import duckdb  # noqa: F401
    import tantivy  # noqa: F401

    import longplay.catalog.store
    import longplay.search.engine  # noqa: F401

    out: dict = {}
    before = _cpu()
    t0 = time.perf_counter()
    if name == "ingest":
        from longplay.catalog.sources import ingest_synthetic

        shutil.rmtree(root, ignore_errors=True)
        archive = Archive.init(root)
        archive.toml_path.write_text(
            f'duckdb_memory_limit = "{MEMORY_LIMIT // 10**9}GB"\n', encoding="utf-8"
        )
        out["kept"] = ingest_synthetic(Archive.open(root), n, seed=1).kept
        out["bytes"] = _du(root / "catalog")  # one generation: the disk a catalog of n needs
    archive = Archive.open(root)
    if name == "dedup":
        from longplay.catalog.dedup import dedup

        out["groups"] = dedup(archive)["groups"]
    elif name == "coverage":
        from longplay.plan.coverage import coverage

        out["recordings"] = coverage(archive).to_dict().get("recordings")
    elif name == "plan":
        from longplay.plan.planner import make_plan

        out["files"] = make_plan(archive, int(BUDGET_PER_TRACK * n)).totals()["files"]
    elif name == "pack":
        out.update(_pack(archive))
    elif name == "index":
        from longplay.search.build import build_index

        shutil.rmtree(archive.search_dir, ignore_errors=True)
        report = build_index(archive)
        out["docs"] = sum(report.documents.values())
        out["bytes"] = _du(archive.search_dir)
        out["phases"] = {k: round(v, 1) for k, v in report.phases.items()}
    elif name == "query":
        out.update(_queries(archive))
    elif name == "shuffle":
        out.update(_shuffle(archive))
    out["seconds"] = time.perf_counter() - t0
    out.setdefault("cpu", _cpu() - before)
    out["peak_rss"] = max(
        _peak_rss(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    )
    return out


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _pack(archive) -> dict:
    """Torrents for the current plan's kept files by virtual size: what `longplay pack` decides
    before any audio exists (file paths need tags and are left out)."""
    from longplay.catalog.store import CatalogStore
    from longplay.pack.placement import assign_torrents

    target = archive.settings.torrent_target_size
    with CatalogStore(archive).read() as con:
        assign_torrents(
            con,
            "SELECT track_id, tier, size, popularity, listens FROM plan WHERE action <> 'skip'",
            target,
        )
        files, torrents, biggest = con.execute(
            "SELECT count(*), count(DISTINCT (tier, seq)), max(b) FROM _placed JOIN "
            "(SELECT tier, seq, count(*) AS b FROM _placed GROUP BY ALL) USING (tier, seq)"
        ).fetchall()[0]
    return {"files": int(files), "torrents": int(torrents), "largest_torrent_files": int(biggest)}


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def _queries(archive) -> dict:
    import random

    from longplay.catalog.store import CatalogStore
    from longplay.search import engine
    from search import _lp_query, _mix  # bench/search.py: the same query classes

    with CatalogStore(archive).read() as con:
        mix = _mix(con, QUERIES_PER_CLASS, random.Random(7))
    index = engine.open_current(archive)
    cpu_all: list[float] = []
    per: dict[str, list[float]] = {}
    t0 = time.process_time()
    for cls, items in mix.items():
        per[cls] = []
        for q, m, _ in items:
            c = time.process_time()
            _lp_query(index, cls, q, m)
            per[cls].append(time.process_time() - c)
        cpu_all += per[cls]
    return {
        "cpu": time.process_time() - t0,
        "p50_ms": _pct(cpu_all, 0.5),
        "p99_ms": _pct(cpu_all, 0.99),
        "classes": {k: [_pct(v, 0.5), _pct(v, 0.99)] for k, v in per.items()},
        "queries": len(cpu_all),
    }


def _shuffle(archive) -> dict:
    from longplay.search import engine, shuffle

    index = engine.open_current(archive)
    out = {}
    for label, f in (("all", None), ("genre", shuffle.Filters(genre="rock"))):
        shuffle.draw(index, n=1, seed=1, filters=f)  # the filter's mask, once a session
        c = time.process_time()
        shuffle.draw(index, n=1000, seed=1, position=1, filters=f)
        out[f"{label}_ms"] = (time.process_time() - c) / 1000 * 1000
    out["p50_ms"] = out["all_ms"]
    return out


def run_stage(name: str, root: Path, n: int) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--root", str(root), "--sizes", str(n)]
    env = {**os.environ, "LONGPLAY_NO_PROGRESS": "1"}
    load = os.getloadavg()
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE)
    if done.returncode:
        sys.exit(f"stage {name} at {n:,} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - t
    out["load"] = [round(x, 2) for x in (*load, *os.getloadavg())]  # 1/5/15 min before, after
    return out


def fit(xs: list[float], ys: list[float]) -> float:
    """Log-log least-squares slope."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    den = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / den if den else 0.0


def nlogn_slope(n1: float, n2: float) -> float:
    if n1 == n2:
        return float("nan")
    return math.log(n2 * math.log(n2) / (n1 * math.log(n1))) / math.log(n2 / n1)


def growth(slope: float, nlogn: float) -> str:
    if slope < 0.3:
        return "flat"
    if slope < 0.9:
        return "sublin."
    if slope <= 1.03:
        return "~n"
    if slope <= nlogn + 0.05:
        return "~n log n"
    return "WORSE than n log n"


def report(data: dict, plot: Path = PLOT) -> None:
    sizes = sorted(int(k) for k in data)
    if not sizes:
        return
    print(f"{'stage':>9} " + " ".join(f"{f'{n / 1e6:g}M cpu s':>11}" for n in sizes), end="")
    print(f" {'slope':>6} {'growth':>8} {'RSS slope':>9} {'-> 256M cpu':>12} {'peak RSS':>9}")
    for st in STAGES:
        pts = [(n, data[str(n)][st]) for n in sizes if st in data[str(n)]]
        if not pts:
            continue
        key = "p50_ms" if st in LATENCY else "cpu"
        xs = [float(p[1].get("files", p[0])) if st == "pack" else float(p[0]) for p in pts]
        ys = [float(p[1][key]) for p in pts]
        rss = [float(p[1]["peak_rss"]) for p in pts]
        s = fit(xs, ys) if len(pts) > 1 else float("nan")
        rs = fit(xs, rss) if len(pts) > 1 else float("nan")
        target = TARGET_FILES if st == "pack" else TARGET_TRACKS
        ext = ys[-1] * (target / xs[-1]) ** s if len(pts) > 1 else float("nan")
        ext_rss = rss[-1] * (target / xs[-1]) ** max(rs, 0.0) if len(pts) > 1 else float("nan")
        capped = st in DUCKDB and ext_rss > MEMORY_LIMIT
        ext_rss = min(ext_rss, MEMORY_LIMIT) if st in DUCKDB else ext_rss
        nl = nlogn_slope(xs[0], xs[-1]) if len(pts) > 1 else float("nan")
        cells = {n: data[str(n)].get(st, {}).get(key) for n in sizes}
        unit = " ms" if st in LATENCY else ""
        shown = " ".join(f"{'' if v is None else f'{v:,.2f}{unit}':>11}" for v in cells.values())
        ext_txt = f"{ext:,.2f} ms" if st in LATENCY else f"{ext / 60:,.1f} min"
        print(
            f"{st:>9} {shown} {s:>6.2f} {growth(s, nl) if len(pts) > 1 else '-':>8} {rs:>9.2f} "
            f"{ext_txt:>12} {ext_rss / 2**30:>7.1f}Gi{'*' if capped else ''}"
        )
    print(
        "(CPU seconds of the stage and its children; query/shuffle: CPU p50 ms per operation. "
        "Slope: log-log fit; n log n over these sizes is "
        f"{nlogn_slope(sizes[0], sizes[-1]):.2f}. Pack is fitted against planned files and "
        "extrapolated to 86M files, the rest to 256M tracks; RSS extrapolated by its own slope, "
        "* where that passes the DuckDB memory_limit the stage runs under, which bounds it: "
        "DuckDB spills to disk beyond it.)"
    )
    for n in sizes:
        row = data[str(n)]
        print(
            f"{n:>11,}: "
            + ", ".join(
                f"{st} {row[st]['wall']:.0f}s/{row[st]['peak_rss'] / 2**30:.2f}Gi (load {row[st]['load'][0]:.1f})"
                for st in STAGES
                if st in row
            )
        )
        if "phases" in row.get("index", {}):
            phases = row["index"]["phases"]
            print(
                f"{'':>13}index phases (wall s): "
                + ", ".join(f"{k} {v:.0f}" for k, v in phases.items())
            )
        if "query" in row:
            q = row["query"]
            print(
                f"{'':>13}queries CPU p50 {q['p50_ms']:.1f} ms, p99 {q['p99_ms']:.1f} ms; by class p50/p99: "
                + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in q["classes"].items())
            )
    _plot(data, sizes, plot)


def _plot(data: dict, sizes: list[int], plot: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 5))
    for st in STAGES:
        pts = [(n, data[str(n)][st]) for n in sizes if st in data[str(n)]]
        if not pts:
            continue
        key = "p50_ms" if st in LATENCY else "cpu"
        xs = [p[0] for p in pts]
        a.plot(xs, [p[1][key] for p in pts], marker="o", label=f"{st} ({key})")
        b.plot(xs, [p[1]["peak_rss"] / 2**30 for p in pts], marker="o", label=st)
    ref = [sizes[0], sizes[-1]]
    a.plot(ref, [1, sizes[-1] / sizes[0]], "k:", label="∝ n (from 1)")
    for ax, title, unit in ((a, "CPU time per stage", "CPU s / ms"), (b, "peak RSS", "GiB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("synthetic tracks")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1000000,3000000,10000000,30000000")
    ap.add_argument("--quick", action="store_true", help="100k and 300k tracks")
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/lp-scale"), help="work directory")
    ap.add_argument("--keep", action="store_true", help="keep each size's archive")
    ap.add_argument("--report", action="store_true", help="only print the table and plot")
    ap.add_argument("--results", type=Path, default=None, help="default bench/scale.json")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_stage(args.child, args.root, int(args.sizes)), default=str))
        return
    # --quick results stay in the work directory: small sizes must not enter the real fit.
    results = args.results or (args.dir / "scale-quick.json" if args.quick else RESULTS)
    data = json.loads(results.read_text()) if results.exists() else {}
    if not args.report:
        sizes = [100_000, 300_000] if args.quick else [int(x) for x in args.sizes.split(",")]
        stages = [s for s in STAGES if s in args.stages.split(",")]
        for n in sizes:
            root = args.dir / f"archive-{n}"
            for st in stages:
                out = run_stage(st, root, n)
                data.setdefault(str(n), {})[st] = out
                results.write_text(json.dumps(data, indent=1, sort_keys=True))
                print(
                    f"{n:>11,} {st:>9}: wall {out['wall']:7.1f} s  cpu {out['cpu']:7.1f} s  "
                    f"peak {out['peak_rss'] / 2**30:5.2f} GiB  load {out['load'][0]:.1f}",
                    flush=True,
                )
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    report(data, results.with_suffix(".png"))


if __name__ == "__main__":
    main()
