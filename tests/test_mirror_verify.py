"""`mirror verify` finds missing, partial and corrupt files by name, and passes whole data."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from longplay.cli import cli
from longplay.mirror import verify as verify_mod
from longplay.mirror.choose import plan_mirror
from longplay.mirror.verify import verify_mirror
from longplay.pack.listing import manifest_jsonl, read_listing, read_manifest
from torrentdata import (
    TorrentSpec,
    build_mirror,
    make_unaligned_v1,
    random_files,
)

SPECS = [
    TorrentSpec("lp-t0-0001", random_files(11, 5, 50_000), 0, 700, (50, 90)),
    TorrentSpec("lp-t1-0001", random_files(12, 3, 30_000, "Other/Album"), 1, 300, (1, 49)),
]


@pytest.fixture(params=["hybrid", "v1"])
def mirror_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    build_mirror(tmp_path, SPECS, version=request.param)
    return tmp_path


def _file(d: Path, torrent: str, index: int) -> tuple[str, Path]:
    spec = next(s for s in SPECS if s.name == torrent)
    rel = sorted(spec.files)[index]
    return rel, d / "files" / torrent / rel


def test_whole_data_passes(mirror_dir: Path) -> None:
    report = verify_mirror(mirror_dir)
    assert report.ok, report.problems
    assert report.files_checked == 8
    assert report.bytes_checked == sum(len(b) for s in SPECS for b in s.files.values())


def test_corrupt_missing_partial_named(mirror_dir: Path) -> None:
    rel_c, corrupt = _file(mirror_dir, "lp-t0-0001", 1)
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    rel_m, missing = _file(mirror_dir, "lp-t0-0001", 3)
    missing.unlink()
    rel_p, partial = _file(mirror_dir, "lp-t1-0001", 0)
    os.truncate(partial, partial.stat().st_size - 1000)
    report = verify_mirror(mirror_dir)
    assert not report.ok
    got = {(p.torrent, p.path): p.status for p in report.problems}
    assert got == {
        ("lp-t0-0001", rel_c): "corrupt",
        ("lp-t0-0001", rel_m): "missing",
        ("lp-t1-0001", rel_p): "partial",
    }
    detail = next(p.detail for p in report.problems if p.status == "corrupt")
    assert "SHA-256 differs from the manifest" in detail and "v1 piece" in detail


def test_sparse_file_is_partial(mirror_dir: Path) -> None:
    # What an unfinished libtorrent download leaves: full size, with holes where pieces are due.
    rel, path = _file(mirror_dir, "lp-t0-0001", 0)
    size = path.stat().st_size
    path.unlink()
    with open(path, "wb") as fh:
        fh.truncate(size)
    report = verify_mirror(mirror_dir)
    assert [(p.path, p.status) for p in report.problems] == [(rel, "partial")]


def test_v2_root_checked_on_hybrid(tmp_path: Path) -> None:
    build_mirror(tmp_path, SPECS[:1])
    # Drop the manifest so only torrent hashes speak, then corrupt one byte.
    listing = read_listing(tmp_path / "torrents" / "torrents.json")
    bare = replace(listing, torrents=tuple(replace(t, manifest=None) for t in listing.torrents))
    (tmp_path / "torrents" / "torrents.json").write_bytes(bare.to_json())
    rel, path = _file(tmp_path, "lp-t0-0001", 2)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    report = verify_mirror(tmp_path)
    assert [(p.path, p.status) for p in report.problems] == [(rel, "corrupt")]
    assert "v2 merkle root differs" in report.problems[0].detail


def test_manifest_hash_alone_catches_a_wrong_file(tmp_path: Path) -> None:
    build_mirror(tmp_path, SPECS[:1])
    m = tmp_path / "torrents" / "lp-t0-0001.manifest.jsonl"
    rows = read_manifest(m)
    rows[4] = replace(rows[4], sha256="0" * 64)
    m.write_bytes(manifest_jsonl(rows))
    report = verify_mirror(tmp_path)
    assert [(p.path, p.detail) for p in report.problems] == [
        (rows[4].path, "SHA-256 differs from the manifest")
    ]


@pytest.mark.parametrize("segment", [verify_mod.SEGMENT, 1])
def test_unaligned_v1_blames_only_the_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, segment: int
) -> None:
    # Pieces span files; with segment=1 every file is its own task, so pieces cross tasks.
    monkeypatch.setattr(verify_mod, "SEGMENT", segment)
    build_mirror(tmp_path, SPECS[:1])
    t = tmp_path / "torrents" / "lp-t0-0001.torrent"
    t.write_bytes(make_unaligned_v1(tmp_path / "files", "lp-t0-0001"))
    listing = read_listing(tmp_path / "torrents" / "torrents.json")
    from longplay.mirror.safety import read_torrent

    v1 = read_torrent(t).info_hash_v1
    fixed = replace(
        listing, torrents=(replace(listing.torrents[0], info_hash_v1=v1, info_hash_v2=None),)
    )
    (tmp_path / "torrents" / "torrents.json").write_bytes(fixed.to_json())
    assert verify_mirror(tmp_path).ok
    rel, path = _file(tmp_path, "lp-t0-0001", 2)
    data = bytearray(path.read_bytes())
    data[0] ^= 1  # first byte: its piece starts in the previous file
    path.write_bytes(bytes(data))
    report = verify_mirror(tmp_path)
    assert [(p.path, p.status) for p in report.problems] == [(rel, "corrupt")]


def test_mirror_json_limits_the_set_and_missing_torrent_data(tmp_path: Path) -> None:
    build_mirror(tmp_path, SPECS, with_data=False)
    plan_mirror(tmp_path, None, 10**6)
    report = verify_mirror(tmp_path)
    assert sorted(report.torrents) == ["lp-t0-0001", "lp-t1-0001"]
    assert report.count("missing") == 8
    plan_mirror(tmp_path, None, 200_000)  # only the denser torrent fits
    assert verify_mirror(tmp_path).torrents == ["lp-t1-0001"]


def test_info_hash_mismatch_reported(tmp_path: Path) -> None:
    build_mirror(tmp_path, SPECS)
    t = tmp_path / "torrents"
    (t / "lp-t0-0001.torrent").write_bytes(make_unaligned_v1(tmp_path / "files", "lp-t0-0001"))
    report = verify_mirror(tmp_path)
    assert report.torrent_problems == [
        "lp-t0-0001: lp-t0-0001.torrent does not have the info-hashes torrents.json lists"
    ]


def test_cli_exit_codes_and_names(tmp_path: Path) -> None:
    build_mirror(tmp_path, SPECS)
    runner = CliRunner()
    ok = runner.invoke(cli, ["mirror", "verify", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "2 torrent(s), 8 file(s)" in ok.output and "all well" in ok.output
    rel, path = _file(tmp_path, "lp-t1-0001", 2)
    path.unlink()
    bad = runner.invoke(cli, ["mirror", "verify", str(tmp_path)])
    assert bad.exit_code == 1
    assert f"missing: lp-t1-0001/{rel}: file is absent" in bad.output
    assert "1 missing, 0 partial, 0 corrupt" in bad.output
    # The verdict per torrent is kept for the web's torrents page.
    from longplay.mirror.verify import last_verify

    found = last_verify(tmp_path)
    assert found is not None and found[1] == {"lp-t0-0001": 0, "lp-t1-0001": 1}


def test_v2_only_torrent_verified_by_merkle_roots(tmp_path: Path) -> None:
    import libtorrent as lt

    from longplay.mirror.safety import read_torrent
    from torrentdata import write_files

    spec = SPECS[0]
    write_files(tmp_path / "files", spec.name, spec.files)
    ct = lt.create_torrent(
        lt.list_files(str(tmp_path / "files" / spec.name)), 0, lt.create_torrent.v2_only
    )
    lt.set_piece_hashes(ct, str(tmp_path / "files"))
    (tmp_path / "torrents").mkdir()
    t = tmp_path / "torrents" / f"{spec.name}.torrent"
    t.write_bytes(lt.bencode(ct.generate()))
    checked = read_torrent(t)
    from longplay.mirror.verify import verify_torrents

    assert verify_torrents(tmp_path / "files", [(checked, None)]).ok
    rel, path = _file(tmp_path, spec.name, 0)
    data = bytearray(path.read_bytes())
    data[5] ^= 1
    path.write_bytes(bytes(data))
    report = verify_torrents(tmp_path / "files", [(checked, None)])
    assert [(p.path, p.detail) for p in report.problems] == [(rel, "v2 merkle root differs")]


def test_display_summary_line() -> None:
    from longplay.mirror.display import summary
    from longplay.mirror.session import SessionStatus, TorrentState

    status = SessionStatus(
        [
            TorrentState(
                "a", "seeding", 1.0, 2_000_000, 2_000_000, 0, 1_500_000, 5_000_000, 3, finished=True
            ),
            TorrentState("b", "downloading", 0.5, 500, 1000, 2000, 0, 0, 1),
            # All its bytes counted but a piece not yet checked: not complete (libtorrent counts
            # blocks before their piece passes, so a count alone once ended fetches early).
            TorrentState("c", "downloading", 1.0, 1000, 1000, 0, 0, 0, 1),
            # Checked but not written: libtorrent reaches "seeding" though every write failed.
            TorrentState("d", "seeding", 1.0, 10, 10, 0, 0, 0, 0, "x: Permission denied", True),
        ],
        6881,
    )
    assert summary("seed", status) == (
        "seed: 1/4 torrents complete, 2.00 MB of 2.00 MB, down 2.0 kB/s, up 1.5 MB/s, "
        "uploaded 5.00 MB, 5 peer(s), port 6881"
    )


def test_manifest_disagreeing_with_torrent_is_reported(tmp_path: Path) -> None:
    build_mirror(tmp_path, SPECS[:1])
    m = tmp_path / "torrents" / "lp-t0-0001.manifest.jsonl"
    rows = read_manifest(m)
    rows[0] = replace(rows[0], size=rows[0].size + 1)
    rows.append(replace(rows[1], path="Not/In/Torrent.ogg"))
    m.write_bytes(manifest_jsonl(rows))
    report = verify_mirror(tmp_path)
    assert not report.ok and not report.problems
    assert report.torrent_problems == [
        f"lp-t0-0001: manifest says {rows[0].path} is {rows[0].size} bytes, the torrent says "
        f"{rows[0].size - 1}",
        "lp-t0-0001: manifest names Not/In/Torrent.ogg, which the torrent lacks",
    ]


def test_whole_torrent_missing_is_quick(tmp_path: Path) -> None:
    # Thousands of files and failing pieces: blame must not be quadratic.
    import time

    files = {f"d{i // 100}/f{i}.ogg": bytes([i % 251]) * 700 for i in range(4000)}
    build_mirror(tmp_path, [TorrentSpec("lp-t9-0001", files)], version="v1", with_data=False)
    t0 = time.monotonic()
    report = verify_mirror(tmp_path)
    assert report.count("missing") == 4000
    assert time.monotonic() - t0 < 10
