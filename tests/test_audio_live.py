"""On-the-fly transcodes: they decode, last as long as the source, seek, and stream early."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from longplay.audio import live
from longplay.errors import InputError
from tones import HIGH, LOW, decode, pitch, write_tone

FORMATS = ("opus", "mp3", "aac")
# A stream cannot carry the encoder delay of MP3 (LAME's 1105 priming samples, no Xing header)
# or ADTS AAC (1024): their decoded audio is that much longer, plus the last frame's padding.
# Ogg Opus signals both, so it decodes to the sample; the tolerance there is one 20 ms frame.
SLACK_S = {"opus": 0.020, "mp3": (1105 + 1152) / 44_100, "aac": (1024 + 1024) / 44_100}


@pytest.fixture(scope="module")
def tone_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tones")
    write_tone(out / "tone.flac")
    write_tone(out / "tone.mp3")
    write_tone(out / "tone.opus", rate=48_000)
    return out


def transcode(src: Path, fmt: str, **kw: object) -> bytes:
    return b"".join(live.transcode_chunks(src, fmt, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("source", ["tone.flac", "tone.mp3", "tone.opus"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_transcode_decodes_to_the_source_duration(tone_dir: Path, source: str, fmt: str) -> None:
    samples, rate = decode(transcode(tone_dir / source, fmt))
    seconds = len(samples) / rate
    assert 6.0 - 0.020 <= seconds <= 6.0 + SLACK_S[fmt], seconds
    # Opus is always 48 kHz; MP3 and AAC keep a source rate of 32, 44.1 or 48 kHz.
    assert rate == (48_000 if "opus" in (fmt, source[5:]) else 44_100)
    assert pitch(samples, rate, 0.5) == pytest.approx(LOW, abs=10)
    assert pitch(samples, rate, 4.0) == pytest.approx(HIGH, abs=10)


@pytest.mark.parametrize("source", ["tone.flac", "tone.mp3", "tone.opus"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_offset_starts_at_the_offset(tone_dir: Path, source: str, fmt: str) -> None:
    samples, rate = decode(transcode(tone_dir / source, fmt, offset_s=2.0))
    assert 4.0 - 0.020 <= len(samples) / rate <= 4.0 + SLACK_S[fmt]
    # The pitch changes at 2 s of the source: from the offset on, the first sound is the high one.
    start = SLACK_S[fmt] if fmt != "opus" else 0.0
    assert pitch(samples, rate, start + 0.02, 0.1) == pytest.approx(HIGH, abs=15)


def test_offset_cuts_to_the_sample(tone_dir: Path) -> None:
    # 2.5 s into 6 s of FLAC: Opus, which trims its own delay, leaves exactly 3.5 s.
    samples, rate = decode(transcode(tone_dir / "tone.flac", "opus", offset_s=2.5))
    assert abs(len(samples) - 3.5 * rate) <= 1


def test_first_chunk_arrives_long_before_the_end(tone_dir: Path) -> None:
    long_src = write_tone(tone_dir / "long.flac", seconds=60.0, change_s=30.0)
    start = time.perf_counter()
    chunks = live.transcode_chunks(long_src, "opus")
    first = next(chunks)
    first_s = time.perf_counter() - start
    rest = sum(len(c) for c in chunks)
    total_s = time.perf_counter() - start
    print(
        f"opus, 60 s source: first chunk after {first_s * 1000:.1f} ms of {total_s * 1000:.0f} ms"
    )
    assert first.startswith(b"OggS") and rest > 0
    assert first_s < total_s / 10


def test_chunks_are_about_chunk_bytes(tone_dir: Path) -> None:
    sizes = [len(c) for c in live.transcode_chunks(tone_dir / "tone.flac", "mp3", chunk_bytes=8192)]
    assert len(sizes) > 5
    assert all(8192 <= s < 8192 + 2048 for s in sizes[1:-1]), sizes


def test_closing_the_iterator_stops_the_encoder(tone_dir: Path) -> None:
    chunks = live.transcode_chunks(tone_dir / "tone.flac", "aac", chunk_bytes=1024)
    next(chunks)
    next(chunks)
    chunks.close()  # GeneratorExit inside: both containers close without raising
    with pytest.raises(StopIteration):
        next(chunks)


def test_content_types() -> None:
    assert live.content_type("opus") == "audio/ogg"
    assert live.content_type("mp3") == "audio/mpeg"
    assert live.content_type("aac") == "audio/aac"
    with pytest.raises(InputError, match="flac"):
        live.content_type("flac")


def test_bitrates_are_clamped_to_the_codec() -> None:
    assert live.clamp_bitrate("opus", None) == 96_000
    assert live.clamp_bitrate("opus", 1_000) == 6_000
    assert live.clamp_bitrate("opus", 10_000_000) == 510_000
    assert live.clamp_bitrate("mp3", 150_000) == 128_000  # down to a rate MPEG can signal
    assert live.clamp_bitrate("mp3", 999_000) == 320_000
    assert live.clamp_bitrate("aac", 0) == 160_000


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bitrate", [64_000, 192_000])
def test_estimate_covers_the_real_length(tone_dir: Path, fmt: str, bitrate: int) -> None:
    size = len(transcode(tone_dir / "tone.flac", fmt, bitrate=bitrate))
    estimate = live.estimate_length(6.0, fmt, bitrate)
    assert size <= estimate <= size * 1.10, (size, estimate)


def test_garbage_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00not audio at all" * 500)
    with pytest.raises(InputError, match=r"junk\.mp3"):
        transcode(junk, "opus")
    with pytest.raises(InputError, match=r"missing\.flac"):
        transcode(tmp_path / "missing.flac", "mp3")


def test_a_file_without_audio_is_an_input_error(tmp_path: Path) -> None:
    png = tmp_path / "cover.png"
    Image.new("RGB", (8, 8)).save(png)
    with pytest.raises(InputError, match=r"cover\.png"):
        transcode(png, "opus")
