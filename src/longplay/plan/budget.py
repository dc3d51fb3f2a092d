"""The plan core: for every recording keep the original, keep an Opus re-encode, or skip it.

Set operations in DuckDB over the candidate relation (``candidates.py``); no Python loop
touches a row, so the same SQL plans a 10k-track test catalog and 86M virtual files.

Policy ``reference`` (what the reference archive did): originals for recordings with popularity
above ``original_popularity`` (default 0), Opus re-encodes for the rest. When that exceeds the
budget, the least-listened originals are demoted to Opus first; when even all-Opus exceeds it,
the least-listened recordings are skipped. With recordings ranked by listens (then popularity,
then recording ID: a total order), both steps are one cut in that order::

    base      = Σ opus_size over plannable recordings          (everything as Opus)
    base ≤ budget:  originals for the longest prefix of the popular recordings whose
                    Σ (original_size − opus_size) ≤ budget − base; Opus for all others
    base > budget:  Opus for the longest prefix of all plannable recordings whose
                    Σ opus_size ≤ budget; skip the rest

``cut.py`` finds where such a prefix ends with a few GROUP BYs instead of sorting every row, and
one scan then decides every recording.

Why this is the best plan of that policy. The policy's plans are: originals for the k
most-listened popular recordings and Opus for the other popular ones (demotion goes from the
least listened), and — when all-Opus does not fit — Opus for the m most-listened recordings and
nothing for the rest. Sizes are non-negative and opus_size ≤ original_size, so the running
sums of (original_size − opus_size) and of opus_size never decrease along the ranking: the
prefixes that fit are exactly those up to the cut, and the one chosen is the largest k (or m).
If all-Opus fits, every plannable recording is covered (all listens are), and the largest k
gives the most listens in original quality; if it does not fit, no plan of the policy can hold any original, and among prefixes
the longest covers the most listens (listens are non-negative). ``tests/test_plan_budget.py``
checks this against brute force over every k and m.

A recording is *plannable* when no exclusion hits it and it has an eligible track (license
filter; ``available_only``: a scanned file). Others are skipped with the reason kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import duckdb

from longplay.errors import LongplayError
from longplay.plan import cut
from longplay.plan.weights import recordings_sql

ACTIONS = ("original", "opus", "skip")
# Why a recording got its action (plan.reason): NULL for an original kept by the policy.
REASONS = {
    "tail": "popularity at or below the originals threshold: Opus by policy",
    "budget": "demoted to Opus (original) or skipped (opus) to fit the budget",
    "small_original": "kept as the original: the scanned file is no larger than its re-encode",
    "excluded": "an exclusion entry matched the recording",
    "license": "no track of the recording has an allowed license",
    "no_file": "no scanned file and only files at hand were wanted (--available-only)",
}

# Action and reason are ENUMs: read as text, stored as small integers (writing 86M rows of
# repeated strings cost seconds in string compression).
TYPES_DDL = f"""
CREATE TYPE plan_action AS ENUM ({", ".join(f"'{a}'" for a in ACTIONS)});
CREATE TYPE plan_reason AS ENUM ({", ".join(f"'{r}'" for r in REASONS)});
"""

PLAN_DDL = """
CREATE TABLE plan (
    recording_id BIGINT NOT NULL,   -- tracks sharing an ISRC or recording MBID
    track_id BIGINT,                -- the track whose file is kept (NULL: no eligible track)
    action plan_action NOT NULL,    -- original | opus | skip
    reason plan_reason,             -- why (budget.REASONS); NULL for originals by policy
    detail VARCHAR,                 -- the exclusion entry and its reason, for excluded ones
    tier SMALLINT NOT NULL,         -- popularity band, 0 = most popular; torrents never mix tiers
    listens BIGINT NOT NULL,        -- sum of the listen weights of all the recording's tracks
    popularity SMALLINT NOT NULL,   -- highest popularity of its tracks (0 when unknown)
    tracks INTEGER NOT NULL,        -- catalog tracks the kept file covers
    duration_ms INTEGER,
    size BIGINT NOT NULL,           -- bytes this plan spends on it (0 when skipped)
    original_size BIGINT,           -- the file's size, or virtual when path is NULL
    opus_size BIGINT,               -- virtual size of the re-encode (never above original_size)
    path VARCHAR,                   -- the scanned file to build from (NULL: none, sizes virtual)
    codec VARCHAR,
    bitrate INTEGER,
    missing BOOLEAN NOT NULL        -- kept, but files were scanned and none is this recording's
);
"""


@dataclass(frozen=True)
class PlanOptions:
    budget: int
    opus_bitrate: int = 75_000
    original_bitrate: int = 160_000
    original_popularity: int = 0  # originals for popularity above this
    tiers: tuple[int, ...] = (50, 30, 15, 1)
    licenses: tuple[str, ...] | None = None  # None: every license (and unknown) is fine
    allow_unknown_license: bool = False
    available_only: bool = False
    files_scanned: bool = False  # a files relation was used: report missing ones
    policy: str = "reference"

    def __post_init__(self) -> None:
        if self.budget < 0:
            raise LongplayError(f"budget {self.budget} is negative")
        if self.policy != "reference":
            raise LongplayError(f"unknown plan policy {self.policy!r} (known: reference)")
        if self.opus_bitrate <= 0 or self.original_bitrate <= 0:
            raise LongplayError("bitrates must be positive")


def parse_tiers(text: str) -> tuple[int, ...]:
    """'50,30,15,1' -> (50, 30, 15, 1): strictly descending popularity boundaries in 1..100."""
    try:
        bounds = tuple(int(x) for x in str(text).replace(" ", "").split(",") if x)
    except ValueError:
        raise LongplayError(
            f"plan_tiers {text!r}: expected comma-separated integers like 50,30,15,1"
        ) from None
    if any(not 1 <= b <= 100 for b in bounds) or any(a <= b for a, b in pairwise(bounds)):
        raise LongplayError(
            f"plan_tiers {text!r}: boundaries must be strictly descending, within 1..100"
        )
    return bounds


def tier_sql(popularity: str, tiers: tuple[int, ...]) -> str:
    """Tier of a popularity: 0 for ≥ tiers[0], 1 for ≥ tiers[1], …, len(tiers) for the rest."""
    if not tiers:
        return "0::SMALLINT"
    whens = " ".join(f"WHEN {popularity} >= {b} THEN {i}" for i, b in enumerate(tiers))
    return f"(CASE {whens} ELSE {len(tiers)} END)::SMALLINT"


def tier_label(tier: int, tiers: tuple[int, ...]) -> str:
    if tier == 0:
        return f"popularity ≥ {tiers[0]}" if tiers else "all"
    if tier == len(tiers):
        return f"popularity < {tiers[-1]}" if tiers[-1] > 1 else "popularity 0"
    return f"popularity {tiers[tier]}–{tiers[tier - 1] - 1}"


def _license_sql(opts: PlanOptions) -> str:
    if opts.licenses is None:
        return "true"
    allowed = ", ".join("'" + x.replace("'", "''") + "'" for x in opts.licenses) or "NULL"
    unknown = "true" if opts.allow_unknown_license else "false"
    return f"CASE WHEN license IS NULL THEN {unknown} ELSE lower(trim(license)) IN ({allowed}) END"


@dataclass
class CoreResult:
    base: int  # bytes of everything plannable as Opus
    phase: str  # 'demote' (all-Opus fits) or 'skip' (it does not)


def _hits(con: duckdb.DuckDBPyConnection, candidates: str, keys: str | None) -> bool:
    """Temp table _plan_hits (recording_id, line, reason) of exclusion matches; False if none."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _plan_hits (recording_id BIGINT, line INTEGER, reason VARCHAR)"
    )
    if keys is None:
        return False
    kinds = {k for (k,) in con.execute(f"SELECT DISTINCT kind FROM {keys}").fetchall()}
    arms = []
    for kind, col in (("isrc", "key_text"), ("mbid", "key_text"), ("album_id", "key_id")):
        if kind in kinds:
            arms.append(f"""SELECT c.recording_id, k.line, k.reason FROM {candidates} c
                            JOIN (SELECT * FROM {keys} WHERE kind = '{kind}') k ON c.{kind} = k.{col}""")
    if "artist_id" in kinds:
        arms.append(f"""SELECT c.recording_id, k.line, k.reason
                        FROM (SELECT recording_id, unnest(artist_ids) AS artist_id FROM {candidates}
                              WHERE artist_ids IS NOT NULL) c
                        JOIN (SELECT * FROM {keys} WHERE kind = 'artist_id') k ON c.artist_id = k.key_id""")
    if not arms:
        return False
    con.execute(f"INSERT INTO _plan_hits SELECT DISTINCT * FROM ({' UNION ALL '.join(arms)})")
    return True


