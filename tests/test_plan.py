"""`longplay plan` on real catalogs: dedup, weights, exclusions, licenses, files, generations, resume."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from longplay.archive import Archive
from longplay.catalog import popularity
from longplay.catalog.sources import ingest_synthetic
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError, LongplayError
from longplay.plan import budget, exclusions
from longplay.plan.planner import make_plan
from longplay.plan.weights import virtual_size
from plancat import (
    ALBUM_MBID,
    ARTIST_MBID,
    ISRC_A,
    ISRC_B,
    ISRC_C,
    MBID_X,
    UPC,
    make_catalog,
    make_library,
    plan_rows,
    track,
    track_ids,
)

TB = 10**12


def _tracks() -> list[dict]:
    return [
        track("t1", isrc=ISRC_A, listens=1000),
        track("t2", isrc=ISRC_A, listens=500, album="Best Of", license="CC0"),
        track("t3", isrc=ISRC_B, popularity=50, license="cc-by-4.0"),  # listens unknown
        track("t4", isrc=ISRC_C, mbid=MBID_X, listens=0),
        track("t5", mbid=MBID_X, listens=0, album="Live"),  # same recording by MBID
        track(
            "t6",
            listens=10,
            artist="Bob Band",
            artist_mbid=ARTIST_MBID,
            album="Bob Album",
            upc=UPC,
            album_mbid=ALBUM_MBID,
        ),
        # The same artist key with the same MBID everywhere: ingest keeps one row per artist key.
        track(
            "t7",
            listens=3,
            artist="Cat",
            album="Tribute",
            album_artist="Bob Band",
            album_artist_mbid=ARTIST_MBID,
        ),
        track("t8", listens=7, license="cc-by-4.0", album="Free Songs"),
        track("t9", listens=2, duration_ms=None, album="Odd"),
    ]


@pytest.fixture
def hand(archive: Archive, tmp_path: Path) -> Archive:
    make_catalog(archive, _tracks(), tmp_path)
    return archive


def test_recordings_dedup_and_listen_weights(hand: Archive) -> None:
    rep = make_plan(hand, 1 * TB)
    rows = plan_rows(hand)
    assert set(rows) == {"t1", "t3", "t4", "t6", "t7", "t8", "t9"}  # 9 tracks, 7 recordings
    assert (
        rows["t1"]["listens"] == 1500
        and rows["t1"]["tracks"] == 2
        and rows["t1"]["action"] == "original"
    )
    assert (
        rows["t4"]["tracks"] == 2
        and rows["t4"]["action"] == "opus"
        and rows["t4"]["reason"] == "tail"
    )
    # Popularity only: the documented inverse mapping gives its weight.
    assert rows["t3"]["listens"] == popularity.listens_from_popularity(50) == 31_622
    assert rows["t9"]["size"] == virtual_size(None, 160_000) and rows["t9"]["path"] is None
    assert rows["t1"]["size"] == virtual_size(200_000, 160_000)
    t = rep.totals()
    assert t["files"] == 7 and t["tracks_covered"] == 9 and t["share_covered"] == 100.0
    assert t["listens"] == 1500 + 31_622 + 10 + 3 + 7 + 2
    assert t["bytes"] == sum(r["size"] for r in rows.values())


def test_isrc_dedup_keeping_one_track_covers_both(hand: Archive) -> None:
    # Budget for exactly one Opus file: the most listened recording (t3), then the next one.
    opus = virtual_size(200_000, 75_000)
    make_plan(hand, opus)
    kept = {k for k, r in plan_rows(hand).items() if r["action"] != "skip"}
    assert kept == {"t3"}
    make_plan(hand, 2 * opus)
    rows = plan_rows(hand)
    assert {k for k, r in rows.items() if r["action"] != "skip"} == {"t3", "t1"}
    assert rows["t1"]["tracks"] == 2 and rows["t1"]["listens"] == 1500  # t2 covered by t1's file


def test_exclusions(hand: Archive, tmp_path: Path) -> None:
    excl = tmp_path / "takedowns.txt"
    excl.write_text(
        "# takedowns, one a line\n"
        f"isrc:{ISRC_B}  DMCA notice 2024-03\n"
        "\n"
        f"mbid:{MBID_X.upper()} rights holder request\n"
        'artist:"Bob Band"  label request\n'
        f"album:{UPC}\tsame label, by barcode\n"
        "album:Free Songs  withdrawn\n"
        "artist:Nobody Known  matches nothing\n",
        encoding="utf-8",
    )
    rep = make_plan(hand, 1 * TB, exclusions_path=excl)
    rows = plan_rows(hand)
    skipped = {k: r["detail"] for k, r in rows.items() if r["action"] == "skip"}
    assert set(skipped) == {"t3", "t4", "t6", "t7", "t8"}  # t7: an album credited to Bob Band
    assert all(rows[k]["reason"] == "excluded" for k in skipped)
    assert skipped["t3"] == f"isrc:{ISRC_B}: DMCA notice 2024-03"
    assert skipped["t4"].startswith(f"mbid:{MBID_X}")  # both tracks of the recording
    assert skipped["t6"] == "artist:Bob Band: label request"  # the first matching line wins
    assert rows["t1"]["action"] == "original"
    matched = {e["line"]: e["recordings"] for e in rep.exclusions}
    assert matched == {2: 1, 4: 1, 5: 2, 6: 1, 7: 1, 8: 0}
    assert "line 8: artist:Nobody Known matched nothing" in rep.format()
    by_artist_mbid = tmp_path / "by-mbid.txt"
    by_artist_mbid.write_text(f"artist:{ARTIST_MBID}  takedown\nalbum:{ALBUM_MBID}  takedown\n")
    make_plan(hand, 1 * TB, exclusions_path=by_artist_mbid)
    assert {k for k, r in plan_rows(hand).items() if r["action"] == "skip"} == {"t6", "t7"}


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("isrc:USRC1760783  short", "11 characters"),
        ("mbid:not-a-uuid  x", "not a UUID"),
        ("artist:Two Words reason", "missing reason"),
        ("track:123  x", "KIND:VALUE"),
        ("isrc:USRC17607839", "missing reason"),
        ('artist:"open quote  x', "unterminated quote"),
        ("album:036000291453  bad check digit", "check digit"),
    ],
)
def test_malformed_exclusion_lines_name_file_and_line(
    tmp_path: Path, line: str, needle: str
) -> None:
    path = tmp_path / "ex.txt"
    path.write_text(f"# header\n{line}\n")
    with pytest.raises(InputError, match=rf"ex\.txt line 2: .*{needle}"):
        exclusions.parse(path)


def test_license_filters(hand: Archive) -> None:
    make_plan(hand, 1 * TB, licenses=["cc0", "CC-BY-4.0"])
    rows = plan_rows(hand)
    kept = {k: r["kept_key"] for k, r in rows.items() if r["action"] != "skip"}
    assert kept == {"t1": "t2", "t3": "t3", "t8": "t8"}  # t1's recording kept through cc0 t2
    assert {r["reason"] for k, r in rows.items() if k not in kept} == {"license"}
    make_plan(hand, 1 * TB, licenses=["cc0"], allow_unknown_license=True)
    rows = plan_rows(hand)
    assert {k for k, r in rows.items() if r["action"] == "skip"} == {"t3", "t8"}
    assert rows["t1"]["kept_key"] == "t1"  # unknown is allowed now, and t1 is the canonical track
    with pytest.raises(LongplayError, match="only makes sense with --license"):
        make_plan(hand, 1 * TB, allow_unknown_license=True)


def test_scanned_files_real_sizes_and_missing(hand: Archive) -> None:
    with pytest.raises(LongplayError, match="no scanned files"):
        make_plan(hand, 1 * TB, available_only=True)
    make_library(
        hand,
        [
            ("t2", "in/t2.ogg", 3_000_000, "vorbis", 160_000, 200_000),
            ("t1", "in/t1.mp3", 2_000_000, "mp3", 128_000, 200_000),  # lower bitrate: not the best
            ("t3", "in/t3-lo.mp3", 1_500_000, "mp3", 96_000, 200_000),
            ("t3", "in/t3.flac", 25_000_000, "flac", 1_000_000, 200_000),  # t3's best file
        ],
    )
    rep = make_plan(hand, 1 * TB)
    rows = plan_rows(hand)
    assert (
        rows["t1"]["path"] == "in/t2.ogg"
        and rows["t1"]["size"] == 3_000_000
        and not rows["t1"]["missing"]
    )
    assert rows["t3"]["path"] == "in/t3.flac" and rows["t3"]["size"] == 25_000_000
    missing = {k for k, r in rows.items() if r["missing"]}
    assert missing == {"t4", "t6", "t7", "t8", "t9"}
    assert rep.totals()["missing"]["files"] == 5
    assert "wanted but missing: 5 recordings" in rep.format()
    make_plan(hand, 1 * TB, available_only=True)
    rows = plan_rows(hand)
    assert {k for k, r in rows.items() if r["action"] != "skip"} == {"t1", "t3"}
    assert {r["reason"] for r in rows.values() if r["action"] == "skip"} == {"no_file"}


def test_a_library_without_the_expected_columns_is_a_clear_error(hand: Archive) -> None:
    import duckdb

    con = duckdb.connect(str(hand.library_path))
    con.execute("CREATE TABLE f (track_id BIGINT, path VARCHAR, size BIGINT)")
    con.execute("CREATE VIEW library_files AS SELECT * FROM f")
    con.close()
    with pytest.raises(LongplayError, match=r"lacks column.*codec, bitrate, duration_ms"):
        make_plan(hand, 1 * TB)


def test_plan_is_a_new_generation_and_reruns_are_idempotent(hand: Archive) -> None:
    store = CatalogStore(hand)
    before = store.current_name()
    first = make_plan(hand, 20 * 10**6)
    assert first.generation != before and store.current_name() == first.generation
    again = make_plan(hand, 20 * 10**6)
    assert (
        again.reused
        and again.generation == first.generation
        and store.current_name() == first.generation
    )
    other = make_plan(hand, 30 * 10**6)
    assert not other.reused and other.generation != first.generation
    with store.read() as con:
        assert (
            con.execute("SELECT count(*) FROM tracks").fetchall()[0][0] == 9
        )  # the catalog is intact
        s = con.execute(
            "SELECT sum(recordings), sum(bytes), sum(listens) FROM plan_summary"
        ).fetchall()[0]
        p = con.execute("SELECT count(*), sum(size), sum(listens) FROM plan").fetchall()[0]
        assert s == p
        assert con.execute("SELECT sum(size) FROM plan").fetchall()[0][0] <= 30 * 10**6


def test_a_plan_goes_stale_when_the_catalog_changes(hand: Archive, tmp_path: Path) -> None:
    from longplay.plan.coverage import coverage

    first = make_plan(hand, 1 * TB)
    assert coverage(hand).plan is not None
    more = tmp_path / "more"
    more.mkdir()
    make_catalog(hand, [track("u1", listens=99_999, album="New")], more)  # ingest: a new generation
    rep = coverage(hand)
    assert rep.plan is None and rep.stale_plan == first.generation and "is stale" in rep.format()
    again = make_plan(hand, 1 * TB)
    assert not again.reused and again.generation != first.generation
    assert plan_rows(hand)["u1"]["action"] == "original"


def test_killed_plan_resumes_to_the_same_plan(
    hand: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longplay.catalog.store import GenerationBuilder

    clean = Archive.init(tmp_path / "clean")
    make_catalog(clean, _tracks(), tmp_path)
    make_plan(clean, 15 * 10**6)
    expected = plan_rows(clean)

    def crash(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt  # as a kill

    store = CatalogStore(hand)
    # Killed inside the plan's transaction: nothing of it is kept, the partial generation is.
    monkeypatch.setattr(budget, "summarize", crash)
    with pytest.raises(KeyboardInterrupt):
        make_plan(hand, 15 * 10**6)
    monkeypatch.undo()
    assert store.current_name() == "gen-000001" and list(hand.catalog_dir.glob("gen-*.partial"))
    # Killed after the plan was written, before the generation was published.
    monkeypatch.setattr(GenerationBuilder, "commit", crash)
    with pytest.raises(KeyboardInterrupt):
        make_plan(hand, 15 * 10**6)
    monkeypatch.undo()
    assert store.current_name() == "gen-000001"
    rep = make_plan(hand, 15 * 10**6)
    assert rep.generation == "gen-000002" and not list(hand.catalog_dir.glob("gen-*.partial"))
    assert plan_rows(hand) == expected


def test_sigkilled_plan_command_reruns_to_the_same_plan(
    archive: Archive, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """A real `longplay plan` process killed with SIGKILL while it works, then run again."""
    import signal
    import time

    ingest_synthetic(archive, 60_000, seed=4)
    clean = Archive.init(tmp_path / "clean")
    ingest_synthetic(clean, 60_000, seed=4)
    make_plan(clean, 8 * 10**9)
    with CatalogStore(clean).read() as con:
        expected = con.execute("SELECT * FROM plan ORDER BY recording_id").fetchall()
    cmd = ["longplay", "--archive", str(archive.root), "plan", "--budget", "8GB"]
    proc = subprocess.Popen(cmd, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while (
        not list(archive.catalog_dir.glob("gen-*.partial/catalog.duckdb*"))
        and time.monotonic() < deadline
    ):
        time.sleep(0.002)
    time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert CatalogStore(archive).current_name() == "gen-000001"  # killed before it published
    subprocess.run(cmd, env=cli_env, check=True, capture_output=True)
    with CatalogStore(archive).read() as con:
        assert con.execute("SELECT * FROM plan ORDER BY recording_id").fetchall() == expected


def _reference_policy(archive: Archive, b: int) -> dict[int, str]:
    """The reference policy written the slow, obvious way: sort in Python, walk the list."""
    with CatalogStore(archive).read() as con:
        rows = con.execute("""
            SELECT recording_id, sum(coalesce(listen_count, listens_from_popularity(popularity))),
                   coalesce(max(popularity), 0), arg_max(duration_ms, is_canonical::INT * 2 - track_id / 1e19)
            FROM tracks GROUP BY recording_id""").fetchall()
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    orig = {r[0]: virtual_size(r[3], 160_000) for r in rows}
    opus = {r[0]: virtual_size(r[3], 75_000) for r in rows}
    base = sum(opus.values())
    out: dict[int, str] = {}
    if base <= b:
        spent, demote = base, False
        for rid, _listens, pop, _d in rows:
            if pop > 0 and not demote and spent + orig[rid] - opus[rid] <= b:
                out[rid], spent = "original", spent + orig[rid] - opus[rid]
            else:
                demote = demote or pop > 0
                out[rid] = "opus"
        return out
    spent, full = 0, False
    for rid, *_ in rows:
        full = full or spent + opus[rid] > b
        out[rid] = "skip" if full else "opus"
        spent += 0 if full else opus[rid]
    return out


def test_synthetic_catalog_matches_the_reference_policy(archive: Archive) -> None:
    ingest_synthetic(archive, 4000, seed=3)
    with CatalogStore(archive).read() as con:
        everything = con.execute("SELECT count(DISTINCT recording_id) FROM tracks").fetchall()[0][0]
    shares = []
    for b in (0, 700 * 10**6, 3 * 10**9, 6 * 10**9, 9 * 10**9, 10**13):
        rep = make_plan(archive, b)
        with CatalogStore(archive).read() as con:
            got = dict(con.execute("SELECT recording_id, action FROM plan").fetchall())
        assert got == _reference_policy(archive, b), b
        t = rep.totals()
        assert t["bytes"] <= b and t["recordings"] == everything
        shares.append((t["share_covered"], t["by_action"]["original"]["files"]))
    assert shares == sorted(shares)  # more budget never covers less, nor keeps fewer originals
    assert shares[0] == (0.0, 0) and shares[-1][0] == 100.0


def test_cli_plan(hand: Archive, cli_env: dict[str, str], tmp_path: Path) -> None:
    run = subprocess.run(
        ["longplay", "--archive", str(hand.root), "plan", "--budget", "15MB", "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        check=True,
    )
    data = json.loads(run.stdout)
    assert data["totals"]["bytes"] <= 15 * 10**6 and data["meta"]["options"]["budget"] == 15 * 10**6
    text = subprocess.run(
        ["longplay", "--archive", str(hand.root), "plan", "--budget", "15MB"],
        capture_output=True,
        text=True,
        env=cli_env,
        check=True,
    ).stdout
    assert "(already current)" in text and "tier" in text and "kept" in text
    bad = tmp_path / "bad.txt"
    bad.write_text("isrc:nope  reason\n")
    run = subprocess.run(
        ["longplay", "--archive", str(hand.root), "plan", "--budget", "1TB", "--exclude", str(bad)],
        capture_output=True,
        text=True,
        env=cli_env,
    )
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "bad.txt line 1" in run.stderr
    run = subprocess.run(
        ["longplay", "--archive", str(hand.root), "plan", "--budget", "lots"],
        capture_output=True,
        text=True,
        env=cli_env,
    )
    assert run.returncode == 2 and "not a size" in run.stderr
    assert track_ids(hand)  # the catalog is still readable after all that
