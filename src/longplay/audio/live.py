"""On-the-fly transcoding for playback (PyAV): encoded bytes yielded while the encoder runs.

The output container writes into an in-memory sink, flushed after every packet and drained as
soon as it holds anything for the first time, then every ``chunk_bytes``: the first bytes
(container header and first page or frames) leave long before the track is done.
Formats are the ones browsers and Subsonic apps play from a plain HTTP stream that cannot be
seeked back into:

* ``opus``: Ogg Opus at 48 kHz, the rate libopus works at inside.
* ``mp3``: MPEG-1 Layer III, constant bitrate (libmp3lame).
* ``aac``: AAC-LC in ADTS. Not fragmented MP4: ADTS has no header to write first and no index
  to patch last, every frame carries its own sync word, so a cut, padded or resumed stream
  still decodes; browsers play ``audio/aac`` in ``<audio>``, and so do Android's Media3
  (ExoPlayer) and Apple's AVPlayer, the players under most Subsonic apps. Fragmented MP4 is
  for Media Source Extensions players, which would need an init segment before any audio.

A stream cannot rewrite its start, so MP3 and ADTS carry no encoder-delay field (the Xing/LAME
header needs a seek back); their decoded audio starts with the encoder's priming samples
(1105 for LAME, 1024 for FFmpeg's AAC) and ends padded to a whole frame. Ogg Opus signals both.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import av
import numpy as np

from longplay.errors import InputError


@dataclass(frozen=True)
class Format:
    container: str
    codec: str
    mime: str
    sample_fmt: str
    frame_size: int  # samples per encoder frame (the encoder takes exactly this many)
    default_bitrate: int
    min_bitrate: int
    max_bitrate: int
    options: tuple[tuple[str, str], ...] = ()


FORMATS: dict[str, Format] = {
    # 96 kbit/s: the low end of what Xiph suggests for stereo music; 510k is libopus's cap.
    # Constrained VBR keeps a stream within ~1% of its bitrate: plain VBR sent 123k for 96k
    # asked on a pure tone (112k on a generated clip), more than estimate_length can promise.
    "opus": Format(
        "ogg", "libopus", "audio/ogg", "flt", 960, 96_000, 6_000, 510_000, (("vbr", "constrained"),)
    ),
    "mp3": Format("mp3", "libmp3lame", "audio/mpeg", "s16p", 1152, 192_000, 32_000, 320_000),
    # FFmpeg's native AAC encoder: asked for 256k on stereo 44.1 kHz it delivered 220-245k on
    # four sources (its quality ceiling), so 192k is the highest rate it keeps.
    "aac": Format("adts", "aac", "audio/aac", "fltp", 1024, 160_000, 32_000, 192_000),
}
# The bitrates MPEG-1 Layer III can signal at 32-48 kHz; libmp3lame rounds to one of them, and
# snapping here first keeps estimate_length in step with what is sent.
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
# Ogg pages are flushed at least this often (µs of audio): FFmpeg's default is 1 s, which would
# hold back the first audio page; 100 ms pages cost ~30 bytes of page header each (0.3 kB/s).
OGG_PAGE_US = 100_000
_PASSTHROUGH_RATES = (32_000, 44_100, 48_000)


def _format(fmt: str) -> Format:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise InputError(
            f"transcode format {fmt!r} is not one of {', '.join(sorted(FORMATS))}"
        ) from None


def content_type(fmt: str) -> str:
    """The MIME type of a transcode to ``fmt``."""
    return _format(fmt).mime


def clamp_bitrate(fmt: str, bitrate: int | None) -> int:
    """``bitrate`` (bits/s; None or 0 means the default) within the range the codec takes."""
    spec = _format(fmt)
    value = min(max(bitrate or spec.default_bitrate, spec.min_bitrate), spec.max_bitrate)
    if fmt == "mp3":
        value = max(b for b in MP3_BITRATES if b * 1000 <= value) * 1000
    return value


# What a transcode sends beyond ``duration x bitrate``: (factor on the bitrate, bytes/s of
# framing, seconds of priming and end padding, fixed bytes). Measured on 6 s tones and 20 s
# generated clips (FLAC, MP3, Ogg Vorbis sources) at 32k-320k, then rounded up so the estimate
# covers every one of them: constrained-VBR Opus came out 1.5-6.5% over its bitrate (Ogg page
# headers and lacing, ~300 B/s, plus up to 1% from the encoder), CBR MP3 exact but for LAME's
# 1105 priming samples and the last frame's padding, FFmpeg's AAC up to 5.6% over at 64k plus
# 7 bytes of ADTS header per 1024 samples (~300 B/s).
_OVERHEAD = {
    "opus": (1.01, 400, 0.03, 1000),
    "mp3": (1.0, 0, 0.08, 0),
    "aac": (1.06, 350, 0.05, 1000),
}


def estimate_length(duration_s: float, fmt: str, bitrate: int) -> int:
    """The byte length a transcode of ``duration_s`` seconds to ``fmt`` will not exceed.

    (For the sources measured; a server sending this as Content-Length pads a shorter stream.)
    """
    rate = clamp_bitrate(fmt, bitrate)
    factor, per_s, extra_s, fixed = _OVERHEAD[fmt]
    return int((max(duration_s, 0.0) + extra_s) * (rate / 8 * factor + per_s)) + fixed


class _Sink:
    """A write-only file for the muxer: no seek or tell, so FFmpeg treats it as a stream."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return out


