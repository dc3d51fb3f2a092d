"""The sample clip generator: deterministic, distinct, really encoded, realistically tagged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from audiofixtures import clip_files
from longplay.audio import samples
from longplay.audio.probe import probe
from longplay.audio.tags import read_cover, read_tags
from longplay.catalog.schema import FLAT_COLUMNS

EXPECTED = {
    "flac": ("flac", "flac"),
    "ogg": ("ogg", "vorbis"),
    "opus": ("ogg", "opus"),
    "mp3": ("mp3", "mp3"),
    "m4a": ("mp4", "aac"),
}


def test_each_format_is_real_audio_of_the_right_codec_and_length(clip_dir: Path) -> None:
    files = clip_files(clip_dir)
    assert sorted({p.suffix for p in files}) == [".flac", ".m4a", ".mp3", ".ogg", ".opus"]
    for path in files:
        facts = probe(str(path))
        assert (facts.container, facts.codec) == EXPECTED[path.suffix[1:]], path
        assert abs(facts.duration_ms - 3000) <= 25, (path, facts.duration_ms)
        assert facts.sample_rate == (48000 if path.suffix == ".opus" else 44100)


def test_tags_read_back_as_generated(clip_dir: Path) -> None:
    files = clip_files(clip_dir)
    for i in range(10):
        c = samples.clip(i, 0, 3.0)
        [path] = [
            p
            for p in files
            if p.stem.endswith(c.tags.title or "?")
            and p.parent.name.endswith(c.tags.album or "?")
            and p.name.startswith(f"{c.tags.track_number:02d}")
        ]
        got = read_tags(str(path)).record
        assert got.title == c.tags.title and got.artists == c.tags.artists
        assert got.isrc == c.tags.isrc and got.mb_recording_id == c.tags.mb_recording_id
        assert (got.track_number, got.track_total) == (c.tags.track_number, 5)
        assert got.date == c.tags.date and got.genres == c.tags.genres
        assert got.has_cover == (c.cover is not None)
        if c.cover:
            assert read_cover(str(path)) == c.cover


def test_same_call_same_bytes_and_clips_are_distinct(tmp_path: Path) -> None:
    a = samples.generate(tmp_path / "a", 5, seed=3, seconds=1.0)
    b = samples.generate(tmp_path / "b", 5, seed=3, seconds=1.0)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in a]
    assert digest == [hashlib.sha256(p.read_bytes()).hexdigest() for p in b]
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    payloads = {probe(str(p)).payload_sha256 for p in a}
    assert len(payloads) == 5
    other = samples.generate(tmp_path / "c", 1, seed=4, seconds=1.0)
    assert probe(str(other[0])).payload_sha256 not in payloads


def test_catalog_jsonl_describes_the_clips(clip_dir: Path) -> None:
    lines = (clip_dir / "catalog.jsonl").read_bytes().splitlines()
    records = [orjson.loads(x) for x in lines]
    assert len(records) == 10
    for rec in records:
        assert set(rec) <= set(FLAT_COLUMNS)
        assert rec["duration_ms"] == 3000 and rec["artists"][0]["name"]
    assert len({r["isrc"] for r in records}) == 10
    assert {r["album_key"] for r in records} == {"sample-0-album-0", "sample-0-album-1"}


def test_mono_vorbis_is_written_as_stereo(tmp_path: Path) -> None:
    # FFmpeg's native Vorbis encoder only does stereo; mono clips are duplicated to two channels.
    mono = next(samples.clip(i, 0, 1.0) for i in range(50) if samples.clip(i, 0, 1.0).channels == 1)
    path = samples.write_clip(mono, tmp_path / "m.ogg", "ogg")
    assert probe(str(path)).channels == 2
    assert probe(str(samples.write_clip(mono, tmp_path / "m.flac", "flac"))).channels == 1
