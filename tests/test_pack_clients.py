"""Packed torrents read by real clients (issue: "real clients read it").

Hybrid torrents go into a headless qbittorrent-nox, which must report the same info-hashes and
file list; with torrent_version = "v1", every torrent must also pass transmission-show and
aria2c --show-files (both cannot use hybrids, measured on this Debian 12 machine).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clients import QBittorrent, aria2_show_files, transmission_show
from longplay.pack.listing import read_listing, read_manifest
from packfixtures import clips, packed_archive

pytestmark = pytest.mark.clients


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clips(tmp_path_factory.mktemp("music"))


def _expected(archive_torrents: Path, entry) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    if entry.manifest:
        return sorted(
            (f"{entry.name}/{r.path}", r.size)
            for r in read_manifest(archive_torrents / entry.manifest)
        )
    return []


def test_packed_hybrids_load_in_qbittorrent(music: Path, tmp_path: Path) -> None:
    archive, _ = packed_archive(tmp_path / "archive", music, version="hybrid")
    listing = read_listing(archive.torrents_dir / "torrents.json")
    with QBittorrent(tmp_path / "qbt") as qbt:
        for e in listing.torrents:
            qbt.add_torrent(
                (archive.torrents_dir / e.file).read_bytes(), tmp_path / "empty", paused="true"
            )
            t = qbt.torrent(e.info_hash_v1)
            assert (t["infohash_v1"], t["infohash_v2"]) == (e.info_hash_v1, e.info_hash_v2)
            got = sorted((f["name"], f["size"]) for f in qbt.files(t["hash"]))
            if e.is_metadata:
                assert len(got) == e.file_count and sum(s for _, s in got) == e.data_size
            else:
                assert got == _expected(archive.torrents_dir, e)


def test_packed_v1_torrents_pass_transmission_and_aria2(music: Path, tmp_path: Path) -> None:
    archive, _ = packed_archive(tmp_path / "archive", music, version="v1")
    listing = read_listing(archive.torrents_dir / "torrents.json")
    assert all(e.info_hash_v2 is None for e in listing.torrents)
    for e in listing.torrents:
        torrent = archive.torrents_dir / e.file
        shown = transmission_show(torrent)
        assert shown.returncode == 0, shown.stderr
        assert e.info_hash_v1 in shown.stdout.lower()
        files = aria2_show_files(torrent)
        assert files.returncode == 0, files.stdout + files.stderr
        assert e.info_hash_v1 in files.stdout.lower()
        for path, _size in _expected(archive.torrents_dir, e):
            assert path.split("/")[-1] in shown.stdout and path in files.stdout
