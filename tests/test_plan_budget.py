"""The plan core on hand-made candidate relations: budget edges, ties, and optimality by brute force."""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pytest

from longplay.errors import LongplayError
from longplay.plan import budget, cut
from longplay.plan.candidates import CANDIDATE_COLUMNS
from longplay.plan.weights import virtual_size

ORIG, OPUS = 160_000, 75_000


def _con(rows: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE cand ({', '.join(f'{k} {v}' for k, v in CANDIDATE_COLUMNS.items())})"
    )
    cols = list(CANDIDATE_COLUMNS)
    con.executemany(
        f"INSERT INTO cand VALUES ({', '.join('?' * len(cols))})",
        [[r.get(c) for c in cols] for r in rows],
    )
    return con


def _rec(
    rid: int, listens: int, popularity: int, duration_ms: int = 200_000, **kw: Any
) -> dict[str, Any]:
    return {
        "recording_id": rid,
        "track_id": rid,
        "is_canonical": True,
        "listens": listens,
        "popularity": popularity,
        "duration_ms": duration_ms,
        **kw,
    }


def _plan(con: duckdb.DuckDBPyConnection, b: int, **kw: Any) -> dict[int, dict[str, Any]]:
    budget.plan(con, "cand", budget.PlanOptions(budget=b, **kw))
    cur = con.execute("SELECT * FROM plan")
    cols = [d[0] for d in cur.description]
    return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def o(ms: int = 200_000) -> int:
    return virtual_size(ms, ORIG)


def p(ms: int = 200_000) -> int:
    return virtual_size(ms, OPUS)


# Four recordings: two popular (listens 100, 50), two tail (popularity 0).
FOUR = [_rec(1, 100, 40), _rec(2, 50, 30), _rec(3, 0, 0), _rec(4, 0, 0, duration_ms=100_000)]
BASE = 3 * p() + p(100_000)  # everything as Opus
FULL = 2 * o() + p() + p(100_000)  # the reference plan without a budget


def test_virtual_size_formula() -> None:
    # 200 s at 160 kbit/s = 4,000,000 bytes, +1% Ogg overhead, + 4 KiB headers.
    assert o() == 4_040_000 + 4096
    assert p() == 1_893_750 + 4096
    con = duckdb.connect()
    from longplay.plan.weights import virtual_size_sql

    for ms in (0, 1, 199_999, 200_000, 3_600_000):
        assert con.execute(f"SELECT {virtual_size_sql(str(ms), ORIG)}").fetchall()[0][
            0
        ] == virtual_size(ms, ORIG)
    assert virtual_size(None, OPUS) == virtual_size(240_000, OPUS)


@pytest.mark.parametrize(
    ("b", "expect"),
    [
        (10**15, {1: "original", 2: "original", 3: "opus", 4: "opus"}),  # more than everything
        (FULL, {1: "original", 2: "original", 3: "opus", 4: "opus"}),  # exactly fits
        (FULL - 1, {1: "original", 2: "opus", 3: "opus", 4: "opus"}),  # one byte short: demote 2
        (BASE + o() - p(), {1: "original", 2: "opus", 3: "opus", 4: "opus"}),
        (BASE + o() - p() - 1, {1: "opus", 2: "opus", 3: "opus", 4: "opus"}),
        (BASE, {1: "opus", 2: "opus", 3: "opus", 4: "opus"}),  # all-Opus exactly
        (BASE - 1, {1: "opus", 2: "opus", 3: "opus", 4: "skip"}),  # skip the least listened
        (2 * p(), {1: "opus", 2: "opus", 3: "skip", 4: "skip"}),
        (p(), {1: "opus", 2: "skip", 3: "skip", 4: "skip"}),
        (p() - 1, {1: "skip", 2: "skip", 3: "skip", 4: "skip"}),
        (0, {1: "skip", 2: "skip", 3: "skip", 4: "skip"}),  # zero budget
    ],
)
def test_budget_edges(b: int, expect: dict[int, str]) -> None:
    plan = _plan(_con(FOUR), b)
    assert {k: r["action"] for k, r in plan.items()} == expect
    spent = sum(r["size"] for r in plan.values())
    assert spent <= b
    for r in plan.values():
        assert (
            r["size"]
            == {"original": o(r["duration_ms"]), "opus": p(r["duration_ms"]), "skip": 0}[
                r["action"]
            ]
        )
    assert plan[3]["reason"] == ("tail" if plan[3]["action"] == "opus" else "budget")
    if plan[2]["action"] == "opus":
        assert plan[2]["reason"] == "budget"  # a popular recording demoted to fit


