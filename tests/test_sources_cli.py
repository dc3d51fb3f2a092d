"""The real `longplay` command end to end: MusicBrainz dump, ListenBrainz stats, dedup, rebuild."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from longplay.testing.musicbrainz_docs import Shape
from test_musicbrainz import lines, write_archive


def run(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(["longplay", *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cli_musicbrainz_listenbrainz_dedup_export(tmp_path: Path, cli_env: dict[str, str]) -> None:
    arch = tmp_path / "archive"
    shape = Shape(seed=31, artists=8, recordings=25)
    releases = list(shape.releases(20))
    dump = write_archive(tmp_path / "release.tar.xz", "release", lines(releases))
    env = {**cli_env, "LONGPLAY_ARCHIVE": str(arch)}
    run(env, "init", str(arch))
    out = run(env, "ingest", "musicbrainz", str(dump))
    assert "release documents: read 20 = kept 20 + rejected 0" in out
    mbid = releases[0]["media"][0]["tracks"][0]["recording"]["id"]
    stats = tmp_path / "stats.csv"
    stats.write_text(f"recording_mbid,total_listen_count,total_user_count\n{mbid},12345,67\n")
    assert "matched 1 + unmatched 0 + rejected 0" in run(env, "ingest", "listenbrainz", str(stats))
    report = orjson.loads(run(env, "dedup", "--json", "--top", "3"))
    assert (
        report["generation"] == "gen-000003"
        and report["tracks"] == report["canonical_tracks"] + report["redundant_tracks"]
    )
    assert report["groups"] == len(
        {t["recording"]["id"] for r in releases for m in r["media"] for t in m["tracks"]}
    )
    target = tmp_path / "rebuilt.jsonl"
    assert "wrote 20 musicbrainz records" in run(
        env, "export", "source-records", "--source", "musicbrainz", str(target)
    )
    assert {d["id"]: d for d in map(orjson.loads, target.read_bytes().splitlines())} == {
        r["id"]: r for r in releases
    }
    bad = subprocess.run(
        ["longplay", "ingest", "musicbrainz", str(tmp_path / "nothing.jsonl")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "nothing.jsonl: no such file or directory" in bad.stderr
