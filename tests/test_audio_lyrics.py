"""Embedded lyrics read into OpenSubsonic's structuredLyrics shape, LRC timestamps parsed."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.flac import FLAC
from mutagen.id3 import ID3, SYLT, USLT
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus

from longplay.audio.covers import lyrics
from longplay.audio.lyrics import parse_lyrics
from tones import write_tone

LRC = """[ar:Some Artist]
[ti:Some Title]
[00:12.34]First line
[00:05.5]Earlier line
[01:02.005][01:30.00]Chorus <01:02.50>with <01:03.00>words
"""
PLAIN = "\nVerse one\n\nVerse two\n"


def test_lrc_becomes_synced_lines_in_time_order() -> None:
    entry = parse_lyrics(LRC)
    assert entry == {
        "lang": "und",
        "displayArtist": "Some Artist",
        "displayTitle": "Some Title",
        "synced": True,
        "line": [
            {"start": 5_500, "value": "Earlier line"},
            {"start": 12_340, "value": "First line"},
            {"start": 62_005, "value": "Chorus with words"},
            {"start": 90_000, "value": "Chorus with words"},
        ],
    }


def test_lrc_offset_moves_the_lines_sooner() -> None:
    entry = parse_lyrics("[offset:+500]\n[00:01.00]a\n[00:00.20]b")
    assert entry is not None
    assert [line["start"] for line in entry["line"]] == [0, 500]


def test_plain_text_is_unsynced_with_blank_lines_kept_inside() -> None:
    assert parse_lyrics(PLAIN, "eng") == {
        "lang": "eng",
        "synced": False,
        "line": [{"value": "Verse one"}, {"value": ""}, {"value": "Verse two"}],
    }
    assert parse_lyrics("  \n\n") is None


@pytest.fixture
def tracks(tmp_path: Path) -> dict[str, Path]:
    return {
        "flac": write_tone(tmp_path / "a.flac", seconds=0.3),
        "mp3": write_tone(tmp_path / "b.mp3", seconds=0.3),
        "m4a": write_tone(tmp_path / "c.m4a", seconds=0.3),
        "opus": write_tone(tmp_path / "d.opus", seconds=0.3, rate=48_000),
    }


def test_vorbis_lyrics_and_unsyncedlyrics(tracks: dict[str, Path]) -> None:
    f = FLAC(tracks["flac"])
    f["LYRICS"] = LRC
    f.save()
    o = OggOpus(tracks["opus"])
    o["UNSYNCEDLYRICS"] = PLAIN
    o.save()
    (flac,) = lyrics(tracks["flac"])
    assert flac["synced"] and len(flac["line"]) == 4
    (opus,) = lyrics(tracks["opus"])
    assert not opus["synced"] and opus["line"][0] == {"value": "Verse one"}


def test_id3_uslt_and_sylt(tracks: dict[str, Path]) -> None:
    tags = ID3(tracks["mp3"])
    tags.add(USLT(encoding=3, lang="deu", desc="", text=PLAIN))
    tags.add(SYLT(encoding=3, lang="eng", format=2, type=1, text=[("Two", 2000), ("One", 1000)]))
    tags.save()
    synced, plain = lyrics(tracks["mp3"])  # synced entries first
    assert synced == {
        "lang": "eng",
        "synced": True,
        "line": [{"start": 1000, "value": "One"}, {"start": 2000, "value": "Two"}],
    }
    assert plain["lang"] == "deu" and not plain["synced"]


def test_uslt_holding_lrc_is_synced(tracks: dict[str, Path]) -> None:
    tags = ID3(tracks["mp3"])
    tags.add(USLT(encoding=3, lang="XXX", desc="", text=LRC))
    tags.save()
    (entry,) = lyrics(tracks["mp3"])
    assert entry["synced"] and entry["lang"] == "und"


def test_mp4_lyr_atom(tracks: dict[str, Path]) -> None:
    f = MP4(tracks["m4a"])
    f["©lyr"] = [PLAIN]
    f.save()
    (entry,) = lyrics(tracks["m4a"])
    assert [line["value"] for line in entry["line"]] == ["Verse one", "", "Verse two"]


def test_sidecar_lrc_and_no_lyrics(tracks: dict[str, Path], tmp_path: Path) -> None:
    assert lyrics(tracks["flac"]) == []
    (tmp_path / "a.lrc").write_text("[00:01.00]beside", encoding="utf-8")
    assert lyrics(tracks["flac"]) == [
        {"lang": "und", "synced": True, "line": [{"start": 1000, "value": "beside"}]}
    ]


def test_unreadable_file_has_no_lyrics(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\xff\xfb junk" * 10)
    assert lyrics(junk) == []
    assert lyrics(tmp_path / "missing.flac") == []