def test_popularity_threshold_and_tiers() -> None:
    rows = [_rec(i, 100 - i, pop) for i, pop in enumerate((100, 50, 49, 30, 29, 15, 14, 1, 0))]
    plan = _plan(_con(rows), 10**15, original_popularity=14, tiers=(50, 30, 15, 1))
    by_pop = {r["popularity"]: r for r in plan.values()}
    assert [by_pop[x]["tier"] for x in (100, 50, 49, 30, 29, 15, 14, 1, 0)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
    ]
    assert {x for x, r in by_pop.items() if r["action"] == "original"} == {100, 50, 49, 30, 29, 15}
    assert budget.parse_tiers("50, 30,15,1") == (50, 30, 15, 1)
    for bad in ("50,50", "30,50", "0", "101", "a,b"):
        with pytest.raises(LongplayError, match="plan_tiers"):
            budget.parse_tiers(bad)
    assert budget.tier_label(4, (50, 30, 15, 1)) == "popularity 0"
    assert budget.tier_label(1, (50, 30, 15, 1)) == "popularity 30–49"


def test_recording_dedup_and_pick() -> None:
    """Tracks of one recording: listens add up, one file is kept, the best eligible track's."""
    rows = [
        _rec(7, 10, 20) | {"track_id": 70, "is_canonical": True},
        _rec(7, 5, 30) | {"track_id": 71, "is_canonical": False, "license": "cc0"},
        _rec(8, 1, 5) | {"track_id": 80, "license": "all-rights-reserved"},
    ]
    plan = _plan(_con(rows), 10**15)
    assert plan[7]["listens"] == 15 and plan[7]["tracks"] == 2 and plan[7]["popularity"] == 30
    assert plan[7]["track_id"] == 70  # canonical first when neither has a file
    plan = _plan(_con(rows), 10**15, licenses=("cc0",))
    assert plan[7]["track_id"] == 71 and plan[7]["action"] == "original"
    assert plan[8]["action"] == "skip" and plan[8]["reason"] == "license"


def test_scanned_file_sizes_and_small_originals() -> None:
    rows = [
        _rec(1, 9, 50)
        | {
            "file_path": "a.ogg",
            "file_size": 5_000_000,
            "file_codec": "vorbis",
            "file_bitrate": 200_000,
            "file_duration_ms": 200_000,
        },
        _rec(2, 5, 0)
        | {
            "file_path": "b.mp3",
            "file_size": 1_000_000,
            "file_codec": "mp3",
            "file_bitrate": 40_000,
            "file_duration_ms": 200_000,
        },
        _rec(3, 1, 0),
    ]
    plan = _plan(_con(rows), 10**15, files_scanned=True)
    assert plan[1]["size"] == 5_000_000 and plan[1]["path"] == "a.ogg"
    # A 40 kbit/s file is smaller than its 75 kbit/s re-encode would be: keep it as it is.
    assert plan[2]["action"] == "original" and plan[2]["reason"] == "small_original"
    assert plan[2]["size"] == plan[2]["opus_size"] == 1_000_000
    assert plan[3]["missing"] and plan[3]["path"] is None and not plan[1]["missing"]
    plan = _plan(_con(rows), 10**15, files_scanned=True, available_only=True)
    assert plan[3]["action"] == "skip" and plan[3]["reason"] == "no_file"


