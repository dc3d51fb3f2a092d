"""Every long job killed (SIGKILL, whole process group) at seeded random points and rerun ends
where an uninterrupted run ends: same tables, files, info-hashes, index answers, no leftovers.

LONGPLAY_CRASH_POINTS sets the points per job (2 here, 20 in `make soak`)."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from crashpoints import Job, cli, crash_points
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat, ingest_synthetic
from longplay.pack.build import build
from longplay.plan.planner import make_plan
from longplay.testing.musicbrainz_docs import Shape
from seeding import Seeder
from torrentdata import TorrentSpec, build_mirror, random_files

SEED = 25
CLIPS = 12


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("music")
    samples.generate(out, CLIPS, seed=SEED, seconds=4.0)
    return out


def _archive(root: Path) -> Archive:
    return Archive.init(root)


def _with_samples(root: Path, music: Path) -> Archive:
    archive = _archive(root)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    return archive


def _planned(root: Path, music: Path) -> Archive:
    archive = _with_samples(root, music)
    scan(archive, [music], workers=1)
    make_plan(archive, 10**12)
    return archive


def _check(job: Job, tmp: Path) -> None:
    report = crash_points(job, tmp / "runs", SEED)
    assert report.killed == report.points, report  # every point landed mid-job


def test_ingest_synthetic(tmp_path: Path, cli_env: dict[str, str]) -> None:
    _archive(tmp_path / "t")
    env = {**cli_env, "LONGPLAY_SYNTHETIC_CHUNK_TRACKS": "500"}
    argv = lambda d: cli("--archive", str(d), "ingest", "synthetic", "--tracks", "3000")  # noqa: E731
    _check(Job("ingest synthetic", tmp_path / "t", argv, env), tmp_path)


def test_reingest_synthetic(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """The same source again into a new generation: two thirds of its tracks replaced (same
    keys, another seed), the rest kept with their links (catalog/replace.py)."""
    archive = _archive(tmp_path / "t")
    archive.toml_path.write_text("synthetic_chunk_tracks = 500\n")
    ingest_synthetic(Archive.open(tmp_path / "t"), 3000, SEED)
    env = {**cli_env, "LONGPLAY_SYNTHETIC_CHUNK_TRACKS": "500"}
    argv = lambda d: cli(  # noqa: E731
        "--archive", str(d), "ingest", "synthetic", "--tracks", "2000", "--seed", str(SEED + 1)
    )
    _check(Job("re-ingest synthetic", tmp_path / "t", argv, env), tmp_path)


MAPPING = """
[source]
name = "label"

[fields]
track_key = "id"
title = "name"
artists = "artist"
album_title = "album"
duration = "seconds"
popularity = "pop"
"""


def test_ingest_tabular(tmp_path: Path, cli_env: dict[str, str]) -> None:
    _archive(tmp_path / "t")
    inputs = tmp_path / "in"
    inputs.mkdir()
    for f in range(3):  # one resumable unit per file
        rows = ["id,name,artist,album,seconds,pop"]
        rows += [
            f"{f}-{i},Song {i} of {f},Artist {i % 97},Album {i // 11},{120 + i % 300},{i % 100}"
            for i in range(1000)
        ]
        rows.append(f"{f}-bad,,Nobody,None,ten,1")  # a reject, so the rejects path runs too
        (inputs / f"part-{f}.csv").write_text("\n".join(rows) + "\n")
    (inputs / "map.toml").write_text(MAPPING)
    files = [str(p) for p in sorted(inputs.glob("*.csv"))]
    argv = lambda d: cli(  # noqa: E731
        "--archive", str(d), "ingest", "tabular", *files, "--mapping", str(inputs / "map.toml")
    )
    _check(Job("ingest tabular", tmp_path / "t", argv, cli_env), tmp_path)


def _write_dump(path: Path, kind: str, docs: Iterator[dict[str, object]]) -> None:
    payload = b"".join(orjson.dumps(d) + b"\n" for d in docs)
    with tarfile.open(path, "w:xz", preset=0) as tar:
        for name, data in (("TIMESTAMP", b"2026-11-01\n"), (f"mbdump/{kind}", payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_ingest_musicbrainz(tmp_path: Path, cli_env: dict[str, str]) -> None:
    _archive(tmp_path / "t")
    dump = tmp_path / "dump"
    dump.mkdir()
    shape = Shape(seed=SEED, artists=100, recordings=800)
    _write_dump(dump / "release.tar.xz", "release", shape.releases(400))
    _write_dump(dump / "artist.tar.xz", "artist", shape.artist_docs())
    _write_dump(dump / "recording.tar.xz", "recording", shape.recording_docs())
    argv = lambda d: cli("--archive", str(d), "ingest", "musicbrainz", str(dump))  # noqa: E731
    _check(Job("ingest musicbrainz", tmp_path / "t", argv, cli_env), tmp_path)


def test_scan(tmp_path: Path, cli_env: dict[str, str], music: Path) -> None:
    _with_samples(tmp_path / "t", music)
    argv = lambda d: cli("--archive", str(d), "scan", str(music), "--workers", "2")  # noqa: E731
    _check(Job("scan", tmp_path / "t", argv, cli_env), tmp_path)


def test_analyze(tmp_path: Path, cli_env: dict[str, str]) -> None:
    music = tmp_path / "music"  # fewer clips: analysis decodes every second of each
    samples.generate(music, 4, seed=SEED, seconds=4.0)
    archive = _with_samples(tmp_path / "t", music)
    scan(archive, [music], workers=1)
    argv = lambda d: cli("--archive", str(d), "analyze", "--workers", "2")  # noqa: E731
    _check(Job("analyze", tmp_path / "t", argv, cli_env), tmp_path)


def test_build(tmp_path: Path, cli_env: dict[str, str], music: Path) -> None:
    _planned(tmp_path / "t", music)
    argv = lambda d: cli("--archive", str(d), "build", "--workers", "2")  # noqa: E731
    _check(Job("build", tmp_path / "t", argv, cli_env), tmp_path)


def test_pack(tmp_path: Path, cli_env: dict[str, str], music: Path) -> None:
    archive = _planned(tmp_path / "t", music)
    build(archive, workers=1)
    argv = lambda d: cli("--archive", str(d), "pack")  # noqa: E731
    _check(Job("pack", tmp_path / "t", argv, cli_env), tmp_path)


def test_index(tmp_path: Path, cli_env: dict[str, str], music: Path) -> None:
    archive = _archive(tmp_path / "t")
    ingest_synthetic(archive, 5_000, SEED)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    argv = lambda d: cli("--archive", str(d), "index", "--workers", "2")  # noqa: E731
    _check(Job("index", tmp_path / "t", argv, cli_env), tmp_path)


SPECS = [
    TorrentSpec("lp-t0-0001", random_files(31, 8, 400_000), 0, 800, (50, 90)),
    TorrentSpec("lp-t1-0001", random_files(32, 6, 300_000, "B/C"), 1, 200, (1, 49)),
]


def test_fetch(tmp_path: Path, cli_env: dict[str, str]) -> None:
    src = tmp_path / "source"
    build_mirror(src, SPECS)
    seeder = Seeder(src)
    try:
        shutil.copytree(src / "torrents", tmp_path / "t" / "torrents")
        peer = f"127.0.0.1:{seeder.port}"
        argv = lambda d: cli(  # noqa: E731
            "fetch", str(d), "--listen", "127.0.0.1:0", "--peer", peer, "--timeout", "120"
        )
        _check(Job("fetch", tmp_path / "t", argv, cli_env), tmp_path)
    finally:
        seeder.close()
