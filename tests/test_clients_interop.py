"""Real clients on loopback: qbittorrent-nox with hybrid torrents, aria2c and transmission on v1.

Measured on Debian 12 (see the mirror report): transmission-show 3.00 cannot parse hybrid
torrents and aria2c 1.36 computes a wrong v1 info-hash for them, so those two are tested with
``torrent_version = "v1"`` torrents only.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import libtorrent as lt
import pytest

from clients import (
    Aria2,
    OpenTracker,
    QBittorrent,
    aria2_show_files,
    need,
    qbt_has_all,
    transmission_show,
)
from longplay.mirror.safety import read_torrent
from longplay.mirror.session import run_session
from longplay.mirror.verify import verify_mirror
from longplay.pack.listing import Listing
from seeding import LOOP, Seeder
from torrentdata import TorrentSpec, build_mirror, random_files

pytestmark = pytest.mark.clients

SPECS = [
    TorrentSpec("lp-t0-0001", random_files(31, 6, 150_000), 0, 900, (40, 90)),
    TorrentSpec(
        "lp-t1-0001",
        {
            "Solo/Only Track.ogg": random_files(32, 1, 70_000)["Artist/Album/01 Track 1.ogg"],
            "Solo/Cover.jpg": b"\xff\xd8" + b"j" * 5000,
            "Solo/Notes/empty.txt": b"",
        },
        1,
        100,
        (1, 39),
    ),
]


def _expected_files(listing: Listing, src: Path) -> dict[str, list[tuple[str, int]]]:
    out = {}
    for e in listing.torrents:
        t = read_torrent(src / "torrents" / e.file)
        out[e.name] = sorted(
            ("/".join((e.name, *rel)), size) for rel, size in zip(t.files, t.sizes, strict=True)
        )
    return out


def _same_bytes(spec: TorrentSpec, root: Path) -> None:
    for rel, data in spec.files.items():
        assert (root / spec.name / rel).read_bytes() == data, rel


@pytest.fixture
def qbt(tmp_path: Path) -> Iterator[QBittorrent]:
    with QBittorrent(tmp_path) as client:
        yield client


# ------------------------------------------------------------------------ qBittorrent, hybrid
def test_qbittorrent_reads_hybrid_torrents(qbt: QBittorrent, tmp_path: Path) -> None:
    src = tmp_path / "src"
    listing = build_mirror(src, SPECS, with_data=False)
    expected = _expected_files(listing, src)
    for e in listing.torrents:
        qbt.add_torrent((src / "torrents" / e.file).read_bytes(), tmp_path / "empty", paused="true")
        t = qbt.torrent(e.info_hash_v1)
        assert (t["infohash_v1"], t["infohash_v2"]) == (e.info_hash_v1, e.info_hash_v2)
        assert t["name"] == e.name
        got = sorted((f["name"], f["size"]) for f in qbt.files(t["hash"]))
        assert got == expected[e.name]


def test_qbittorrent_downloads_hybrid_from_longplay(qbt: QBittorrent, tmp_path: Path) -> None:
    src = tmp_path / "src"
    listing = build_mirror(src, SPECS)
    seeder = Seeder(src)
    try:
        for e in listing.torrents:
            qbt.add_torrent((src / "torrents" / e.file).read_bytes())
            h = qbt.torrent(e.info_hash_v1)["hash"]
            qbt.wait_state(
                e.info_hash_v1,
                qbt_has_all,
                f"download {e.name}",
                timeout=120,
                nudge=lambda h=h: qbt.add_peers(h, [f"127.0.0.1:{seeder.port}"]),
            )
    finally:
        seeder.close()
    for spec in SPECS:
        _same_bytes(spec, qbt.save_path)


def test_qbittorrent_finds_longplay_through_a_tracker(qbt: QBittorrent, tmp_path: Path) -> None:
    # Torrents carry the tracker from the torrent_trackers setting; opentracker (whitelist
    # build) must list their v1 info-hashes or it answers "not authorized".
    src = tmp_path / "src"
    probe = build_mirror(tmp_path / "probe", SPECS[:1])
    with OpenTracker(tmp_path, [probe.torrents[0].info_hash_v1]) as tracker:
        (src).mkdir()
        (src / "longplay.toml").write_text(f'torrent_trackers = "{tracker.announce}"\n')
        listing = build_mirror(src, SPECS[:1], trackers=[tracker.announce])
        assert listing.torrents[0].info_hash_v1 == probe.torrents[0].info_hash_v1
        status: dict[str, object] = {}
        stop = threading.Event()
        thread = threading.Thread(
            target=lambda: status.update(s=run_session(src, "seed", stop, listen_interface=LOOP)),
            daemon=True,
        )
        thread.start()
        try:
            e = listing.torrents[0]
            qbt.add_torrent((src / "torrents" / e.file).read_bytes())
            qbt.wait_state(e.info_hash_v1, qbt_has_all, "download via tracker", timeout=60)
            assert b"complete" in tracker.scrape(e.info_hash_v1)
        finally:
            stop.set()
            thread.join(30)
    _same_bytes(SPECS[0], qbt.save_path)


def test_longplay_fetches_from_qbittorrent(qbt: QBittorrent, tmp_path: Path) -> None:
    src = tmp_path / "src"
    listing = build_mirror(src, SPECS)
    for e in listing.torrents:  # qBittorrent seeds from its own copy of the data
        qbt.add_torrent((src / "torrents" / e.file).read_bytes(), src / "files")
        qbt.wait_state(e.info_hash_v1, qbt_has_all, f"{e.name} to seed", timeout=60)
    dst = tmp_path / "mirror"
    shutil.copytree(src / "torrents", dst / "torrents")
    status = run_session(
        dst, "fetch", timeout=120, listen_interface=LOOP, peers=(("127.0.0.1", qbt.port),)
    )
    assert status.complete, status
    report = verify_mirror(dst)
    assert report.ok and report.files_checked == 9
    for spec in SPECS:
        _same_bytes(spec, dst / "files")


# ---------------------------------------------------------------------------- aria2c, v1 only
def _with_pad_files(src: Path, name: str, dest: Path) -> None:
    """Copy a torrent's data for a BEP 47-unaware client: it wants .pad files as real zeros."""
    shutil.copytree(src / "files" / name, dest / name)
    fs = read_torrent(src / "torrents" / f"{name}.torrent").info
    layout = fs.layout() if hasattr(fs, "layout") else fs.files()
    for i in range(layout.num_files()):
        if layout.file_flags(i) & lt.file_storage.flag_pad_file:
            pad = dest / layout.file_path(i)
            pad.parent.mkdir(parents=True, exist_ok=True)
            pad.write_bytes(bytes(layout.file_size(i)))


