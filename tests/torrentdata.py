"""Test data for the mirror side: real files, real torrents, manifests and torrents.json.

`make_torrent` is the ONE place tests create .torrent bytes; it uses libtorrent's own
create_torrent + set_piece_hashes, so the lead can swap in longplay.pack.torrents.create_torrent
(byte-identical by design) here alone.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import libtorrent as lt

from longplay.pack.listing import Listing, ManifestRow, TorrentEntry, manifest_jsonl
from longplay.pack.torrents import create_torrent, directory_files


def make_torrent(
    root: Path,
    name: str,
    version: str = "hybrid",
    piece_size: int = 0,
    trackers: Iterable[str] = (),
) -> bytes:
    """Bencoded .torrent for the directory ``root/name`` (hybrid by default, or "v1").

    Made by Longplay's own creator (byte-identical to libtorrent's, tests/test_torrents_*.py),
    so every mirror and real-client test runs on the torrents the packer publishes.
    """
    created = create_torrent(
        name,
        directory_files(Path(root) / name),
        version=version,
        piece_size=piece_size or None,
        trackers=list(trackers),
    )
    return created.data


def write_files(root: Path, name: str, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        path = Path(root) / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def random_files(
    seed: int, count: int, size: int, prefix: str = "Artist/Album"
) -> dict[str, bytes]:
    """``count`` files of about ``size`` bytes each with varied sizes (not piece-aligned)."""
    rng = random.Random(seed)
    out = {}
    for i in range(count):
        n = max(1, size + rng.randint(-size // 3, size // 3))
        out[f"{prefix}/{i + 1:02d} Track {i + 1}.ogg"] = rng.randbytes(n)
    return out


@dataclass
class TorrentSpec:
    name: str
    files: dict[str, bytes]
    tier: int = 0
    listens: int = 0
    popularity: tuple[int, int] = (0, 0)


def manifest_rows(files: Mapping[str, bytes], popularity: int = 50) -> list[ManifestRow]:
    return [
        ManifestRow(
            path=rel,
            track_id=i + 1,
            isrc=None,
            mbid=None,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            original_sha256=None,
            format="ogg",
            bitrate=160000,
            duration_ms=1000,
            popularity=popularity,
        )
        for i, (rel, data) in enumerate(sorted(files.items()))
    ]


def build_mirror(
    directory: Path,
    specs: Iterable[TorrentSpec],
    version: str = "hybrid",
    piece_size: int = 0,
    trackers: Iterable[str] = (),
    with_data: bool = True,
) -> Listing:
    """An archive-layout directory: files/NAME/..., torrents/*.torrent, manifests, torrents.json.

    With ``with_data=False`` the data is written only to make the torrents, then removed, as a
    new mirror that has the listing and .torrent files but none of the audio yet.
    """
    directory = Path(directory)
    files_dir, torrents_dir = directory / "files", directory / "torrents"
    torrents_dir.mkdir(parents=True, exist_ok=True)
    specs = list(specs)
    total_listens = sum(s.listens for s in specs) or 1
    entries = []
    for spec in specs:
        write_files(files_dir, spec.name, spec.files)
        data = make_torrent(files_dir, spec.name, version, piece_size, tuple(trackers))
        (torrents_dir / f"{spec.name}.torrent").write_bytes(data)
        manifest = f"{spec.name}.manifest.jsonl"
        (torrents_dir / manifest).write_bytes(
            manifest_jsonl(manifest_rows(spec.files, spec.popularity[1]))
        )
        ti = lt.torrent_info(data)
        hashes = ti.info_hashes()
        v2 = str(hashes.v2) if hashes.has_v2() else None
        entries.append(
            TorrentEntry(
                name=spec.name,
                file=f"{spec.name}.torrent",
                info_hash_v1=str(hashes.v1),
                info_hash_v2=v2,
                magnet=lt.make_magnet_uri(ti),
                data_size=sum(len(b) for b in spec.files.values()),
                file_count=len(spec.files),
                tier=spec.tier,
                popularity_min=spec.popularity[0],
                popularity_max=spec.popularity[1],
                listens_covered=spec.listens,
                listens_share=spec.listens / total_listens,
                created="2026-01-01T00:00:00Z",
                is_metadata=False,
                manifest=manifest,
            )
        )
    listing = Listing("longplay", "2026-01-01T00:00:00Z", tuple(entries))
    (torrents_dir / "torrents.json").write_bytes(listing.to_json())
    if not with_data:
        for spec in specs:
            shutil.rmtree(files_dir / spec.name)
    return listing


def entry(
    name: str, size: int, listens: int, tier: int = 0, total_listens: int = 0
) -> TorrentEntry:
    """A listing entry without data, for choosing (hashes derived from the name)."""
    h1 = hashlib.sha1(name.encode()).hexdigest()
    h2 = hashlib.sha256(name.encode()).hexdigest()
    return TorrentEntry(
        name=name,
        file=f"{name}.torrent",
        info_hash_v1=h1,
        info_hash_v2=h2,
        magnet=f"magnet:?xt=urn:btih:{h1}&xt=urn:btmh:1220{h2}&dn={name}",
        data_size=size,
        file_count=1,
        tier=tier,
        popularity_min=0,
        popularity_max=100,
        listens_covered=listens,
        listens_share=listens / total_listens if total_listens else 0.0,
        created="2026-01-01T00:00:00Z",
        is_metadata=False,
        manifest=None,
    )


def make_unaligned_v1(root: Path, name: str, piece_size: int = 16384) -> bytes:
    """A v1 torrent as older tools (mktorrent, transmission) make it: no pad files, so pieces
    span file boundaries. Built by hand because libtorrent 2.1 always pads."""
    base = Path(root) / name
    paths = sorted(p for p in base.rglob("*") if p.is_file())
    blob = b"".join(p.read_bytes() for p in paths)
    pieces = b"".join(
        hashlib.sha1(blob[i : i + piece_size]).digest() for i in range(0, len(blob), piece_size)
    )
    files = [
        {
            b"length": p.stat().st_size,
            b"path": [part.encode() for part in p.relative_to(base).parts],
        }
        for p in paths
    ]
    info = {b"name": name.encode(), b"piece length": piece_size, b"pieces": pieces, b"files": files}
    return lt.bencode({b"info": info})
