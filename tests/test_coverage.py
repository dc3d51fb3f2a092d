"""`longplay coverage`: shares of listens against files and bytes kept, ISRC dedup, and the PNG plot."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from longplay.archive import Archive
from longplay.catalog.sources import ingest_synthetic
from longplay.plan.coverage import coverage
from longplay.plan.planner import make_plan
from longplay.plan.weights import virtual_size
from plancat import ISRC_A, make_catalog, make_library, track


def test_hand_made_coverage(archive: Archive, tmp_path: Path) -> None:
    """Listens 60 (two tracks of one ISRC: 40 + 20), 30, 10, 0: every figure by hand."""
    make_catalog(
        archive,
        [
            track("a1", isrc=ISRC_A, listens=40),
            track("a2", isrc=ISRC_A, listens=20, album="Hits", duration_ms=100_000),
            track("b", listens=30, duration_ms=300_000),
            track("c", listens=10, duration_ms=60_000),
            track("d", listens=0),
        ],
        tmp_path,
    )
    rep = coverage(archive)
    assert (rep.tracks, rep.recordings, rep.listens, rep.recordings_with_listens) == (5, 4, 100, 3)
    pts = {p["files"]: p for p in rep.curve}
    assert [pts[n]["listens"] for n in (1, 2, 3, 4)] == [60, 90, 100, 100]
    o, p = (lambda ms: virtual_size(ms, 160_000)), (lambda ms: virtual_size(ms, 75_000))
    # The recording's canonical track is the most listened one, a1 (200 s).
    assert pts[2]["bytes_original"] == o(200_000) + o(300_000)
    assert pts[4]["bytes_original"] == o(200_000) + o(300_000) + o(60_000) + o(200_000)
    assert pts[4]["bytes_mix"] == o(200_000) + o(300_000) + o(60_000) + p(
        200_000
    )  # d: popularity 0
    needed = {n["target"]: n["files"] for n in rep.needed}
    assert needed == {50.0: 1, 90.0: 2, 99.0: 3, 99.6: 3, 99.9: 3, 100.0: 3}
    assert [t["files"] for t in rep.top] == [4]
    text = rep.format()
    assert "top             4 files cover  100.000% of listens" in text
    assert " 90.00% of listens need             2 files" in text
    assert "5 tracks, 4 recordings" in text


def test_coverage_uses_scanned_file_sizes(archive: Archive, tmp_path: Path) -> None:
    make_catalog(
        archive, [track("a", listens=50), track("b", listens=20), track("c", listens=5)], tmp_path
    )
    make_library(
        archive,
        [
            ("a", "a.flac", 30_000_000, "flac", 1_000_000, 200_000),
            ("c", "c.opus", 1_000_000, "opus", 40_000, 200_000),
        ],
    )
    rep = coverage(archive)
    assert rep.recordings_with_files == 2
    pts = {p["files"]: p for p in rep.curve}
    assert pts[1]["bytes_original"] == 30_000_000
    assert pts[2]["bytes_original"] == 30_000_000 + virtual_size(200_000, 160_000)
    assert pts[3]["bytes_original"] == pts[2]["bytes_original"] + 1_000_000
    assert "scanned files for 2 recordings" in rep.format()


def test_synthetic_coverage_curve_and_plan_point(archive: Archive, tmp_path: Path) -> None:
    ingest_synthetic(archive, 20_000, seed=5)
    plan = make_plan(archive, 5 * 10**9)
    rep = coverage(archive, png=tmp_path / "out" / "coverage.png")
    files = [p["files"] for p in rep.curve]
    listens = [p["listens"] for p in rep.curve]
    assert files == sorted(set(files)) and files[0] == 1 and files[-1] == rep.recordings
    assert listens == sorted(listens) and listens[-1] == rep.listens
    # Ranked by listens, each extra file adds no more than the one before: the curve is concave.
    gains = np.diff(listens) / np.diff(files)
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(gains))
    assert [t["files"] for t in rep.top][:3] == [10, 30, 100]
    assert rep.needed[-1]["files"] == rep.recordings_with_listens
    assert all(p["bytes_mix"] <= p["bytes_original"] for p in rep.curve)
    # No plan covers more than the same number of most-listened files (the curve bounds it).
    assert rep.plan is not None and rep.plan["files"] == plan.totals()["files"]
    assert rep.plan["listens"] <= next(
        p["listens"] for p in rep.curve if p["files"] >= rep.plan["files"]
    )

    png = tmp_path / "out" / "coverage.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg

    img = mpimg.imread(png)
    h, w = img.shape[:2]
    assert 400 <= h <= 1200 and 800 <= w <= 2000
    assert img[..., :3].std() > 0.05  # not a blank canvas: lines, labels, ticks


def test_cli_coverage(archive: Archive, cli_env: dict[str, str], tmp_path: Path) -> None:
    ingest_synthetic(archive, 3000, seed=2)
    run = subprocess.run(
        ["longplay", "--archive", str(archive.root), "coverage", "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        check=True,
    )
    data = json.loads(run.stdout)
    assert data["recordings"] > 0 and data["plan"] is None and data["needed"][-1]["target"] == 100.0
    png = tmp_path / "c.png"
    run = subprocess.run(
        ["longplay", "--archive", str(archive.root), "coverage", "--png", str(png)],
        capture_output=True,
        text=True,
        env=cli_env,
        check=True,
    )
    assert "of listens need" in run.stdout and png.stat().st_size > 10_000


def test_empty_archive_is_a_clear_error(archive: Archive) -> None:
    from longplay.errors import LongplayError

    with pytest.raises(LongplayError, match="no catalog yet"):
        coverage(archive)
