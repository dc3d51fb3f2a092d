"""Disk full (a real, small tmpfs) and permission denied (a non-root user) during long jobs:
one clear line naming what could not be written, then a rerun with space (or rights) back ends
identical to an uninterrupted run.

ENOSPC is real: the archive lives on a tmpfs mounted for the test, too small for the job, then
remounted larger. EACCES is real too: tests run as root, which ignores modes, so the job runs as
root without the capabilities that override them (setpriv drops them from its bounding set,
which its workers inherit) on an archive with one directory owned by `nobody`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
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


# Root with these gone is refused by file modes like anyone else. (Running as `nobody` instead
# would not do: it cannot run this interpreter, kept under /root, to start workers.)
_OVERRIDES = "-dac_override,-dac_read_search,-fowner"


def _run(
    argv: list[str], env: dict[str, str], modes_apply: bool = False
) -> subprocess.CompletedProcess[str]:
    if modes_apply:
        argv = ["setpriv", f"--bounding-set={_OVERRIDES}", *argv]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def _full_then_resumed(
    template: Path,
    argv: Callable[[Path], list[str]],
    env: dict[str, str],
    tmp: Path,
    mount: Callable[[int], Path],
) -> str:
    """Reference run on the real disk; the same job on a tmpfs too small for it; rerun after
    the tmpfs grows; both end states equal. The one line names what could not be written."""
    ref = tmp / "reference"
    shutil.copytree(template, ref)
    done = _run(argv(ref), env)
    assert done.returncode == 0, done.stderr[-2000:]
    want = fingerprint(ref)
    grown = _size(ref) - _size(template)
    disk = mount(_size(template) + grown // 2 + 64 * 1024)
    root = disk / "archive"
    shutil.copytree(template, root)
    line = _one_clear_line(_run(argv(root), env), "No space left on device", f"{root}/")
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


def _planned(tmp_path: Path, seed: int, clips: int = 8) -> Archive:
    """An archive at tmp_path/t with scanned clips and a plan to keep them all."""
    music = tmp_path / "music"
    samples.generate(music, clips, seed=seed, seconds=4.0)
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
    # The first write to fail may be SQLite's, which names no file of its own accord.
    line = _full_then_resumed(tmp_path / "t", argv, cli_env, tmp_path, tmpfs)
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


@pytest.fixture
def modes_apply() -> None:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run a job that file modes refuse")


def _denied_then_resumed(
    tmp: Path, argv: Callable[[Path], list[str]], env: dict[str, str], denied: str
) -> str:
    """Reference run; the same job with ``denied`` (a directory of the archive) not the job's
    to write; rerun once it is; both end states equal."""
    ref, root = tmp / "reference", tmp / "archive"
    shutil.copytree(tmp / "t", ref, symlinks=True)
    shutil.copytree(tmp / "t", root, symlinks=True)
    done = _run(argv(ref), env, modes_apply=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (root / denied).mkdir(exist_ok=True)
    os.chown(root / denied, 65534, 65534)
    os.chmod(root / denied, 0o755)
    said = _run(argv(root), env, modes_apply=True)
    line = _one_clear_line(said, "Permission denied", f"{root / denied}")
    os.chown(root / denied, 0, 0)  # rights return
    done = _run(argv(root), env, modes_apply=True)
    assert done.returncode == 0, done.stderr[-2000:]
    got, want = fingerprint(root), fingerprint(ref)
    assert got == want, diff(want, got)
    return line


@pytest.mark.usefixtures("modes_apply")
def test_ingest_without_write_permission_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    Archive.init(tmp_path / "t")
    argv = lambda d: cli("--archive", str(d), "ingest", "synthetic", "--tracks", "2000")  # noqa: E731
    print(_denied_then_resumed(tmp_path, argv, cli_env, "catalog"))


@pytest.mark.usefixtures("modes_apply")
def test_build_without_write_permission_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    _planned(tmp_path, seed=5, clips=4)
    argv = lambda d: cli("--archive", str(d), "build", "--workers", "2")  # noqa: E731
    print(_denied_then_resumed(tmp_path, argv, cli_env, "build"))


@pytest.mark.usefixtures("modes_apply")
def test_pack_without_write_permission_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    archive = _planned(tmp_path, seed=6, clips=4)
    assert cli_run(archive.root, "build", "--workers", "2", env=cli_env).returncode == 0
    argv = lambda d: cli("--archive", str(d), "pack")  # noqa: E731
    print(_denied_then_resumed(tmp_path, argv, cli_env, "torrents"))


@pytest.mark.usefixtures("modes_apply")
def test_fetch_without_write_permission_stops_clearly_and_resumes(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    from seeding import Seeder
    from torrentdata import TorrentSpec, build_mirror, random_files

    src = tmp_path / "source"
    build_mirror(src, [TorrentSpec("lp-t0-0001", random_files(43, 4, 200_000), 0, 800, (1, 90))])
    seeder = Seeder(src)
    try:
        shutil.copytree(src / "torrents", tmp_path / "t" / "torrents")
        peer = f"127.0.0.1:{seeder.port}"
        argv = lambda d: cli(  # noqa: E731
            "fetch", str(d), "--listen", "127.0.0.1:0", "--peer", peer, "--timeout", "60"
        )
        print(_denied_then_resumed(tmp_path, argv, cli_env, "files"))
    finally:
        seeder.close()


def test_a_full_disk_under_a_sqlite_release_is_named(
    tmp_path: Path, tmpfs: Callable[[int], Path]
) -> None:
    """SQLite says only "database or disk is full"; the error names the database."""
    from longplay.catalog.export import export_sqlite
    from longplay.catalog.sources import ingest_synthetic
    from longplay.catalog.store import CatalogStore
    from longplay.errors import DiskError

    archive = Archive.init(tmp_path / "a")
    ingest_synthetic(archive, 2000, seed=1)
    out = tmpfs(128 << 10) / "catalog.sqlite"
    with pytest.raises(DiskError) as refused:
        export_sqlite(CatalogStore(archive), out)
    assert str(refused.value) == f"cannot write {out}: No space left on device"
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)


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
