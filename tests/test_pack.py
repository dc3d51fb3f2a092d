"""build and pack end to end on real encoded clips: files, manifests, restore data, torrents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import libtorrent as lt
import pyarrow.parquet as pq
import pytest

from longplay.audio.tagging import restore
from longplay.mirror.verify import verify_mirror
from longplay.pack.build import build, ledger
from longplay.pack.listing import read_listing, read_manifest
from longplay.pack.publish import pack
from packfixtures import CLIPS, clips, packed_archive


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clips(tmp_path_factory.mktemp("music"))


@pytest.fixture(scope="module")
def packed(music: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return packed_archive(tmp_path_factory.mktemp("a") / "archive", music)


def test_build_tags_originals_and_reencodes_the_tail(packed) -> None:  # type: ignore[no-untyped-def]
    archive, _ = packed
    with ledger(archive) as con:
        rows = con.execute(
            "SELECT action, format, restore IS NOT NULL, src_path FROM build_files"
        ).fetchall()
    assert len(rows) == CLIPS
    actions = {r[0] for r in rows}
    assert actions == {"original", "opus"}  # clips of popularity 0 are re-encoded
    for action, fmt, has_restore, src in rows:
        if action == "opus":
            assert fmt == "opus" and not has_restore
        else:
            assert has_restore and fmt == Path(src).suffix.lstrip(".")
    again = build(archive, workers=2)  # idempotent: nothing to do
    assert (again.built, again.skipped, again.failed) == (0, CLIPS, 0)


def test_pack_layout_manifests_listing_and_verify(packed) -> None:  # type: ignore[no-untyped-def]
    archive, summary = packed
    listing = read_listing(archive.torrents_dir / "torrents.json")  # the mirror's own validator
    audio = [t for t in listing.torrents if not t.is_metadata]
    meta = [t for t in listing.torrents if t.is_metadata]
    assert len(meta) == 1 and len(audio) >= 2
    assert sum(t.file_count for t in audio) == CLIPS
    assert {t.tier for t in audio} == {r.tier for r in summary.torrents if not r.is_metadata}
    for t in audio:
        rows = read_manifest(archive.torrents_dir / t.manifest)
        assert len(rows) == t.file_count
        for r in rows:
            data = (archive.files_dir / t.name / r.path).read_bytes()
            assert len(data) == r.size
        info = lt.torrent_info(str(archive.torrents_dir / t.file))
        assert str(info.info_hashes().v1) == t.info_hash_v1
        names = sorted(
            info.layout().file_path(i)
            for i in range(info.num_files())
            if not info.layout().file_flags(i) & lt.file_storage.flag_pad_file
        )
        assert names == sorted(f"{t.name}/{r.path}" for r in rows)
    assert sum(t.listens_share for t in audio) == pytest.approx(1.0)
    report = verify_mirror(archive.root)
    assert report.ok, report


def test_restore_data_in_the_metadata_torrent_rebuilds_originals(packed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive, _ = packed
    meta = archive.files_dir / "lptest-metadata"
    assert (meta / "catalog" / "catalog.sqlite.zst").exists() and (
        meta / "catalog" / "parquet" / "tracks.parquet"
    ).exists()
    assert list((meta / "covers").iterdir()), "cover images extracted"
    rows = pq.read_table(meta / "restore" / "restore.parquet").to_pylist()
    assert rows
    for r in rows:
        out = tmp_path / f"{r['track_id']}.orig"
        sha = restore(archive.files_dir / r["torrent"] / r["path"], r["restore"], out)
        assert sha == r["original_sha256"]


def test_torrents_are_reproducible_across_directories(  # type: ignore[no-untyped-def]
    packed, music: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _ = packed
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764633600")  # the listing's time, fixed
    pack(archive)
    moved = shutil.copytree(music, tmp_path / "elsewhere" / "music")
    other, _ = packed_archive(tmp_path / "elsewhere" / "archive", moved)
    mine = {p.name: p.read_bytes() for p in archive.torrents_dir.glob("*.torrent")}
    theirs = {p.name: p.read_bytes() for p in other.torrents_dir.glob("*.torrent")}
    assert mine.keys() == theirs.keys()
    assert [n for n in sorted(mine) if mine[n] != theirs[n]] == []
    a = json.loads((archive.torrents_dir / "torrents.json").read_text())
    b = json.loads((other.torrents_dir / "torrents.json").read_text())
    assert [(t["name"], t["info_hash_v1"], t["info_hash_v2"]) for t in a["torrents"]] == [
        (t["name"], t["info_hash_v1"], t["info_hash_v2"]) for t in b["torrents"]
    ]
    assert a["generated_at"] == "2025-12-02T00:00:00Z"
    assert (archive.torrents_dir / "torrents.json").read_bytes() == (
        other.torrents_dir / "torrents.json"
    ).read_bytes()


def test_a_bad_source_date_epoch_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from longplay.errors import LongplayError
    from longplay.pack.publish import listing_time

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(LongplayError, match="SOURCE_DATE_EPOCH='yesterday' is not a Unix time"):
        listing_time()


def test_repack_is_stable_and_keeps_dirs_exact(packed) -> None:  # type: ignore[no-untyped-def]
    archive, _ = packed
    before = {p.name: p.read_bytes() for p in archive.torrents_dir.glob("*.torrent")}
    stray = (
        archive.files_dir
        / next(iter(sorted(p.stem for p in archive.torrents_dir.glob("lptest-t*.torrent"))))
        / "stray.txt"
    )
    stray.write_text("not part of the torrent")
    pack(archive)
    assert not stray.exists()
    assert {p.name: p.read_bytes() for p in archive.torrents_dir.glob("*.torrent")} == before


def test_archive_holdings_from_the_library_and_the_manifests(packed) -> None:  # type: ignore[no-untyped-def]
    from longplay.pack.holdings import ArchiveHoldings

    archive, _ = packed
    holdings = ArchiveHoldings(archive)
    held = set(holdings.held_ids())
    assert len(held) == CLIPS and all(holdings.is_held(t) for t in held)
    listing = read_listing(archive.torrents_dir / "torrents.json")
    places = {}
    for t in listing.torrents:
        if not t.is_metadata:
            places.update(
                {
                    r.track_id: (t.name, r.path)
                    for r in read_manifest(archive.torrents_dir / t.manifest)
                }
            )
    assert set(places) == held
    assert all(holdings.where(tid) == place for tid, place in places.items())
    assert holdings.where(-1) is None and not holdings.is_held(-1)
