"""`seed` and `fetch`: Longplay to Longplay on loopback, resume data, limits, clean shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from longplay.errors import InputError
from longplay.mirror.choose import plan_mirror
from longplay.mirror.session import (
    MirrorSession,
    SessionConfig,
    SessionStatus,
    parse_peer,
    run_session,
)
from longplay.mirror.verify import verify_mirror
from netutil import free_port, port_open, wait_for
from seeding import LOOP, Seeder
from torrentdata import TorrentSpec, build_mirror, random_files

SPECS = [
    TorrentSpec("lp-t0-0001", random_files(21, 6, 120_000), 0, 800, (50, 90)),
    TorrentSpec("lp-t1-0001", random_files(22, 4, 90_000, "B/C"), 1, 200, (1, 49)),
]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Path, Seeder]]:
    src = tmp_path / "source"
    build_mirror(src, SPECS)
    seeder = Seeder(src)
    yield src, seeder
    seeder.close()


def _new_mirror(src: Path, dst: Path) -> Path:
    shutil.copytree(src / "torrents", dst / "torrents")
    return dst


def test_fetch_from_longplay_seed(seeded: tuple[Path, Seeder], tmp_path: Path) -> None:
    src, seeder = seeded
    dst = _new_mirror(src, tmp_path / "mirror")
    status = run_session(
        dst, "fetch", timeout=60, listen_interface=LOOP, peers=(("127.0.0.1", seeder.port),)
    )
    assert status.complete, status
    assert verify_mirror(dst).ok
    for spec in SPECS:
        for rel, data in spec.files.items():
            assert (dst / "files" / spec.name / rel).read_bytes() == data
    assert sorted(p.name for p in (dst / "work" / "resume").iterdir()) == [
        "lp-t0-0001.resume",
        "lp-t1-0001.resume",
    ]


def test_fetch_only_the_planned_torrents(seeded: tuple[Path, Seeder], tmp_path: Path) -> None:
    src, seeder = seeded
    dst = _new_mirror(src, tmp_path / "mirror")
    plan = plan_mirror(dst, None, 400_000)
    assert [t.name for t in plan.chosen] == ["lp-t1-0001"]
    status = run_session(
        dst, "fetch", timeout=60, listen_interface=LOOP, peers=(("127.0.0.1", seeder.port),)
    )
    assert [t.name for t in status.torrents] == ["lp-t1-0001"] and status.complete
    assert not (dst / "files" / "lp-t0-0001").exists()


def test_resume_data_spares_the_rehash(tmp_path: Path) -> None:
    src = tmp_path / "source"
    build_mirror(src, SPECS[:1])
    first = run_session(src, "seed", timeout=1, listen_interface=LOOP)
    assert first.torrents[0].progress == 1.0
    assert (src / "work" / "resume" / "lp-t0-0001.resume").is_file()
    # Damage a byte without changing size or mtime: only a re-hash could notice.
    victim = src / "files" / "lp-t0-0001" / sorted(SPECS[0].files)[2]
    st = victim.stat()
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    resumed = run_session(src, "seed", timeout=1, listen_interface=LOOP)
    assert resumed.torrents[0].progress == 1.0  # trusted the resume data: no hashing
    (src / "work" / "resume" / "lp-t0-0001.resume").unlink()
    rechecked = run_session(src, "seed", timeout=3, listen_interface=LOOP)
    assert rechecked.torrents[0].progress < 1.0  # a full check finds the damaged piece


def test_upload_limit_holds_on_loopback(tmp_path: Path) -> None:
    src = tmp_path / "source"
    spec = TorrentSpec("lp-t0-0001", random_files(5, 2, 400_000))
    build_mirror(src, [spec])
    limit = 200_000
    seeder = Seeder(src, upload_limit=limit)
    try:
        dst = _new_mirror(src, tmp_path / "mirror")
        t0 = time.monotonic()
        status = run_session(
            dst, "fetch", timeout=60, listen_interface=LOOP, peers=(("127.0.0.1", seeder.port),)
        )
        elapsed = time.monotonic() - t0
    finally:
        seeder.close()
    assert status.complete
    size = sum(len(b) for b in spec.files.values())
    assert elapsed > 0.6 * size / limit, f"{size} bytes in {elapsed:.1f}s beats {limit} B/s"


def test_hostile_torrent_refused_before_anything_is_written(tmp_path: Path) -> None:
    import libtorrent as lt

    src = tmp_path / "m"
    build_mirror(src, SPECS[:1], with_data=False)
    t = src / "torrents" / "lp-t0-0001.torrent"
    doc = lt.bdecode(t.read_bytes())
    info = doc[b"info"]
    info.pop(b"file tree"), info.pop(b"meta version"), doc.pop(b"piece layers")
    info[b"files"][0][b"path"] = [b"..", b"..", b"..", b"escaped.ogg"]
    t.write_bytes(lt.bencode(doc))
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InputError, match="not allowed"):
        run_session(src, "fetch", timeout=5, listen_interface=LOOP, peers=(("127.0.0.1", 9),))
    assert sorted(tmp_path.rglob("*")) == before
    assert not (tmp_path.parent / "escaped.ogg").exists()


def test_swapped_torrent_file_refused(tmp_path: Path) -> None:
    src = tmp_path / "m"
    build_mirror(src, SPECS)
    t = src / "torrents"
    (t / "lp-t0-0001.torrent").write_bytes((t / "lp-t1-0001.torrent").read_bytes())
    with pytest.raises(InputError, match="named 'lp-t1-0001'"):
        run_session(src, "seed", timeout=1, listen_interface=LOOP)


def test_settings_feed_the_session(tmp_path: Path) -> None:
    src = tmp_path / "m"
    build_mirror(src, SPECS[:1])
    (src / "longplay.toml").write_text(
        'torrent_trackers = "http://127.0.0.1:9/announce, http://127.0.0.1:10/announce"\n'
        'upload_limit = "1MB"\n'
    )
    session = MirrorSession(
        src,
        SessionConfig.from_settings(
            __import__("longplay.archive", fromlist=["Archive"]).Archive(src),
            "seed",
            listen_interface=LOOP,
        ),
    )
    assert session.config.upload_limit == 10**6
    session.start()
    try:
        h = session.handles["lp-t0-0001"]
        assert sorted(t["url"] for t in h.trackers()) == [
            "http://127.0.0.1:10/announce",
            "http://127.0.0.1:9/announce",
        ]
        assert session.session is not None
        s = session.session.get_settings()
        assert not s["enable_dht"] and not s["enable_lsd"] and not s["enable_upnp"]
        assert not s["enable_natpmp"] and s["upload_rate_limit"] == 10**6
        assert not s["enable_outgoing_utp"] and s["enable_incoming_utp"]
    finally:
        session.close()


def test_parse_peer() -> None:
    assert parse_peer("127.0.0.1:6881") == ("127.0.0.1", 6881)
    assert parse_peer("[::1]:7000") == ("::1", 7000)
    for bad in ("127.0.0.1", "host:0", "host:x", ":80", "h:70000"):
        with pytest.raises(InputError):
            parse_peer(bad)


def test_cli_seed_and_fetch_processes_stop_cleanly(tmp_path: Path) -> None:
    src = tmp_path / "source"
    build_mirror(src, SPECS)
    port = free_port()
    longplay = [str(Path(sys.executable).parent / "longplay")]
    env = {**os.environ, "LONGPLAY_NO_PROGRESS": "1"}
    seed = subprocess.Popen(
        [*longplay, "seed", str(src), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        wait_for("the seed to listen", lambda: port_open(port) or seed.poll() is not None, 30)
        assert seed.poll() is None, seed.communicate()
        dst = _new_mirror(src, tmp_path / "mirror")
        fetch = subprocess.run(
            [
                *longplay,
                "-q",
                "fetch",
                str(dst),
                "--listen",
                "127.0.0.1:0",
                "--peer",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=90,
        )
        assert fetch.returncode == 0, fetch.stderr
        assert "fetch: 2/2 torrents complete" in fetch.stdout
        assert verify_mirror(dst).ok
        seed.send_signal(signal.SIGTERM)
        out, err = seed.communicate(timeout=30)
        assert seed.returncode == 0, err
        assert b"seed: 2/2 torrents complete" in out
        assert len(list((src / "work" / "resume").glob("*.resume"))) == 2
    finally:
        if seed.poll() is None:
            seed.kill()
            seed.wait(10)


def test_interrupted_fetch_resumes_to_the_same_result(
    seeded: tuple[Path, Seeder], tmp_path: Path
) -> None:
    src, seeder = seeded
    dst = _new_mirror(src, tmp_path / "mirror")
    peer = (("127.0.0.1", seeder.port),)
    seen: list[int] = []
    stop = threading.Event()

    def watch(s: SessionStatus) -> None:  # stop as soon as some, not all, has arrived
        seen.append(sum(t.done for t in s.torrents))
        if seen[-1] > 0:
            stop.set()

    first = run_session(
        dst,
        "fetch",
        stop,
        timeout=60,
        listen_interface=LOOP,
        peers=peer,
        download_limit=150_000,
        on_status=watch,
    )
    got = sum(t.done for t in first.torrents)
    assert 0 < got < sum(t.wanted for t in first.torrents), f"not partial: {seen}"
    assert len(list((dst / "work" / "resume").glob("*.resume"))) == 2
    assert not verify_mirror(dst).ok
    second = run_session(dst, "fetch", timeout=60, listen_interface=LOOP, peers=peer)
    assert second.complete
    assert verify_mirror(dst).ok


def test_busy_port_is_an_error(tmp_path: Path) -> None:
    import socket

    from longplay.errors import LongplayError

    src = tmp_path / "m"
    build_mirror(src, SPECS[:1])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LongplayError, match=f"cannot listen on 127.0.0.1:{port}"):
            run_session(src, "seed", timeout=1, listen_interface=f"127.0.0.1:{port}")


def test_symlink_inside_the_data_refused(tmp_path: Path) -> None:
    src = tmp_path / "m"
    build_mirror(src, SPECS[:1], with_data=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (src / "files" / "lp-t0-0001").mkdir(parents=True)
    (src / "files" / "lp-t0-0001" / "Artist").symlink_to(outside)
    with pytest.raises(InputError, match="symbolic link"):
        run_session(src, "fetch", timeout=5, listen_interface=LOOP)
    assert list(outside.iterdir()) == []
