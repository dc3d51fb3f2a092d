"""Probing: stream facts, the audio-payload hash, and finding broken files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from audiofixtures import by_format
from longplay.audio import containers, formats, samples
from longplay.audio.examine import examine
from longplay.audio.probe import payload_sha256, probe
from longplay.audio.tags import TagRecord, write_tags

FORMATS = ("flac", "ogg", "opus", "mp3", "m4a")
BIG_COVER = bytes(range(256)) * 400  # 100 kB: forces FLAC/Ogg/MP4 to grow their headers


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """12-second clips: long enough to have many Ogg pages and MP4 chunks."""
    out = tmp_path_factory.mktemp("long")
    return {
        fmt: samples.write_clip(samples.clip(3, 9, 12.0), out / f"long.{fmt}", fmt)
        for fmt in FORMATS
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_payload_hash_survives_retagging_and_differs_for_other_audio(
    fmt: str, long_clips: dict[str, Path], tmp_path: Path
) -> None:
    src = long_clips[fmt]
    copy = tmp_path / f"copy.{fmt}"
    shutil.copyfile(src, copy)
    write_tags(
        str(copy),
        TagRecord(
            title="Something else entirely " * 20,
            artists=("A", "B", "C"),
            isrc="QZABC2400001",
            genres=("Noise",),
        ),
        cover=BIG_COVER,
    )
    assert copy.read_bytes() != src.read_bytes()
    assert payload_sha256(str(copy)) == payload_sha256(str(src))
    assert probe(str(copy)).payload_sha256 == probe(str(src)).payload_sha256  # decoding or not
    other = samples.write_clip(samples.clip(4, 9, 12.0), tmp_path / f"other.{fmt}", fmt)
    assert payload_sha256(str(other)) != payload_sha256(str(src))


def test_ogg_retagging_with_a_big_cover_renumbers_pages_yet_keeps_the_payload(
    long_clips: dict[str, Path], tmp_path: Path
) -> None:
    src = long_clips["ogg"]
    copy = tmp_path / "c.ogg"
    shutil.copyfile(src, copy)
    write_tags(str(copy), TagRecord(title="x"), cover=BIG_COVER)
    a, b = src.read_bytes(), copy.read_bytes()
    renum = containers.renumbering(a, b)
    assert renum is not None and renum[2] < 0  # more header pages now: later pages shifted
    assert containers.ogg_structure_problem(b) is None  # mutagen rewrote CRCs correctly
    assert payload_sha256(str(copy)) == payload_sha256(str(src))


def test_stream_facts(long_clips: dict[str, Path]) -> None:
    facts = {fmt: probe(str(p)) for fmt, p in long_clips.items()}
    assert {f: (x.container, x.codec) for f, x in facts.items()} == {
        "flac": ("flac", "flac"),
        "ogg": ("ogg", "vorbis"),
        "opus": ("ogg", "opus"),
        "mp3": ("mp3", "mp3"),
        "m4a": ("mp4", "aac"),
    }
    for fmt, x in facts.items():
        assert abs(x.duration_ms - 12000) <= 25, fmt
        assert x.channels in (1, 2) and x.bitrate and x.bitrate > 10_000
    assert 150_000 < facts["mp3"].bitrate < 260_000  # encoded at 192k (container figure)


def _damaged(src: Path, dst: Path, how: str) -> Path:
    data = src.read_bytes()
    n = len(data)
    if how == "truncated":
        data = data[: int(n * 0.6)]
    elif how == "zeros":
        data = data[: n // 2] + b"\0" * 4096 + data[n // 2 + 4096 :]
    elif how == "bitflip":
        data = data[: n // 2] + bytes([data[n // 2] ^ 0x55]) + data[n // 2 + 1 :]
    dst.write_bytes(data)
    return dst


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("how", ["truncated", "zeros"])
def test_truncated_and_corrupt_files_are_rejected_with_a_reason(
    fmt: str, how: str, long_clips: dict[str, Path], tmp_path: Path
) -> None:
    bad = _damaged(long_clips[fmt], tmp_path / f"bad.{fmt}", how)
    rec = examine(str(bad))
    assert rec["status"] == "rejected", rec
    word = {"truncated": ("truncated", "moov"), "zeros": ("corrupt", "truncated")}[how]
    assert any(w in rec["reason"] for w in word), rec["reason"]


@pytest.mark.parametrize("fmt", ["flac", "ogg", "opus"])
def test_a_single_flipped_bit_is_found_where_the_format_has_checksums(
    fmt: str, long_clips: dict[str, Path], tmp_path: Path
) -> None:
    # FLAC frames and Ogg pages carry CRCs. MP3 and AAC frames usually have none: a flipped bit
    # there often decodes as slightly different sound, which no reader can tell.
    bad = _damaged(long_clips[fmt], tmp_path / f"flip.{fmt}", "bitflip")
    rec = examine(str(bad))
    assert rec["status"] == "rejected" and "corrupt" in rec["reason"], rec


def test_truncated_ogg_is_told_by_its_pages(long_clips: dict[str, Path], tmp_path: Path) -> None:
    bad = _damaged(long_clips["opus"], tmp_path / "cut.opus", "truncated")
    assert "truncated" in (containers.structure_problem(str(bad), "opus") or "")
    facts = probe(str(bad))  # decoding alone does not complain: hence the page check
    assert facts.duration_ms < 12000 * 0.7


def test_mislabeled_zero_length_and_not_audio(
    by_format_clips: dict[str, Path], tmp_path: Path
) -> None:
    mp3_as_flac = tmp_path / "song.flac"
    shutil.copyfile(by_format_clips["mp3"], mp3_as_flac)
    rec = examine(str(mp3_as_flac))
    assert (
        rec["status"] == "rejected"
        and rec["reason"] == "mislabeled: named .flac but the content is MP3"
    )
    opus_as_mp3 = tmp_path / "song.mp3"
    shutil.copyfile(by_format_clips["opus"], opus_as_mp3)
    assert "content is Ogg Opus" in examine(str(opus_as_mp3))["reason"]
    (tmp_path / "empty.m4a").write_bytes(b"")
    assert examine(str(tmp_path / "empty.m4a"))["reason"] == "zero-length file"
    (tmp_path / "notes.txt").write_text("hello")
    assert examine(str(tmp_path / "notes.txt"))["status"] == "ignored"
    (tmp_path / "fake.ogg").write_bytes(os.urandom(5000))
    rec = examine(str(tmp_path / "fake.ogg"))
    assert rec["status"] == "rejected" and rec["reason"].startswith("not a .ogg file")
    no_ext = tmp_path / "noext"
    shutil.copyfile(by_format_clips["flac"], no_ext)
    assert examine(str(no_ext))["status"] == "ok"


@pytest.fixture
def by_format_clips(clip_dir: Path) -> dict[str, Path]:
    return by_format(clip_dir)


def test_sniffing() -> None:
    assert formats.sniff(b"fLaC\0\0\0\x22") == "flac"
    assert formats.sniff(b"ID3\x04\0\0\0\0\0\x00", after_id3=b"fLaC") == "flac"
    assert formats.sniff(b"\xff\xfb\x90\x64" + b"\0" * 40) == "mp3"
    assert formats.sniff(b"\xff\xf1\x50\x80" + b"\0" * 40) == "adts"
    assert formats.sniff(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert formats.sniff(b"%PDF-1.4") is None
