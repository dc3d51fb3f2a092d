"""`longplay coverage`: how many files and bytes it takes to cover a share of all listens.

Per recording (ISRC/MBID dedup: a track counts as covered when any track of its recording is
kept), ranked by listens — the order that covers the most listens with the fewest files — the
cumulative share of listens against files kept and against bytes kept, the bytes both as
originals and as the reference mix (originals above the popularity threshold, Opus for the rest).
Sizes come from scanned files where there are any, else they are virtual (``weights.py``).
One window pass in DuckDB returns only the sampled points and the crossings of the share targets.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from longplay.archive import Archive
from longplay.catalog.store import CatalogStore
from longplay.plan import candidates, report
from longplay.plan.report import share
from longplay.plan.weights import recordings_sql
from longplay.units import format_bytes

TARGETS_BP = (5000, 9000, 9900, 9960, 9990, 10000)  # share targets, basis points (99.6% = 9960)
CURVE_POINTS = 400


@dataclass
class CoverageReport:
    generation: str
    tracks: int
    recordings: int
    listens: int
    recordings_with_listens: int
    recordings_with_files: int  # sized by a scanned file (the rest: virtual)
    original_bitrate: int
    opus_bitrate: int
    original_popularity: int
    curve: list[dict[str, Any]] = field(
        default_factory=list
    )  # files, listens, bytes_original, bytes_mix
    top: list[dict[str, Any]] = field(default_factory=list)  # "top N files cover X%"
    needed: list[dict[str, Any]] = field(default_factory=list)  # "X% of listens need N files"
    plan: dict[str, Any] | None = None  # the current plan's point, if any
    stale_plan: str | None = None  # generation of a plan the catalog has changed since

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def format(self) -> str:
        L = self.listens
        lines = [
            f"coverage of {self.generation}: {self.tracks:,} tracks, {self.recordings:,} recordings "
            f"(tracks sharing an ISRC or recording MBID count once), {L:,} listens",
            f"{self.recordings_with_listens:,} recordings have listens; "
            f"{self.recordings - self.recordings_with_listens:,} have none",
            "sizes: "
            + (
                f"scanned files for {self.recordings_with_files:,} recordings, virtual for the rest"
                if self.recordings_with_files
                else "virtual"
            )
            + f" (originals {self.original_bitrate / 1000:g} kbit/s, Opus {self.opus_bitrate / 1000:g} kbit/s;"
            f" mix: originals for popularity > {self.original_popularity}, Opus for the rest)",
            "",
        ]
        for t in self.top:
            lines.append(
                f"top {t['files']:>13,} files cover {share(t['listens'], L):8.3f}% of listens"
                f"  ({format_bytes(t['bytes_original'])} as originals, {format_bytes(t['bytes_mix'])} as mix)"
            )
        if self.needed:
            lines.append("")
        for n in self.needed:
            lines.append(
                f"{n['target']:>6.2f}% of listens need {n['files']:>13,} files"
                f"  ({format_bytes(n['bytes_original'])} as originals, {format_bytes(n['bytes_mix'])} as mix)"
            )
        if self.plan:
            p = self.plan
            lines += [
                "",
                f"current plan ({self.generation}, budget {format_bytes(p['budget'])}): "
                f"{p['files']:,} files, {format_bytes(p['bytes'])}, cover {p['share']:.3f}% of listens",
            ]
        if self.stale_plan:
            lines += [
                "",
                f"the plan made in {self.stale_plan} is stale (the catalog changed since): "
                "rerun `longplay plan`",
            ]
        return "\n".join(lines)


def _samples(n: int) -> tuple[list[int], list[int]]:
    """(curve ranks, 'top N' ranks): log-spaced and linear points; 10^k and 3·10^k, and n."""
    if n == 0:
        return [], []
    top = sorted({x for k in range(1, 13) for x in (10**k, 3 * 10**k) if x < n} | {n})
    log = np.round(np.logspace(0, math.log10(n), CURVE_POINTS)).astype(np.int64)
    lin = np.round(np.linspace(1, n, CURVE_POINTS // 2)).astype(np.int64)
    curve = sorted(set(log.tolist()) | set(lin.tolist()) | set(top))
    return curve, top


def coverage(archive: Archive, png: Path | None = None) -> CoverageReport:
    """Coverage of the current catalog generation; also draws the PNG plot when ``png`` is given."""
    store = CatalogStore(archive)
    s = archive.settings
    orig_br, opus_br, thr = (
        int(s.plan_original_bitrate),
        int(s.opus_bitrate),
        int(s.plan_original_popularity),
    )
    with store.read() as con:
        tmp = archive.work_dir / "duckdb-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(tmp)])
        files_sql = candidates.attach_files(con, archive)
        cand = candidates.catalog_candidates(con, files_sql)
        con.execute(f"""
            CREATE TEMP TABLE _cov AS
            SELECT recording_id, listens, popularity, has_file, original_size,
                   CASE WHEN popularity > {thr} THEN original_size ELSE opus_size END AS mix_size
            FROM ({recordings_sql(cand, original_bitrate=orig_br, opus_bitrate=opus_br, with_files=files_sql is not None)})""")
        n, total, with_listens, with_files = (
            int(x or 0)
            for x in con.execute(
                "SELECT count(*), sum(listens), count(*) FILTER (WHERE listens > 0), "
                "count(*) FILTER (WHERE has_file) FROM _cov"
            ).fetchall()[0]
        )
        rep = CoverageReport(
            generation=store.current_name() or "",
            tracks=int(con.execute("SELECT count(*) FROM tracks").fetchall()[0][0]),
            recordings=n,
            listens=total,
            recordings_with_listens=with_listens,
            recordings_with_files=with_files,
            original_bitrate=orig_br,
            opus_bitrate=opus_br,
            original_popularity=thr,
        )
        curve_ranks, top_ranks = _samples(n)
        con.register("_cov_samples", pa.table({"r": pa.array(curve_ranks, pa.int64())}))
        targets = " OR ".join(
            f"(cum_listens::HUGEINT * 10000 >= {bp} * {total}::HUGEINT AND "
            f"(cum_listens - listens)::HUGEINT * 10000 < {bp} * {total}::HUGEINT)"
            for bp in TARGETS_BP
        )
        rows = con.execute(f"""
            SELECT rank, listens, cum_listens, cum_original, cum_mix FROM (
                SELECT row_number() OVER w AS rank, listens, sum(listens) OVER w AS cum_listens,
                       sum(original_size) OVER w AS cum_original, sum(mix_size) OVER w AS cum_mix
                FROM _cov
                WINDOW w AS (ORDER BY listens DESC, popularity DESC, recording_id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
            WHERE rank IN (SELECT r FROM _cov_samples) {f"OR {targets}" if total else ""}
            ORDER BY rank""").fetchall()
        con.unregister("_cov_samples")
        plan = report.load(con, rep.generation)
    points = {
        int(r[0]): {
            "files": int(r[0]),
            "listens": int(r[2]),
            "bytes_original": int(r[3]),
            "bytes_mix": int(r[4]),
        }
        for r in rows
    }
    curve_set = set(curve_ranks)
    rep.curve = [p for k, p in sorted(points.items()) if k in curve_set]
    rep.top = [points[k] for k in top_ranks]
    for bp in TARGETS_BP if total else ():
        hit = next(p for _k, p in sorted(points.items()) if p["listens"] * 10000 >= bp * total)
        rep.needed.append({"target": bp / 100, **hit})
    if plan is not None and plan.fresh:
        t = plan.totals()
        rep.plan = {
            "files": t["files"],
            "bytes": t["bytes"],
            "listens": t["listens_covered"],
            "share": t["share_covered"],
            "budget": t["budget"],
        }
    elif plan is not None:
        rep.stale_plan = str(plan.meta.get("generation"))
    if png is not None:
        from longplay.plan.plot import draw_coverage

        draw_coverage(rep, png)
    return rep
