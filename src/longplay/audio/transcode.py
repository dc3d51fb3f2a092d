"""Re-encode audio to Ogg Opus (PyAV, libopus) with the tags carried over.

This is how the archive stores its long tail: 75 kbit/s Opus (setting ``opus_bitrate``).
The source is decoded, resampled to 48 kHz (Opus's native rate), mono kept mono and anything
else mixed to stereo, encoded with libopus in its default VBR mode and written with FFmpeg's
bit-exact flags, so the same input gives the same bytes. Tags (and the front cover) come from
the source unless a tag record is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
from mutagen import MutagenError

from longplay.audio import partial
from longplay.audio.tags import TagRecord, read_cover, read_tags, write_tags
from longplay.errors import InputError, LongplayError

OPUS_RATE = 48000
FRAME = 960  # 20 ms at 48 kHz, libopus's default frame


@dataclass(frozen=True)
class Transcoded:
    path: Path
    seconds: float  # audio duration written
    tags: TagRecord | None


def _source_tags(src: str) -> tuple[TagRecord | None, bytes | None]:
    try:
        return read_tags(src).record, read_cover(src)
    except (LongplayError, MutagenError):
        # A format whose tags Longplay does not read, or tags mutagen cannot parse: the audio
        # may still decode, and the Opus file then carries no tags.
        return None, None


def transcode_opus(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    bitrate: int = 75_000,
    tags: TagRecord | None = None,
    cover: bytes | None = None,
) -> Transcoded:
    """Encode the first audio stream of ``src`` as Ogg Opus at ``bitrate`` bits/s into ``dst``."""
    src, dst = Path(src), Path(dst)
    if not 6_000 <= bitrate <= 510_000:
        raise InputError(f"Opus bitrate {bitrate} is outside 6k..510k bits/s")
    if tags is None:
        tags, source_cover = _source_tags(str(src))
        cover = cover if cover is not None else source_cover
    dst.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with partial.claimed(dst, ".opus") as tmp:
        try:
            inp = av.open(str(src), metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise InputError(f"{src}: cannot be read ({exc})") from None
        with (
            inp,
            av.open(str(tmp), "w", format="ogg", container_options={"fflags": "+bitexact"}) as out,
        ):
            if not inp.streams.audio:
                raise InputError(f"{src}: no audio stream")
            ist = inp.streams.audio[0]
            layout = "mono" if ist.codec_context.channels == 1 else "stereo"
            ost = out.add_stream("libopus", rate=OPUS_RATE, options={"flags": "+bitexact"})
            ost.layout = layout
            ost.bit_rate = bitrate
            resampler = av.AudioResampler(
                format="flt", layout=layout, rate=OPUS_RATE, frame_size=FRAME
            )
            try:
                for frame in inp.decode(ist):
                    frame.pts = None
                    for f in resampler.resample(frame):
                        f.pts, written = written, written + f.samples
                        out.mux(ost.encode(f))
                for f in resampler.resample(None):
                    f.pts, written = written, written + f.samples
                    out.mux(ost.encode(f))
                out.mux(ost.encode(None))
            except av.FFmpegError as exc:
                raise InputError(f"{src}: decoding failed ({exc})") from None
        if written == 0:
            raise InputError(f"{src}: no audio decoded")
        if tags is not None or cover is not None:
            write_tags(str(tmp), tags or TagRecord(), cover=cover)
        os.replace(tmp, dst)
    return Transcoded(dst, written / OPUS_RATE, tags)
