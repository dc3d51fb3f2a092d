"""ListenBrainz popularity statistics: CSV, JSON lines, Parquet; join, popularity rule, rejects."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import orjson
import pytest

from longplay.archive import Archive
from longplay.catalog import popularity
from longplay.catalog.sources import listenbrainz
from longplay.catalog.sources.listenbrainz import ingest_listenbrainz
from longplay.catalog.sources.musicbrainz import ingest_musicbrainz
from longplay.catalog.store import CatalogStore
from longplay.errors import LongplayError
from longplay.testing.musicbrainz_docs import Shape


@pytest.fixture
def mb_archive(archive: Archive, tmp_path: Path) -> tuple[Archive, list[str]]:
    shape = Shape(seed=21, artists=10, recordings=50)
    src = tmp_path / "release.jsonl"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in shape.releases(30)))
    ingest_musicbrainz(archive, [src])
    with CatalogStore(archive).read() as con:
        mbids = [
            r[0] for r in con.execute("SELECT DISTINCT mbid FROM tracks ORDER BY mbid").fetchall()
        ]
    return archive, mbids


@pytest.mark.parametrize("block", [None, 13])  # 13 bytes: JSON lines split across many read blocks
def test_stats_join_by_mbid_in_three_formats(
    mb_archive: tuple[Archive, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    block: int | None,
) -> None:
    if block is not None:
        monkeypatch.setattr(listenbrainz, "_BLOCK", block)
    archive, mbids = mb_archive
    unknown = "00000000-0000-4000-8000-000000000001"
    csv = tmp_path / "stats.csv"
    csv.write_text(
        "recording_mbid,total_listen_count,total_user_count,extra\n"
        + "".join(f"{m},{1000 * (i + 1)},{i + 1},x\n" for i, m in enumerate(mbids[:5]))
        + f"{unknown},77,3,x\n"
        + "not-an-mbid,5,1,x\n"
        + f"{mbids[5]},-4,1,x\n"
    )
    jl = tmp_path / "stats.jsonl"
    jl.write_text(
        json.dumps(
            {
                "recording_mbid": mbids[6].upper(),
                "total_listen_count": 10**9,
                "total_user_count": 5000,
            }
        )
        + "\n"
        + '{"recording_mbid": "broken\n'
        + json.dumps({"recording_mbid": mbids[7], "total_listen_count": "12"})
        + "\n"
        + json.dumps({"recording_mbid": mbids[0], "total_listen_count": 1})
        + "\n"
    )  # a repeat: first wins
    pq = tmp_path / "stats.parquet"
    duckdb.execute(
        f"COPY (SELECT '{mbids[8]}' AS recording_mbid, 0::BIGINT AS total_listen_count, "
        f"0::BIGINT AS total_user_count) TO '{pq}' (FORMAT PARQUET)"
    )
    report = ingest_listenbrainz(archive, [csv, jl, pq])
    assert report.read == 13 == report.matched + report.unmatched + report.rejected
    assert (report.matched, report.unmatched, report.rejected) == (7, 1, 5)
    log = [json.loads(x) for x in report.rejects_path.read_text().splitlines()]  # type: ignore[union-attr]
    reasons = {(Path(r["input"]).name, r["position"]): r["reason"] for r in log}
    assert (
        reasons[("stats.csv", "line 8")] == 'recording_mbid "not-an-mbid" is not a MusicBrainz ID'
    )
    assert reasons[("stats.csv", "line 9")] == "total_listen_count -4 is not a non-negative integer"
    assert reasons[("stats.jsonl", "line 2")].startswith("malformed JSON")
    assert (
        reasons[("stats.jsonl", "line 3")] == "total_listen_count 12 is not a non-negative integer"
    )
    assert reasons[("stats.jsonl", "line 4")].startswith(f"duplicate recording_mbid {mbids[0]}")
    assert [r["kind"] for r in log if unknown in r["reason"]] == ["unmatched"]
    assert report.top_unmatched == [{"mbid": unknown, "listens": 77}]
    with CatalogStore(archive).read() as con:
        got = dict(
            con.execute("""SELECT mbid, any_value([listen_count, user_count, popularity])
                                   FROM tracks GROUP BY mbid""").fetchall()
        )
        untouched = con.execute(
            "SELECT count(*) FROM tracks WHERE listen_count IS NULL"
        ).fetchone()[0]
        n_tracks = con.execute("SELECT count(*) FROM tracks").fetchone()[0]
        assert report.tracks_updated == n_tracks - untouched
    assert got[mbids[0]] == [1000, 1, popularity.popularity_from_listens(1000)]
    assert got[mbids[6]] == [10**9, 5000, 100]  # the MBID was upper case in the stats
    assert got[mbids[8]] == [0, 0, 0]
    assert got[mbids[9]] == [None, None, None]  # no statistics: untouched
    # The rule is monotone: more listens never give a lower score.
    scores = [popularity.popularity_from_listens(n) for n in (0, 1, 10, 1000, 10**6, 10**9, 10**12)]
    assert scores == sorted(scores) and scores[0] == 0 and scores[-1] == 100


def test_stats_need_a_catalog_and_resume(archive: Archive, tmp_path: Path) -> None:
    stats = tmp_path / "s.csv"
    stats.write_text("recording_mbid,total_listen_count\n")
    with pytest.raises(LongplayError, match="no catalog yet"):
        ingest_listenbrainz(archive, [stats])
    bad = tmp_path / "wrong.csv"
    bad.write_text("id,count\nx,1\n")
    src = tmp_path / "release.jsonl"
    src.write_bytes(orjson.dumps(Shape(seed=1, artists=2, recordings=3).release(0)) + b"\n")
    ingest_musicbrainz(archive, [src])
    with pytest.raises(LongplayError, match="needs columns recording_mbid"):
        ingest_listenbrainz(archive, [bad])
    with CatalogStore(archive).read() as con:
        mbid = con.execute("SELECT min(mbid) FROM tracks").fetchone()[0]
    good = tmp_path / "good.csv"
    good.write_text(f"recording_mbid,total_listen_count,total_user_count\n{mbid},500,20\n")
    first = ingest_listenbrainz(archive, [good])
    assert (first.matched, first.files_skipped) == (1, 0)
    with CatalogStore(archive).read() as con:
        assert con.execute(
            "SELECT DISTINCT listen_count, user_count FROM tracks WHERE mbid = ?", [mbid]
        ).fetchall() == [(500, 20)]
        assert (
            con.execute("SELECT count(*) FROM ingest_log WHERE source = 'listenbrainz'").fetchone()[
                0
            ]
            == 1
        )


def test_killed_join_resumes(
    mb_archive: tuple[Archive, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longplay.catalog.sources import listenbrainz

    archive, mbids = mb_archive
    files = []
    for i, m in enumerate(mbids[:3]):
        f = tmp_path / f"part-{i}.csv"
        f.write_text(
            f"recording_mbid,total_listen_count,total_user_count\n{m},{10 ** (i + 2)},{i}\n"
        )
        files.append(f)
    real_join = listenbrainz._join

    def killed(con):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # the process dies after staging every file, in the join

    monkeypatch.setattr(listenbrainz, "_join", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest_listenbrainz(archive, files)
    monkeypatch.setattr(listenbrainz, "_join", real_join)
    report = ingest_listenbrainz(archive, files)
    assert report.files_skipped == 3 and report.matched == 3 and report.read == 3
    with CatalogStore(archive).read() as con:
        assert [
            r[0]
            for r in con.execute(
                """SELECT DISTINCT listen_count FROM tracks WHERE mbid IN (?, ?, ?)
                                            ORDER BY 1""",
                mbids[:3],
            ).fetchall()
        ] == [100, 1000, 10000]