def _output_rate(fmt: str, source_rate: int) -> int:
    if fmt == "opus":
        return 48_000
    if source_rate in _PASSTHROUGH_RATES:
        return source_rate
    return 44_100 if source_rate % 11_025 == 0 else 48_000


def _trim_start(frame: Any, skip: int) -> Any:
    """``frame`` without its first ``skip`` samples (the part before the seek target)."""
    arr = frame.to_ndarray()
    # Planar audio is (channels, samples); packed is (1, samples x channels), interleaved.
    width = 1 if frame.format.is_planar else len(frame.layout.channels)
    arr = arr[:, skip * width :]
    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), frame.format.name, frame.layout)
    out.sample_rate = frame.sample_rate
    return out


def _decoded(inp: Any, stream: Any, offset_s: float) -> Iterator[Any]:
    """Decoded frames of ``stream`` from ``offset_s`` on, cut to the sample."""
    # Timestamps count from the stream's start time, not from its first sample: an MP3 with a
    # LAME header starts at 1105 samples (the encoder delay FFmpeg skips on a plain read), so a
    # seek that ignored it would start 25 ms early.
    origin = stream.start_time or 0
    origin_s = float(origin * stream.time_base)
    if offset_s > 0:
        # Seeks land on or before the target (a packet or keyframe boundary); the rest is
        # decoded and cut below.
        inp.seek(int(offset_s / stream.time_base) + origin, stream=stream, backward=True)
    for frame in inp.decode(stream):
        if offset_s > 0 and frame.pts is not None and frame.time_base is not None:
            start = float(frame.pts * frame.time_base) - origin_s
            skip = round((offset_s - start) * frame.sample_rate)
            if skip >= frame.samples:
                continue
            if skip > 0:
                frame = _trim_start(frame, skip)
        frame.pts = None
        yield frame


def transcode_chunks(
    src: str | os.PathLike[str] | BinaryIO,
    fmt: str,
    *,
    bitrate: int | None = None,
    offset_s: float = 0.0,
    chunk_bytes: int = 64 * 1024,
) -> Generator[bytes, None, None]:
    """Encode the first audio stream of ``src`` to ``fmt``, yielding the bytes as they come.

    The first bytes are yielded as soon as the muxer writes them; after that, chunks of about
    ``chunk_bytes`` (the last one shorter). Closing the iterator stops the encoder.
    """
    spec = _format(fmt)
    rate_bits = clamp_bitrate(fmt, bitrate)
    # A path, or an open binary file (a track read from the swarm as it arrives).
    target: Any = src
    name = "stream"
    if isinstance(src, str | os.PathLike):
        target = name = os.fspath(src)
    try:
        inp = av.open(target, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{name}: cannot be read ({exc})") from None
    sink = _Sink()
    options = {"flush_packets": "1", "fflags": "+bitexact"}
    if spec.container == "ogg":
        options["page_duration"] = str(OGG_PAGE_US)
    with inp:
        if not inp.streams.audio:
            raise InputError(f"{name}: no audio stream")
        ist = inp.streams.audio[0]
        layout = "mono" if ist.codec_context.channels == 1 else "stereo"
        rate = _output_rate(fmt, ist.codec_context.sample_rate or 48_000)
        with av.open(sink, "w", format=spec.container, container_options=options) as out:
            ost: Any = out.add_stream(spec.codec, rate=rate, options=dict(spec.options))
            ost.layout = layout
            ost.bit_rate = rate_bits
            resampler = av.AudioResampler(
                format=spec.sample_fmt, layout=layout, rate=rate, frame_size=spec.frame_size
            )
            written = 0
            sent_any = False

            def encode(frames: list[Any]) -> None:
                nonlocal written
                for f in frames:
                    f.pts, written = written, written + f.samples
                    out.mux(ost.encode(f))

            try:
                for frame in _decoded(inp, ist, max(offset_s, 0.0)):
                    encode(resampler.resample(frame))
                    if sink.size and (not sent_any or sink.size >= chunk_bytes):
                        sent_any = True
                        yield sink.drain()
                encode(resampler.resample(None))
                out.mux(ost.encode(None))
            except av.FFmpegError as exc:
                raise InputError(f"{name}: decoding failed ({exc})") from None
        # Leaving the `with` wrote the trailer (the last Ogg page) into the sink.
        if written == 0 and not sent_any and offset_s <= 0:
            raise InputError(f"{name}: no audio decoded")
        if sink.size:
            yield sink.drain()
