"""The command line: one clear line per error, --help with examples, real output."""

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from longplay.cli import cli

COMMANDS = [
    ["build"],
    ["pack"],
    ["coverage"],
    ["plan"],
    ["scan"],
    ["init"],
    ["settings"],
    ["gc"],
    ["stats"],
    ["synthetic"],
    ["ingest", "synthetic"],
    ["ingest", "tabular"],
    ["ingest", "flat"],
    ["export", "sqlite"],
    ["export", "parquet"],
    ["demo"],
]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longplay.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _all_commands(group=cli, prefix=()):  # type: ignore[no-untyped-def]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_every_command_has_help_with_an_example() -> None:
    seen = set()
    for path, cmd in _all_commands():
        seen.add(path)
        assert cmd.help and "Example:" in cmd.help, (
            f"`longplay {' '.join(path)}` --help has no example"
        )
    assert {tuple(c) for c in COMMANDS} <= seen


def test_errors_are_one_line_without_traceback(tmp_path: Path, cli_env: dict[str, str]) -> None:
    r = run(cli_env, "--archive", str(tmp_path / "nope"), "stats")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "not a Longplay archive" in r.stderr
    run(cli_env, "init", str(tmp_path / "a"))
    (tmp_path / "a" / "longplay.toml").write_text("torrent_version = 2\n")
    r = run(cli_env, "--archive", str(tmp_path / "a"), "settings")
    assert (
        r.returncode == 1
        and "setting 'torrent_version'" in r.stderr
        and "Traceback" not in r.stderr
    )
    r = run(cli_env, "--archive", str(tmp_path / "a"), "--debug", "settings")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_ingest_stats_export_through_the_cli(tmp_path: Path, cli_env: dict[str, str]) -> None:
    a = str(tmp_path / "a")
    assert run(cli_env, "init", a).returncode == 0
    r = run(cli_env, "--archive", a, "ingest", "synthetic", "--tracks", "1500", "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert "synthetic: read 1,500 = kept 1,500 + rejected 0" in r.stdout
    r = run(cli_env, "--archive", a, "stats", "--json")
    s = json.loads(r.stdout)
    assert s["tracks"] == 1500 and 0.69 < s["unique_isrcs"] / 1500 < 0.77
    assert sum(h["tracks"] for h in s["popularity_histogram"]) == 1500
    text = run(cli_env, "--archive", a, "stats").stdout
    assert "unique isrcs" in text and "popularity" in text
    r = run(cli_env, "--archive", a, "export", "parquet", str(tmp_path / "pq"))
    assert r.returncode == 0 and (tmp_path / "pq" / "tracks.parquet").exists()
    r = run({**cli_env, "LONGPLAY_ARCHIVE": a}, "gc", "--keep", "1")
    assert r.returncode == 0 and "removed 0 generation(s)" in r.stdout


@pytest.mark.parametrize("env_value", ["v1", "hybrid"])
def test_settings_lists_every_setting_with_origin(
    tmp_path: Path, cli_env: dict[str, str], env_value: str
) -> None:
    from longplay.settings import SETTINGS

    run(cli_env, "init", str(tmp_path / "a"))
    r = run(
        {**cli_env, "LONGPLAY_TORRENT_VERSION": env_value},
        "--archive",
        str(tmp_path / "a"),
        "settings",
    )
    assert r.returncode == 0
    for s in SETTINGS:
        assert f"{s.name} = " in r.stdout
    assert f"torrent_version = '{env_value}'   [$LONGPLAY_TORRENT_VERSION]" in r.stdout


def test_demo_runs_the_archive_half_end_to_end(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = tmp_path / "demo"
    r = run(cli_env, "demo", str(out), "--tracks", "3000", "--clips", "10", "--no-serve")
    assert r.returncode == 0, r.stderr
    for step in (
        "ingest synthetic",
        "scan",
        "coverage",
        "plan --budget",
        "build",
        "pack",
        "mirror verify",
    ):
        assert f"$ longplay --archive {out} {step}" in r.stdout
    assert "read 3,000 = kept 3,000 + rejected 0" in r.stdout
    assert "matched against catalog generation 2: isrc 10" in r.stdout
    assert ": all well" in r.stdout
    listing = json.loads((out / "torrents" / "torrents.json").read_text())
    assert sum(t["file_count"] for t in listing["torrents"] if not t["is_metadata"]) == 10
    assert (out / "coverage.png").stat().st_size > 10_000
    again = run(cli_env, "demo", str(out), "--no-serve")
    assert again.returncode == 1 and "is not empty" in again.stderr