def test_aria2_downloads_v1_from_longplay(tmp_path: Path) -> None:
    need("aria2c")
    src = tmp_path / "src"
    listing = build_mirror(src, SPECS, version="v1")
    for spec, e in zip(SPECS, listing.torrents, strict=True):
        out = tmp_path / f"aria2-{e.name}"
        with Aria2(tmp_path, src / "torrents" / e.file, out, seed=False) as getter:
            seeder = Seeder(src, peers=(("127.0.0.1", getter.port),), names=(e.name,))
            try:
                assert getter.wait(120) == 0, getter.output()
            finally:
                seeder.close()
        _same_bytes(spec, out)


def test_longplay_fetches_v1_from_aria2(tmp_path: Path) -> None:
    need("aria2c")
    src = tmp_path / "src"
    listing = build_mirror(src, SPECS, version="v1")
    dst = tmp_path / "mirror"
    shutil.copytree(src / "torrents", dst / "torrents")
    for e in listing.torrents:
        data = tmp_path / f"aria2-{e.name}"
        _with_pad_files(src, e.name, data)
        with Aria2(tmp_path, src / "torrents" / e.file, data, seed=True) as seeder:
            status = run_session(
                dst,
                "fetch",
                timeout=120,
                listen_interface=LOOP,
                peers=(("127.0.0.1", seeder.port),),
                names=(e.name,),
            )
            assert status.complete, seeder.output()
    assert verify_mirror(dst).ok
    for spec in SPECS:
        _same_bytes(spec, dst / "files")


# ------------------------------------------------------------- reading torrents (pack issue)
def test_every_torrent_loads_in_libtorrent(tmp_path: Path) -> None:
    for version in ("hybrid", "v1"):
        listing = build_mirror(tmp_path / version, SPECS, version=version, with_data=False)
        for e in listing.torrents:
            ti = lt.torrent_info(str(tmp_path / version / "torrents" / e.file))
            assert str(ti.info_hashes().v1) == e.info_hash_v1
            assert ti.info_hashes().has_v2() == (version == "hybrid")


def test_v1_torrents_pass_transmission_show_and_aria2(tmp_path: Path) -> None:
    need("transmission-show")
    need("aria2c")
    src = tmp_path / "src"
    listing = build_mirror(src, SPECS, version="v1", with_data=False)
    for spec, e in zip(SPECS, listing.torrents, strict=True):
        path = src / "torrents" / e.file
        shown = transmission_show(path)
        assert shown.returncode == 0, shown.stderr
        assert f"Hash: {e.info_hash_v1}" in shown.stdout
        aria = aria2_show_files(path)
        assert aria.returncode == 0, aria.stdout
        assert f"Info Hash: {e.info_hash_v1}" in aria.stdout
        for rel in spec.files:
            assert f"{e.name}/{rel}" in shown.stdout
            assert f"./{e.name}/{rel}" in aria.stdout