def plan(
    con: duckdb.DuckDBPyConnection,
    candidates: str,
    opts: PlanOptions,
    keys: str | None = None,
    out: str = "plan",
) -> CoreResult:
    """Create table ``out`` (PLAN_DDL) with one row per recording of ``candidates``."""
    has_hits = _hits(con, candidates, keys)
    eligible = "file_size IS NOT NULL" if opts.available_only else "true"
    recordings = recordings_sql(
        candidates,
        original_bitrate=opts.original_bitrate,
        opus_bitrate=opts.opus_bitrate,
        licensed=_license_sql(opts),
        eligible=eligible,
        with_files=opts.files_scanned,
    )
    if has_hits:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _plan_rec AS
            SELECT r.*, b.reason AS excluded, b.reason IS NULL AND r.track_id IS NOT NULL AS plannable
            FROM ({recordings}) r
            LEFT JOIN (SELECT recording_id, arg_min(reason, line) AS reason FROM _plan_hits
                       GROUP BY recording_id) b USING (recording_id)""")
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _plan_rec AS
            SELECT r.*, NULL::VARCHAR AS excluded, r.track_id IS NOT NULL AS plannable FROM ({recordings}) r""")
    base = int(
        con.execute("SELECT coalesce(sum(opus_size), 0) FROM _plan_rec WHERE plannable").fetchall()[
            0
        ][0]
    )
    budget, thr = int(opts.budget), int(opts.original_popularity)
    if base <= budget:
        phase = "demote"
        found = cut.find_cut(
            con,
            f"(SELECT * FROM _plan_rec WHERE plannable AND popularity > {thr})",
            "original_size - opus_size",
            budget - base,
        )
        state = f"CASE WHEN popularity > {thr} AND {cut.kept_sql(found)} THEN 'original' ELSE 'opus' END"
    else:
        phase = "skip"
        found = cut.find_cut(con, "(SELECT * FROM _plan_rec WHERE plannable)", "opus_size", budget)
        state = f"CASE WHEN {cut.kept_sql(found)} THEN 'opus' ELSE 'skip' END"
    tier = tier_sql("popularity", opts.tiers)
    missing = "NOT has_file" if opts.files_scanned else "false"
    common = f"""recording_id, track_id, {{action}} AS action, {{reason}} AS reason,
                 {{detail}} AS detail, {tier} AS tier, listens, popularity, tracks,
                 coalesce(file_duration_ms, duration_ms)::INTEGER AS duration_ms,
                 {{size}} AS size, original_size, opus_size,
                 file_path AS path, file_codec AS codec, file_bitrate AS bitrate, {{missing}} AS missing"""
    kept = common.format(
        action="""CASE WHEN state = 'opus' AND has_file AND original_size <= opus_est THEN 'original'
                       ELSE state END::plan_action""",
        reason=f"""CASE WHEN state = 'original' THEN NULL
                        WHEN state = 'opus' AND has_file AND original_size <= opus_est THEN 'small_original'
                        WHEN state = 'opus' AND popularity <= {thr} THEN 'tail'
                        ELSE 'budget' END::plan_reason""",
        detail="NULL::VARCHAR",
        size="CASE state WHEN 'original' THEN original_size WHEN 'opus' THEN opus_size ELSE 0 END",
        missing=f"state <> 'skip' AND {missing}",
    )
    skipped = common.format(
        action="'skip'::plan_action",
        reason="""CASE WHEN excluded IS NOT NULL THEN 'excluded' WHEN NOT any_licensed THEN 'license'
                       ELSE 'no_file' END::plan_reason""",
        detail="excluded",
        size="0::BIGINT",
        missing="false",
    )
    con.execute(f"DROP TABLE IF EXISTS {out}")
    con.execute("DROP TABLE IF EXISTS plan_summary")  # depends on the types too
    con.execute("DROP TYPE IF EXISTS plan_action")
    con.execute("DROP TYPE IF EXISTS plan_reason")
    con.execute(TYPES_DDL)
    con.execute(PLAN_DDL.replace("CREATE TABLE plan", f"CREATE TABLE {out}"))
    con.execute(f"""
        INSERT INTO {out}
        SELECT {kept} FROM (SELECT *, {state} AS state FROM _plan_rec WHERE plannable)
        UNION ALL
        SELECT {skipped} FROM _plan_rec WHERE NOT plannable""")
    con.execute("DROP TABLE _plan_rec")
    return CoreResult(base=base, phase=phase)


SUMMARY_DDL = """
CREATE OR REPLACE TABLE plan_summary AS
SELECT tier, action, reason, count(*) AS recordings, sum(tracks)::BIGINT AS tracks,
       sum(size)::BIGINT AS bytes, sum(listens)::BIGINT AS listens,
       count(*) FILTER (WHERE missing) AS missing,
       coalesce(sum(size) FILTER (WHERE missing), 0)::BIGINT AS missing_bytes,
       coalesce(sum(listens) FILTER (WHERE missing), 0)::BIGINT AS missing_listens
FROM {plan} GROUP BY tier, action, reason ORDER BY tier, action, reason NULLS FIRST
"""


def summarize(con: duckdb.DuckDBPyConnection, plan_table: str = "plan") -> None:
    """Create ``plan_summary``: recordings, tracks, bytes, listens per (tier, action, reason)."""
    con.execute(SUMMARY_DDL.format(plan=plan_table))
