"""`mirror plan`: the choice under a budget, by coverage or by fewest seeders."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from longplay.cli import cli
from longplay.errors import InputError
from longplay.mirror.choose import choose, plan_mirror, read_choice, read_stats
from longplay.pack.listing import Listing
from torrentdata import entry

TOTAL = 10_000
LISTING = Listing(
    "longplay",
    "2026-01-01T00:00:00Z",
    (
        entry("head", 100, 6000, 0, TOTAL),  # 60 listens/byte
        entry("mid", 400, 3000, 1, TOTAL),  # 7.5
        entry("tail", 1000, 900, 2, TOTAL),  # 0.9
        entry("tiny", 10, 100, 3, TOTAL),  # 10
    ),
)


def _names(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.name for t in plan.chosen]


def test_coverage_takes_densest_first_and_fills_the_rest() -> None:
    assert _names(choose(LISTING, 110)) == ["head", "tiny"]
    plan = choose(LISTING, 600)  # tail (1000) never fits; mid does after head and tiny
    assert _names(plan) == ["head", "tiny", "mid"]
    assert plan.size == 510
    assert plan.listens_share == pytest.approx(0.91)
    assert _names(choose(LISTING, 0)) == []
    assert _names(choose(LISTING, 10**12)) == ["head", "tiny", "mid", "tail"]


def test_metadata_torrent_comes_first() -> None:
    meta = replace(entry("meta", 50, 0, 0, TOTAL), is_metadata=True)
    listing = replace(LISTING, torrents=(*LISTING.torrents, meta))
    assert _names(choose(listing, 160)) == ["meta", "head", "tiny"]


def test_least_seeded_first(tmp_path: Path) -> None:
    by = {t.name: t for t in LISTING.torrents}
    stats_file = tmp_path / "stats.json"
    stats_file.write_bytes(
        orjson.dumps(
            {
                by["head"].info_hash_v1: {"seeders": 50, "leechers": 3, "completed": 900},
                by["mid"].info_hash_v2: {
                    "seeders": 2,
                    "leechers": 0,
                    "completed": 10,
                },  # v2 key works
                by["tail"].info_hash_v1.upper(): {"seeders": 1, "leechers": 9, "completed": 4},
            }
        )
    )  # "tiny" is unknown: nobody reported seeding it, so it counts as 0 seeders
    stats = read_stats(stats_file)
    assert _names(choose(LISTING, 10**6, "least-seeded", stats)) == ["tiny", "tail", "mid", "head"]
    assert _names(choose(LISTING, 510, "least-seeded", stats)) == ["tiny", "mid", "head"]
    with pytest.raises(InputError, match="needs --stats"):
        choose(LISTING, 100, "least-seeded")


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (b"[]", "expected an object"),
        (b'{"zz": {}}', "not a hex info-hash"),
        (b'{"' + b"a" * 40 + b'": {"seeders": -1}}', "expected a count"),
        (b"{", "not valid JSON"),
    ],
)
def test_bad_stats_refused(tmp_path: Path, doc: bytes, reason: str) -> None:
    p = tmp_path / "s.json"
    p.write_bytes(doc)
    with pytest.raises(InputError, match=reason):
        read_stats(p)


def test_plan_stored_and_cli_output(tmp_path: Path) -> None:
    src = tmp_path / "elsewhere" / "torrents.json"
    src.parent.mkdir()
    src.write_bytes(LISTING.to_json())
    mirror = tmp_path / "mirror"
    result = CliRunner().invoke(
        cli,
        ["--archive", str(mirror), "mirror", "plan", "--torrents", str(src), "--budget", "600B"],
    )
    assert result.exit_code == 0, result.output
    assert (
        "chose 3 torrent(s): 510 B (510 bytes) of a 600 B budget, covering 91.00% of listens"
        in result.output
    )
    assert "head" in result.output and "tail" not in result.output
    choice = read_choice(mirror)
    assert choice is not None
    assert choice.names == ("head", "tiny", "mid")
    assert choice.torrents_json == src.resolve()
    bad = CliRunner().invoke(
        cli,
        ["--archive", str(mirror), "mirror", "plan", "--torrents", str(src), "--budget", "lots"],
    )
    assert bad.exit_code == 2 and "not a size" in bad.output


def test_plan_rerun_replaces_choice(tmp_path: Path) -> None:
    (tmp_path / "torrents").mkdir()
    (tmp_path / "torrents" / "torrents.json").write_bytes(LISTING.to_json())
    plan_mirror(tmp_path, None, 10**6)
    plan_mirror(tmp_path, None, 100)
    assert read_choice(tmp_path).names == ("head",)  # type: ignore[union-attr]
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    tmp_path.rename(moved)  # the listing path is stored relative to the mirror directory
    choice = read_choice(moved)
    assert choice is not None and choice.torrents_json == moved / "torrents" / "torrents.json"