# -- optimality -------------------------------------------------------------------------------
def _policy_plans(rows: list[dict[str, Any]], thr: int) -> list[dict[int, str]]:
    """Every plan of the reference policy's shape: originals for the k most-listened popular
    recordings (Opus for the rest), or Opus for the m most-listened and nothing for the rest."""
    order = sorted(rows, key=lambda r: (-r["listens"], -r["popularity"], r["recording_id"]))
    popular = [r["recording_id"] for r in order if r["popularity"] > thr]
    plans = []
    for k in range(len(popular) + 1):
        plans.append(
            {
                r["recording_id"]: "original" if r["recording_id"] in popular[:k] else "opus"
                for r in order
            }
        )
    for m in range(len(order)):
        plans.append({r["recording_id"]: "opus" if i < m else "skip" for i, r in enumerate(order)})
    return plans


def _cost(plan: dict[int, str], rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    size = {"original": o, "opus": p}
    by = {r["recording_id"]: r for r in rows}
    spent = sum(size[a](by[k]["duration_ms"]) for k, a in plan.items() if a != "skip")
    covered = sum(by[k]["listens"] for k, a in plan.items() if a != "skip")
    original = sum(by[k]["listens"] for k, a in plan.items() if a == "original")
    return spent, covered, original


@pytest.mark.parametrize("seed", range(12))
def test_best_plan_of_the_policy_by_brute_force(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Against every plan of the policy's shape: the core's fits, and covers the most listens,
    then the most listens in original quality. Ties in listens and popularity are frequent, and
    the cut's bucket narrowing runs on tiny groups (SMALL=2, BUCKETS=3)."""
    monkeypatch.setattr(cut, "SMALL", 2)
    monkeypatch.setattr(cut, "BUCKETS", 3)
    rng = random.Random(seed)
    n = rng.randint(3, 14)
    ids = rng.sample(range(1, 10**6), n)
    rows = [
        _rec(
            rid,
            rng.choice([0, 0, 1, 3, 3, 10, 50]),
            rng.choice([0, 0, 5, 20, 20]),
            duration_ms=rng.randint(30_000, 600_000),
        )
        for rid in ids
    ]
    con = _con(rows)
    total_orig = sum(
        o(r["duration_ms"]) if r["popularity"] > 0 else p(r["duration_ms"]) for r in rows
    )
    for b in sorted(
        {
            0,
            rng.randint(0, total_orig),
            rng.randint(0, total_orig),
            total_orig,
            total_orig + 1,
            sum(p(r["duration_ms"]) for r in rows),
        }
    ):
        got = {k: r["action"] for k, r in _plan(con, b).items()}
        spent, covered, original = _cost(got, rows)
        assert spent <= b
        feasible = [_cost(x, rows) for x in _policy_plans(rows, 0) if _cost(x, rows)[0] <= b]
        best = max((c, og) for _s, c, og in feasible)
        assert (covered, original) == best, (b, got)
        assert got in _policy_plans(rows, 0)


def test_cut_matches_a_full_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    """find_cut equals a running sum over the fully sorted relation, through the bucket path."""
    monkeypatch.setattr(cut, "SMALL", 50)
    monkeypatch.setattr(cut, "BUCKETS", 7)
    con = duckdb.connect()
    con.execute("""CREATE TABLE r AS SELECT (hash(i) >> 2)::BIGINT AS recording_id, (i % 3)::BIGINT AS listens,
                   (i % 2)::SMALLINT AS popularity, (i * 7919 % 1000)::BIGINT AS w FROM range(5000) t(i)""")
    total = con.execute("SELECT sum(w) FROM r").fetchall()[0][0]
    for cap in (0, 1, 999, total // 3, total // 2 + 17, total - 1, total, total + 5):
        found = cut.find_cut(con, "r", "w", cap)
        expect = con.execute(f"""
            SELECT count(*) FILTER (WHERE upto <= {cap}) FROM (
                SELECT sum(w) OVER (ORDER BY listens DESC, popularity DESC, recording_id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto FROM r)""").fetchall()[
            0
        ][0]
        kept = con.execute(f"SELECT count(*) FROM r WHERE {cut.kept_sql(found)}").fetchall()[0][0]
        assert kept == expect, cap
        assert (found is None) == (cap >= total)


def test_options_are_checked() -> None:
    with pytest.raises(LongplayError, match="negative"):
        budget.PlanOptions(budget=-1)
    with pytest.raises(LongplayError, match="unknown plan policy"):
        budget.PlanOptions(budget=1, policy="greedy")
