"""Tagging copies from the catalog without re-encoding, and restoring originals bit for bit."""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiofixtures import by_format, clip_track_rows, make_catalog, shared_data
from longplay.archive import Archive
from longplay.audio import patches, samples
from longplay.audio.probe import payload_sha256
from longplay.audio.tagging import catalog_tags, catalog_tags_many, restore, tag_copy
from longplay.audio.tags import TagRecord, read_cover, read_tags, write_tags
from longplay.catalog.store import CatalogStore
from longplay.cli import cli
from longplay.errors import LongplayError

FORMATS = ("flac", "ogg", "opus", "mp3", "m4a")
NEW = TagRecord(
    title="A Title From The Catalog",
    artists=("First Artist", "Second Artist"),
    album="Catalog Album",
    album_artists=("First Artist",),
    track_number=7,
    track_total=12,
    disc_number=2,
    disc_total=2,
    date="2019-04-05",
    isrc="QZCAT1900042",
    genres=("Jazz", "Funk"),
    mb_recording_id="11111111-2222-3333-4444-555555555555",
    mb_release_id="66666666-7777-8888-9999-000000000000",
    mb_artist_ids=("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",),
    mb_album_artist_ids=("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",),
)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clips(clip_dir: Path) -> dict[str, Path]:
    return by_format(clip_dir)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tag_then_restore_is_bit_exact(fmt: str, clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips[fmt]
    tagged = tmp_path / f"tagged.{fmt}"
    data = tag_copy(src, tagged, NEW)
    got = read_tags(str(tagged)).record
    assert got == NEW  # every managed field written and read back
    assert payload_sha256(str(tagged)) == payload_sha256(str(src))
    assert tagged.read_bytes() != src.read_bytes()
    info = patches.parse(data)
    assert info.original_sha256 == sha(src) and info.tagged_sha256 == sha(tagged)
    assert len(data) < 2048, len(data)
    assert tag_copy(src, tmp_path / f"again.{fmt}", NEW) == data  # deterministic
    out = tmp_path / f"restored.{fmt}"
    assert restore(tagged, data, out) == sha(src)
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_big_cover_changes_restore_exactly_and_stay_small(fmt: str, tmp_path: Path) -> None:
    # A 120 kB cover makes FLAC and MP4 move their audio, Ogg renumber every later page.
    src = samples.write_clip(samples.clip(1, 2, 15.0), tmp_path / f"src.{fmt}", fmt)
    cover = b"\xff\xd8\xff\xe0" + random.Random(7).randbytes(120_000)  # incompressible, like a JPEG
    data = tag_copy(src, tmp_path / f"t.{fmt}", NEW, cover=cover)
    assert read_cover(str(tmp_path / f"t.{fmt}")) == cover
    info = patches.parse(data)
    if fmt in ("ogg", "opus"):
        assert info.ogg is not None and info.ogg[2] < 0
    assert len(data) < 2048, len(data)
    restore(tmp_path / f"t.{fmt}", data, tmp_path / f"r.{fmt}")
    assert (tmp_path / f"r.{fmt}").read_bytes() == src.read_bytes()
    # and back the other way: a file with a big cover, re-tagged with a small one
    src2 = tmp_path / f"covered.{fmt}"
    shutil.copyfile(tmp_path / f"t.{fmt}", src2)
    data2 = tag_copy(
        src2, tmp_path / f"t2.{fmt}", TagRecord(title="x"), cover=samples._png(2, 2, (1, 2, 3))
    )
    restore(tmp_path / f"t2.{fmt}", data2, tmp_path / f"r2.{fmt}")
    assert (tmp_path / f"r2.{fmt}").read_bytes() == src2.read_bytes()
    assert len(data2) > 100_000  # the old cover is in the restore data: nothing else has it


BEETS = shared_data("audio", "beets")


@pytest.mark.skipif(BEETS is None, reason="shared test corpus ../shared/data/audio/beets is absent")
def test_real_world_files_restore_bit_exact(tmp_path: Path) -> None:
    names = [
        "full.flac",
        "image.flac",
        "partial.flac",
        "full.ogg",
        "image.ogg",
        "full.opus",
        "full.mp3",
        "image.mp3",
        "min.mp3",
        "unicode’d.mp3",
        "full.m4a",
        "image.m4a",
        "full.alac.m4a",
        "soundcheck-nonascii.m4a",
        "no_ext",
        "whitenoise.opus",
        "date_with_slashes.ogg",
    ]
    for name in names:
        src = BEETS / name  # type: ignore[operator]
        out = tmp_path / f"t-{name}"
        data = tag_copy(src, out, NEW)
        assert read_tags(str(out)).record.title == NEW.title, name
        restore(out, data, tmp_path / f"r-{name}")
        assert (tmp_path / f"r-{name}").read_bytes() == src.read_bytes(), name


def test_restore_refuses_the_wrong_file_and_damaged_data(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    src = clips["ogg"]
    tagged = tmp_path / "t.ogg"
    data = tag_copy(src, tagged, NEW)
    other = tmp_path / "other.ogg"
    shutil.copyfile(tagged, other)
    write_tags(str(other), TagRecord(title="changed after tagging"))
    with pytest.raises(patches.RestoreError, match="not the tagged file"):
        restore(other, data, tmp_path / "x.ogg")
    with pytest.raises(patches.RestoreError):
        restore(tagged, data[:-7], tmp_path / "x.ogg")
    with pytest.raises(patches.RestoreError, match="bad magic"):
        restore(tagged, b"PK\x03\x04" + data[4:], tmp_path / "x.ogg")
    assert not (tmp_path / "x.ogg").exists()


def test_tag_copy_refuses_what_it_cannot_do(clips: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(LongplayError, match="must not overwrite"):
        tag_copy(clips["flac"], clips["flac"], NEW)
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 64)
    with pytest.raises(LongplayError, match="cannot tag WAV"):
        tag_copy(wav, tmp_path / "b.wav", NEW)
    assert not (tmp_path / "b.wav").exists()


def test_catalog_tags_are_the_tracks_metadata(archive: Archive) -> None:
    ids = make_catalog(archive, clip_track_rows(6))
    with CatalogStore(archive).read() as con:
        many = catalog_tags_many(con, ids.values())
        for i in range(6):
            c = samples.clip(i, 0, 3.0)
            got = catalog_tags(con, ids[c.track_key])
            assert got == many[ids[c.track_key]]
            expect = TagRecord(
                **{
                    **c.tags.as_row(),
                    "disc_number": None,
                    "disc_total": None,
                    "artists": c.tags.artists,
                    "album_artists": c.tags.album_artists,
                    "genres": c.tags.genres,
                    "mb_artist_ids": c.tags.mb_artist_ids,
                    "mb_album_artist_ids": c.tags.mb_album_artist_ids,
                    "has_cover": False,
                }
            )
            assert got == expect
        with pytest.raises(LongplayError, match="not in the current catalog"):
            catalog_tags(con, 12345)


def test_cli_tag_and_restore(archive: Archive, clips: dict[str, Path], tmp_path: Path) -> None:
    ids = make_catalog(archive, clip_track_rows(10))
    src = clips["mp3"]
    c = samples.clip(3, 0, 3.0)  # the first MP3 clip
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "--archive",
            str(archive.root),
            "audio",
            "tag",
            str(src),
            str(tmp_path / "t.mp3"),
            "--track",
            str(ids[c.track_key]),
        ],
    )
    assert out.exit_code == 0, out.output
    assert (tmp_path / "t.mp3.lprestore").is_file()
    out = runner.invoke(cli, ["audio", "restore", str(tmp_path / "t.mp3"), str(tmp_path / "r.mp3")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r.mp3").read_bytes() == src.read_bytes()
    out = runner.invoke(
        cli,
        [
            "audio",
            "restore",
            str(src),
            str(tmp_path / "r2.mp3"),
            "--restore-data",
            str(tmp_path / "t.mp3.lprestore"),
        ],
    )
    assert out.exit_code == 1 and "not the tagged file" in out.output


def test_damaged_restore_data_never_crashes_or_restores_wrong_bytes(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    src = clips["opus"]
    tagged = tmp_path / "t.opus"
    data = tag_copy(src, tagged, NEW, cover=b"\xff\xd8\xff\xe0" + bytes(5000))
    body = tagged.read_bytes()
    rng = random.Random(3)
    for _ in range(300):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        if rng.random() < 0.2:
            bad = bad[: rng.randrange(len(bad))]
        try:
            out = patches.apply(body, bytes(bad))
        except patches.RestoreError:
            continue
        assert out == src.read_bytes()  # a harmless change (e.g. in an unused bit) still restores
