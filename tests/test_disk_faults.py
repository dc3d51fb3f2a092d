"""Disk full (a real, small tmpfs) and permission denied (a non-root user) during long jobs:
one clear line naming what could not be written, then a rerun with space (or rights) back ends
identical to an uninterrupted run.

ENOSPC is real: the archive lives on a tmpfs mounted for the test, too small for the job, then
remounted larger. EACCES is real too: tests run as root, which ignores modes, so the job runs
as `nobody` (setpriv) on an archive whose catalog directory it does not own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crashpoints import cli, diff, fingerprint
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat
from longplay.plan.planner import make_plan


def _mount(where: Path, size: int) -> None:
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    where = tmp_path / "disk"
    where.mkdir()
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        if mounted:
            subprocess.run(
                ["mount", "-o", f"remount,size={size}", str(where)], check=True, capture_output=True
            )
        else:
            try:
                _mount(where, size)
            except (subprocess.CalledProcessError, FileNotFoundError) as exc:
                pytest.skip(f"cannot mount a tmpfs here: {exc}")
            mounted.append(where)
        return where

    yield mount
    if mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _size(root: Path) -> int:
    """Bytes the tree takes, each file once (pack hard-links built files into files/)."""
    seen = {(st.st_ino, st.st_size) for p in root.rglob("*") if p.is_file() for st in [p.stat()]}
    return sum(size for _, size in seen)


def _one_clear_line(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [x for x in done.stderr.splitlines() if x.startswith("longplay: ")]
    assert len(errors) == 1 and errors[0].startswith("longplay: error: "), done.stderr[-2000:]
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


def _run(
    argv: list[str], env: dict[str, str], user: str | None = None
) -> subprocess.CompletedProcess[str]:
    if user:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def _full_then_resumed(
    template: Path,
    argv: Callable[[Path], list[str]],
    env: dict[str, str],
    tmp: Path,
    mount: Callable[[int], Path],
    says: str = "No space left on device",
) -> str:
    """Reference run on the real disk; the same job on a tmpfs too small for it; rerun after
    the tmpfs grows; both end states equal."""
    ref = tmp / "reference"
    shutil.copytree(template, ref)
    done = _run(argv(ref), env)
    assert done.returncode == 0, done.stderr[-2000:]
    want = fingerprint(ref)
    grown = _size(ref) - _size(template)
    disk = mount(_size(template) + grown // 2 + 64 * 1024)
    root = disk / "archive"
    shutil.copytree(template, root)
    line = _one_clear_line(_run(argv(root), env), says)
    mount(4 * _size(ref) + 16 * 2**20)  # space returns
    done = _run(argv(root), env)
    assert done.returncode == 0, done.stderr[-2000:]
    got = fingerprint(root)
    assert got == want, diff(want, got)
    return line


def test_ingest_on_a_full_disk_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str], tmpfs: Callable[[int], Path]
) -> None:
    Archive.init(tmp_path / "t")
    env = {**cli_env, "LONGPLAY_SYNTHETIC_CHUNK_TRACKS": "1000", "LONGPLAY_DUCKDB_THREADS": "1"}
    argv = lambda d: cli("--archive", str(d), "ingest", "synthetic", "--tracks", "6000")  # noqa: E731
    line = _full_then_resumed(tmp_path / "t", argv, env, tmp_path, tmpfs)
    print(line)


def _planned(tmp_path: Path, seed: int) -> Archive:
    """An archive at tmp_path/t with 8 scanned clips and a plan to keep them all."""
    music = tmp_path / "music"
    samples.generate(music, 8, seed=seed, seconds=4.0)
    archive = Archive.init(tmp_path / "t")
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=1)
    make_plan(archive, 10**12)
    return archive


def test_build_on_a_full_disk_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str], tmpfs: Callable[[int], Path]
) -> None:
    _planned(tmp_path, seed=3)
    argv = lambda d: cli("--archive", str(d), "build", "--workers", "2")  # noqa: E731
    line = _full_then_resumed(tmp_path / "t", argv, cli_env, tmp_path, tmpfs)
    print(line)


def test_pack_on_a_full_disk_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str], tmpfs: Callable[[int], Path]
) -> None:
    archive = _planned(tmp_path, seed=4)
    assert cli_run(archive.root, "build", "--workers", "2", env=cli_env).returncode == 0
    argv = lambda d: cli("--archive", str(d), "pack")  # noqa: E731
    # The first write to fail is a SQLite file's, and SQLite says it in its own words.
    line = _full_then_resumed(tmp_path / "t", argv, cli_env, tmp_path, tmpfs, "disk is full")
    print(line)


def test_fetch_on_a_full_disk_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str], tmpfs: Callable[[int], Path]
) -> None:
    from seeding import Seeder
    from torrentdata import TorrentSpec, build_mirror, random_files

    src = tmp_path / "source"
    build_mirror(src, [TorrentSpec("lp-t0-0001", random_files(41, 8, 400_000), 0, 800, (1, 90))])
    seeder = Seeder(src)
    try:
        shutil.copytree(src / "torrents", tmp_path / "t" / "torrents")
        peer = f"127.0.0.1:{seeder.port}"
        argv = lambda d: cli(  # noqa: E731
            "fetch", str(d), "--listen", "127.0.0.1:0", "--peer", peer, "--timeout", "60"
        )
        print(_full_then_resumed(tmp_path / "t", argv, cli_env, tmp_path, tmpfs))
    finally:
        seeder.close()


def cli_run(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(cli("--archive", str(root), *args), env)


def test_ingest_without_write_permission_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run the job as another user")
    base = Path(tempfile.mkdtemp(prefix="longplay-perm-", dir="/tmp"))  # pytest's is root-only
    os.chmod(base, 0o755)
    try:
        _permission_case(base, cli_env)
    finally:
        shutil.rmtree(base)


def _permission_case(base: Path, cli_env: dict[str, str]) -> None:
    ref, root = Archive.init(base / "reference"), Archive.init(base / "archive")
    argv = lambda d: cli("--archive", str(d), "ingest", "synthetic", "--tracks", "2000")  # noqa: E731
    for a in (ref, root):
        subprocess.run(["chown", "-R", "65534:65534", str(a.root)], check=True)
    assert _run(argv(ref.root), cli_env, "nobody").returncode == 0
    subprocess.run(["chown", "root:root", str(root.root / "catalog")], check=True)
    os.chmod(root.root / "catalog", 0o755)
    _one_clear_line(_run(argv(root.root), cli_env, "nobody"), "Permission denied", "catalog")
    subprocess.run(["chown", "-R", "65534:65534", str(root.root)], check=True)
    done = _run(argv(root.root), cli_env, "nobody")
    assert done.returncode == 0, done.stderr[-2000:]
    assert fingerprint(root.root) == fingerprint(ref.root)


def test_the_server_keeps_serving_reads_when_its_state_disk_is_full(
    tmpfs: Callable[[int], Path],
) -> None:
    """A full disk under state.sqlite: browsing and search still answer, a star is refused
    with a clear message, and the failure is logged and counted in /metrics."""
    from starlette.testclient import TestClient

    from longplay.catalog.sources import ingest_synthetic
    from longplay.server.accounts import add_user
    from longplay.server.app import create_app

    archive = Archive.init(tmpfs(64 << 20) / "archive")
    archive.toml_path.write_text("metrics = true\n")
    archive = Archive.open(archive.root)
    ingest_synthetic(archive, 300, seed=3)
    add_user(archive, "ann", "secret")
    auth = {"u": "ann", "p": "secret", "v": "1.16.1", "c": "t", "f": "json"}
    with TestClient(create_app(archive)) as client:

        def call(name: str, **params: str) -> dict:
            body = client.get(f"/rest/{name}", params={**auth, **params}).json()
            return body["subsonic-response"]

        albums = call("getAlbumList2", type="alphabeticalByName", musicFolderId="2")
        album_id = albums["albumList2"]["album"][0]["id"]
        assert call("star", albumId=album_id)["status"] == "ok"
        # Fill the disk to the last byte.
        with open(archive.root / "filler", "wb") as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * (1 << 20))
                filler.flush()
        assert call("getAlbum", id=album_id)["status"] == "ok"
        assert call("search3", query="a", musicFolderId="2")["status"] == "ok"
        assert call("getStarred2")["starred2"]["album"][0]["id"] == album_id
        refused = call("star", albumId=albums["albumList2"]["album"][1]["id"])
        assert refused["status"] == "failed"
        assert "state disk is full or read-only" in refused["error"]["message"]
        assert str(archive.root) not in refused["error"]["message"]
        metrics = client.get("/metrics").text
        assert "longplay_state_write_failures_total 1" in metrics
