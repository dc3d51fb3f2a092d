"""Test helpers for torrents: deterministic file trees, and libtorrent's own torrent as oracle."""

from __future__ import annotations

import random
import time
from pathlib import Path

import libtorrent as lt


def write_tree(root: Path, sizes: dict[str, int], seed: int = 7) -> list[tuple[str, Path]]:
    """Write files of the given sizes under ``root`` (pseudo-random, same bytes for a seed)."""
    rng = random.Random(seed)
    out = []
    for rel, size in sizes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
        out.append((rel, path))
    return out


def libtorrent_bytes(
    base: Path,
    name: str,
    rels: list[str],
    *,
    version: str,
    piece_size: int,
    trackers: tuple[str, ...] = (),
    comment: str | None = None,
    creation_date: int | None = None,
    created_by: str | None = "Longplay",
    single_file: bool = False,
) -> bytes:
    """What libtorrent's own create_torrent + set_piece_hashes make of ``base/name/...``.

    Files are given in file tree order, as the function under test documents; libtorrent keeps
    that order for v1 and sorts hybrids itself (by whole path strings).
    """
    if single_file:
        entries = [lt.create_file_entry(name, (base / name).stat().st_size)]
    else:
        ordered = sorted(rels, key=lambda r: [e.encode() for e in r.split("/")])
        entries = [
            lt.create_file_entry(f"{name}/{rel}", (base / name / rel).stat().st_size)
            for rel in ordered
        ]
    flags = lt.create_torrent.v1_only if version == "v1" else 0
    ct = lt.create_torrent(entries, piece_size, flags)
    ct.set_creation_date(creation_date or 0)
    if created_by:
        ct.set_creator(created_by)
    if comment:
        ct.set_comment(comment)
    for tier, url in enumerate(trackers):
        ct.add_tracker(url, tier)
    lt.set_piece_hashes(ct, str(base))
    return lt.bencode(ct.generate())


def recheck(torrent: bytes, save_path: Path, timeout: float = 60.0) -> int:
    """Let a libtorrent session check the files under ``save_path`` against ``torrent``.

    Returns the number of pieces libtorrent found valid. Loopback only: no DHT, LSD, UPnP or
    NAT-PMP, and the session listens on an ephemeral 127.0.0.1 port.
    """
    session = lt.session(
        {
            "listen_interfaces": "127.0.0.1:0",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "alert_mask": 0,
        }
    )
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = str(save_path)
    handle = session.add_torrent(params)
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = handle.status()
        if status.errc.value():
            raise RuntimeError(f"libtorrent could not check {save_path}: {status.errc.message()}")
        if status.state not in checking:
            return int(status.num_pieces)
        time.sleep(0.05)
    raise TimeoutError(f"libtorrent did not finish checking {save_path} in {timeout} s")
