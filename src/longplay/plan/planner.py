"""`longplay plan`: plan the archive under a budget and publish it as a new catalog generation.

The plan is written into a copy of the current generation (tables ``plan``, ``plan_summary``,
``plan_exclusions``, ``plan_meta``; docs/plan.md) which becomes current on success. The job —
budget, settings, exclusion list content, license filter, scanned library — identifies the
partial generation, so a killed run rerun with the same arguments resumes it and ends with the
same plan; when the current generation already holds exactly that plan, nothing is rebuilt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from longplay import progress
from longplay.archive import Archive
from longplay.catalog.store import CatalogStore
from longplay.errors import LongplayError
from longplay.plan import budget, candidates, exclusions, report
from longplay.plan.report import PlanReport

PLAN_VERSION = 1  # bump when the same job would give a different plan

EXCLUSIONS_DDL = """
CREATE OR REPLACE TABLE plan_exclusions (
    line INTEGER, kind VARCHAR, value VARCHAR, reason VARCHAR,
    keys BIGINT,          -- catalog keys the entry resolved to (ISRC, MBID, artist, album IDs)
    recordings BIGINT     -- recordings it matched (all skipped)
)"""


def options(
    archive: Archive,
    budget_bytes: int,
    *,
    licenses: list[str] | None = None,
    allow_unknown_license: bool = False,
    available_only: bool = False,
    opus_bitrate: int | None = None,
    files_scanned: bool = False,
) -> budget.PlanOptions:
    s = archive.settings
    lic = (
        None
        if licenses is None
        else tuple(sorted({x.strip().lower() for x in licenses if x.strip()}))
    )
    if lic == ():
        raise LongplayError("--license names no license (e.g. --license cc-by-4.0,cc0)")
    if allow_unknown_license and lic is None:
        raise LongplayError("--allow-unknown-license only makes sense with --license")
    return budget.PlanOptions(
        budget=budget_bytes,
        opus_bitrate=int(opus_bitrate or s.opus_bitrate),
        original_bitrate=int(s.plan_original_bitrate),
        original_popularity=int(s.plan_original_popularity),
        tiers=budget.parse_tiers(s.plan_tiers),
        licenses=lic,
        allow_unknown_license=allow_unknown_license,
        available_only=available_only,
        files_scanned=files_scanned,
    )


def _current_plan(store: CatalogStore, job_text: str) -> PlanReport | None:
    name = store.current_name()
    if name is None:
        return None
    with store.read() as con:
        found = report.load(con, name, reused=True)
    # The plan must have been made in this very generation: a later ingest copies the plan tables
    # into its new generation, where they no longer describe the catalog.
    if (
        found is not None
        and found.fresh
        and json.dumps(found.meta.get("job"), sort_keys=True) == job_text
    ):
        return found
    return None


def make_plan(
    archive: Archive,
    budget_bytes: int,
    *,
    exclusions_path: Path | None = None,
    licenses: list[str] | None = None,
    allow_unknown_license: bool = False,
    available_only: bool = False,
    opus_bitrate: int | None = None,
) -> PlanReport:
    """Plan every recording of the current catalog for ``budget_bytes``; publish; report."""
    store = CatalogStore(archive)
    if store.current_name() is None:
        raise LongplayError(f"the archive {archive.root} has no catalog yet; ingest a source first")
    entries: list[exclusions.Exclusion] = []
    excl_hash = None
    if exclusions_path is not None:
        entries = exclusions.parse(exclusions_path)
        excl_hash = hashlib.sha256(Path(exclusions_path).read_bytes()).hexdigest()
    library = candidates.library_identity(archive)
    probe = options(
        archive,
        budget_bytes,
        licenses=licenses,
        allow_unknown_license=allow_unknown_license,
        available_only=available_only,
        opus_bitrate=opus_bitrate,
    )
    job = {
        "job": "plan",
        "version": PLAN_VERSION,
        **asdict(probe),
        "exclusions": excl_hash,
        "library": library,
    }
    del job["files_scanned"]  # follows from the library, which the job names
    job_text = json.dumps(job, sort_keys=True)
    current = _current_plan(store, job_text)
    if current is not None:
        return current

    with store.build(job) as gen, progress.progress("plan", 4, "items") as bar:
        if not gen.unit_done("plan"):
            files_sql = candidates.attach_files(gen.con, archive)
            opts = options(
                archive,
                budget_bytes,
                licenses=licenses,
                allow_unknown_license=allow_unknown_license,
                available_only=available_only,
                opus_bitrate=opus_bitrate,
                files_scanned=files_sql is not None,
            )
            if available_only and files_sql is None:
                raise LongplayError(
                    f"--available-only: no scanned files matched to tracks in "
                    f"{archive.library_path} (run `longplay scan` first)"
                )
            with gen.unit("plan") as con:
                keys = exclusions.resolve(con, entries) if entries else None
                with_artists = keys is not None and bool(
                    con.execute(f"SELECT count(*) FROM {keys} WHERE kind = 'artist_id'").fetchall()[
                        0
                    ][0]
                )
                cand = candidates.catalog_candidates(con, files_sql, with_artists=with_artists)
                bar.advance()
                progress.note("plan: candidates ready; planning recordings")
                result = budget.plan(con, cand, opts, keys)
                bar.advance()
                progress.note(f"plan: planned ({result.phase} phase); summarizing")
                budget.summarize(con)
                _write_exclusions(con, entries, keys)
                meta: dict[str, Any] = {
                    "job": job,
                    "options": asdict(opts),
                    "base": result.base,
                    "phase": result.phase,
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "base_generation": store.current_name(),
                    "generation": gen.name,
                }
                con.execute(
                    "CREATE OR REPLACE TABLE plan_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
                )
                con.executemany(
                    "INSERT INTO plan_meta VALUES (?, ?)",
                    [[k, json.dumps(v, sort_keys=True, default=str)] for k, v in meta.items()],
                )
                bar.advance()
        out = report.load(gen.con, gen.name)
        assert out is not None
        gen.commit()
        bar.advance()
    return out


def _write_exclusions(
    con: duckdb.DuckDBPyConnection, entries: list[exclusions.Exclusion], keys: str | None
) -> None:
    con.execute(EXCLUSIONS_DDL)
    if not entries:
        return
    con.executemany(
        "INSERT INTO plan_exclusions VALUES (?, ?, ?, ?, 0, 0)",
        [[e.line, e.kind, e.value, e.reason] for e in entries],
    )
    con.execute(f"""
        UPDATE plan_exclusions SET keys = k.n FROM (SELECT line, count(*) AS n FROM {keys} GROUP BY line) k
        WHERE plan_exclusions.line = k.line""")
    con.execute("""
        UPDATE plan_exclusions SET recordings = h.n
        FROM (SELECT line, count(DISTINCT recording_id) AS n FROM _plan_hits GROUP BY line) h
        WHERE plan_exclusions.line = h.line""")
