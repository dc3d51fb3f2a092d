"""Stream facts of one audio file (PyAV), its audio-payload hash, and integrity checks.

The *payload hash* is the SHA-256 of the audio stream's demuxed packet data, in order: what the
codec decodes, without container framing or tags. Re-tagging a file (ID3, Vorbis comments, MP4
atoms, FLAC blocks, even re-paging an Ogg stream) leaves it unchanged; different audio changes it.

`probe` decodes every frame (unless told not to), which gives an exact duration and finds what a
header read cannot: corrupt frames, and files cut short of the length their header declares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import av
import av.logging

# Containers as PyAV names them -> the short names the library table stores.
_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "ogg": "ogg", "flac": "flac", "mp3": "mp3"}
# A decoded duration this much shorter than the header's (plus 1%) means a truncated file.
TRUNCATION_SLACK_MS = 250
_ESTIMATED = "Estimating duration from bitrate"


class AudioProblem(Exception):
    """Why a file cannot be archived as it is (the scan's reject reason)."""


@dataclass(frozen=True)
class StreamFacts:
    container: str
    codec: str
    duration_ms: int
    bitrate: int | None
    sample_rate: int
    channels: int
    payload_sha256: str
    packets: int
    decoded: bool


@contextmanager
def _ffmpeg_log() -> Iterator[list[tuple[int, str, str]]]:
    """Capture FFmpeg's warnings and errors of this thread (they are off by default in PyAV)."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    av.logging.set_skip_repeated(False)  # else a message of the last file leaks into this one
    try:
        with av.logging.Capture(local=True) as logs:
            yield logs
    finally:
        av.logging.set_level(previous)


def _error_text(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else getattr(exc, "strerror", None) or str(exc)
    return str(text).strip().splitlines()[0].rstrip(".") if str(text).strip() else "unknown error"


def _audio_stream(container: Any) -> Any:
    audio = list(container.streams.audio)
    if not audio:
        raise AudioProblem("no audio stream")
    videos = [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if videos:
        raise AudioProblem("has a video stream (Longplay archives audio-only files)")
    return audio[0]


def probe(path: str, *, decode: bool = True) -> StreamFacts:
    """Facts of the first audio stream of ``path``; `AudioProblem` when it is broken."""
    with _ffmpeg_log() as logs:
        try:
            container = av.open(path, metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            detail = "; ".join(_error_text(m) for lvl, _, m in logs if lvl <= av.logging.ERROR)
            raise AudioProblem(
                f"cannot be read ({_error_text(exc)}{': ' + detail if detail else ''})"
            ) from None
        with container:
            stream = _audio_stream(container)
            ctx = stream.codec_context
            estimated = any(_ESTIMATED in m for _, _, m in logs)
            opened = len(logs)
            digest = hashlib.sha256()
            packets = samples = 0
            rate = ctx.sample_rate
            position = 0.0
            if decode:
                ctx.options = {"err_detect": "crccheck"}  # FLAC frame CRCs, MP3 CRCs when present
            failure: tuple[int, float, str] | None = None  # (packet number, seconds, message)
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    digest.update(packet)
                    packets += 1
                    if packet.pts is not None and packet.time_base is not None:
                        position = float(packet.pts * packet.time_base)
                    if not decode:
                        continue
                    try:
                        for frame in ctx.decode(packet):
                            samples += frame.samples
                            rate = frame.sample_rate or rate
                    except av.FFmpegError as exc:  # go on: is it the end (cut off) or the middle?
                        failure = failure or (packets, position, _error_text(exc))
                    if failure is None and len(logs) > opened:
                        errors = [
                            _error_text(m) for lvl, _, m in logs[opened:] if lvl <= av.logging.ERROR
                        ]
                        if errors:
                            failure = (packets, position, errors[0])
                        opened = len(logs)
                if decode:
                    for frame in ctx.decode(None):
                        samples += frame.samples
            except av.FFmpegError as exc:
                failure = failure or (packets + 1, position, _error_text(exc))
            declared_ms = container.duration // 1000 if container.duration else None
            at_end = failure is not None and failure[0] >= packets - 1
            if decode:
                duration_ms = round(samples * 1000 / rate) if rate else 0
                short = (
                    bool(declared_ms)
                    and not estimated
                    and duration_ms + TRUNCATION_SLACK_MS + (declared_ms or 0) // 100
                    < (declared_ms or 0)
                )
                if short or at_end:
                    raise AudioProblem(
                        f"truncated: the header says {(declared_ms or 0) / 1000:.1f} s but only "
                        f"{duration_ms / 1000:.1f} s of audio decode"
                        if short
                        else f"truncated: the last frame near {position:.1f} s is cut off"
                        + (f" ({failure[2]})" if failure else "")
                    )
            elif stream.duration and stream.time_base:
                duration_ms = round(float(stream.duration * stream.time_base) * 1000)
            else:
                duration_ms = declared_ms or 0
            if failure:
                raise AudioProblem(f"corrupt audio near {failure[1]:.1f} s ({failure[2]})")
            if packets == 0 or (decode and samples == 0):
                raise AudioProblem("no audio frames")
            fmt = container.format.name
            return StreamFacts(
                container=_CONTAINERS.get(fmt, fmt),
                codec=ctx.codec.canonical_name,
                duration_ms=duration_ms,
                bitrate=container.bit_rate or ctx.bit_rate or None,
                sample_rate=ctx.sample_rate or rate,
                channels=ctx.channels,
                payload_sha256=digest.hexdigest(),
                packets=packets,
                decoded=decode,
            )


def payload_sha256(path: str) -> str:
    """The audio-payload hash alone (demux only, no decoding)."""
    return probe(path, decode=False).payload_sha256
