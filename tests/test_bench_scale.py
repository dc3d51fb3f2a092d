"""bench/scale.py: its growth fit, and a real two-size run of three stages in child processes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import scale  # noqa: E402  (bench/ is not a package)


def test_fit_recovers_slopes_and_names_growth() -> None:
    xs = [1e6, 3e6, 1e7]
    assert scale.fit(xs, [2 * x for x in xs]) == pytest.approx(1.0)
    assert scale.fit(xs, [x**2 for x in xs]) == pytest.approx(2.0)
    nl = scale.nlogn_slope(1e6, 1e7)
    assert scale.fit(xs, [x * math.log(x) for x in xs]) == pytest.approx(nl, abs=0.005)
    assert 1.05 < nl < 1.1
    assert scale.growth(1.0, nl) == "~n"
    assert scale.growth(nl, nl) == "~n log n"
    assert scale.growth(1.3, nl) == "WORSE than n log n"
    assert scale.growth(0.1, nl) == "flat"
    assert scale.growth(0.7, nl) == "sublin."


@pytest.mark.slow  # six child processes: ~20 s on an idle machine, minutes on a loaded one
def test_two_sizes_three_stages(tmp_path: Path) -> None:
    results = tmp_path / "scale.json"
    args = ["--sizes", "2000,6000", "--stages", "ingest,plan,pack", "--dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(BENCH / "scale.py"), *args, "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    assert sorted(data) == ["2000", "6000"]
    for n, row in data.items():
        assert sorted(row) == ["ingest", "pack", "plan"]
        assert row["ingest"]["kept"] == int(n)
        assert row["ingest"]["bytes"] > 0
        assert 0 < row["pack"]["files"] <= int(n)  # the plan's kept files, placed by size
        assert row["pack"]["torrents"] >= 1
        for st in row.values():
            assert st["cpu"] > 0 and st["peak_rss"] > 2**20 and st["wall"] > 0
    assert "ingest" in done.stdout and "slope" in done.stdout
    assert results.with_suffix(".png").stat().st_size > 1000
    assert not (tmp_path / "archive-2000").exists()  # removed once measured (no --keep)
