"""Deterministic demo and test audio: short distinct clips, encoded and tagged like real files.

Clip ``i`` of seed ``s`` is always the same sound (a tone, a chord, an arpeggio or noise bursts,
its notes drawn from a generator seeded by ``(s, i)``), and the same tags: title, artists, album,
album artist, track/disc numbers, date, ISRC, MusicBrainz IDs, genre and, for every third album,
a small generated PNG cover. Encoders run with FFmpeg's bit-exact flags, so the same call makes
the same bytes on the same PyAV build. Formats: FLAC, Ogg Vorbis (FFmpeg's native encoder, which
is experimental and stereo only), Ogg Opus, MP3 and M4A (AAC).
"""

from __future__ import annotations

import os
import struct
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import orjson

from longplay.audio.tags import TagRecord, write_tags

FORMATS = ("flac", "ogg", "opus", "mp3", "m4a")


@dataclass(frozen=True)
class Encoding:
    container: str
    codec: str
    rate: int
    sample_fmt: str
    bit_rate: int | None = None
    options: tuple[tuple[str, str], ...] = ()


ENCODINGS: dict[str, Encoding] = {
    "flac": Encoding("flac", "flac", 44100, "s16"),
    "ogg": Encoding("ogg", "vorbis", 44100, "fltp", 160_000, (("strict", "experimental"),)),
    "opus": Encoding("ogg", "libopus", 48000, "flt", 96_000),
    "mp3": Encoding("mp3", "libmp3lame", 44100, "s16p", 192_000),
    "m4a": Encoding("ipod", "aac", 44100, "fltp", 160_000),
}

_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ren",
    "so",
    "ta",
    "vel",
    "ny",
    "dor",
    "ai",
    "mu",
    "zen",
    "pa",
    "ri",
    "ko",
    "la",
    "fen",
    "tor",
    "shi",
    "bel",
)
_WORDS = (
    "blue",
    "river",
    "night",
    "signal",
    "paper",
    "garden",
    "echo",
    "winter",
    "glass",
    "orbit",
    "velvet",
    "harbor",
    "static",
    "lantern",
    "summer",
    "circuit",
    "hollow",
    "north",
    "ember",
    "tide",
    "motor",
    "silver",
    "quiet",
    "machine",
)
_GENRES = ("Electronic", "Ambient", "Rock", "Jazz", "Folk", "Pop", "Classical", "Techno")
TRACKS_PER_ALBUM = 5
NAMESPACE = uuid.UUID("6c6f6e67-706c-6179-2d73-616d706c6573")  # fixed: sample MBIDs stay put


@dataclass(frozen=True)
class Clip:
    """One sample clip: what it sounds like and the tags it carries."""

    index: int
    seed: int
    kind: str  # tone, chord, arpeggio, noise
    seconds: float
    channels: int
    tags: TagRecord
    cover: bytes | None

    @property
    def track_key(self) -> str:
        return f"sample-{self.seed}-{self.index}"

    @property
    def album_key(self) -> str:
        return f"sample-{self.seed}-album-{self.index // TRACKS_PER_ALBUM}"


def _name(rng: np.random.Generator, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _title(rng: np.random.Generator, words: int) -> str:
    return " ".join(str(rng.choice(_WORDS)) for _ in range(words)).title()


def _mbid(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def clip(index: int, seed: int = 0, seconds: float = 3.0) -> Clip:
    """The ``index``-th clip of ``seed``: deterministic sound parameters and tags."""
    album_no = index // TRACKS_PER_ALBUM
    arng = np.random.default_rng([seed, album_no, 1])  # album-level facts
    rng = np.random.default_rng([seed, index, 2])  # track-level facts
    album_artist = f"{_name(arng, 2)} {_name(arng, 2)}"
    artists = (
        (album_artist,)
        if rng.random() < 0.7
        else (album_artist, f"{_name(rng, 2)} {_name(rng, 3)}")
    )
    year = int(arng.integers(1962, 2025))
    date = (
        str(year)
        if album_no % 2
        else f"{year}-{int(arng.integers(1, 13)):02d}-{int(arng.integers(1, 29)):02d}"
    )
    tags = TagRecord(
        title=_title(rng, int(rng.integers(1, 4))),
        artists=artists,
        album=_title(arng, int(arng.integers(1, 3))),
        album_artists=(album_artist,),
        track_number=index % TRACKS_PER_ALBUM + 1,
        track_total=TRACKS_PER_ALBUM,
        disc_number=1,
        disc_total=1,
        date=date,
        isrc=f"QZ{'LPS'}{year % 100:02d}{(seed * 100_000 + index) % 100_000:05d}",
        genres=(str(arng.choice(_GENRES)),),
        mb_recording_id=_mbid("recording", f"{seed}:{index}"),
        mb_release_id=_mbid("release", f"{seed}:{album_no}"),
        mb_artist_ids=tuple(_mbid("artist", a) for a in artists),
        mb_album_artist_ids=(_mbid("artist", album_artist),),
    )
    kinds = ("tone", "chord", "arpeggio", "noise")
    cover = (
        _png(16, 16, tuple(int(c) for c in arng.integers(0, 256, 3))) if album_no % 3 == 0 else None
    )
    return Clip(
        index,
        seed,
        kinds[int(rng.integers(0, len(kinds)))],
        seconds,
        1 if rng.random() < 0.25 else 2,
        tags,
        cover,
    )


def synthesize(c: Clip, rate: int) -> np.ndarray:
    """The clip's sound as float32 samples, shape (channels, n), within [-1, 1]."""
    rng = np.random.default_rng([c.seed, c.index, 3])
    n = round(c.seconds * rate)
    t = np.arange(n, dtype=np.float64) / rate
    base = 110.0 * 2 ** (rng.integers(0, 36) / 12)  # A2..A5, a semitone grid
    if c.kind == "tone":
        x = np.sin(2 * np.pi * base * t + 0.3 * np.sin(2 * np.pi * rng.uniform(2, 7) * t))
    elif c.kind == "chord":
        third = 4 if rng.random() < 0.5 else 3
        x = (
            np.sum([np.sin(2 * np.pi * base * 2 ** (s / 12) * t) for s in (0, third, 7)], axis=0)
            / 3
        )
    elif c.kind == "arpeggio":
        steps = rng.choice([0, 3, 4, 5, 7, 9, 12], size=8)
        note = np.minimum((t * 4).astype(int) % 8, 7)
        x = np.sin(2 * np.pi * np.cumsum(base * 2 ** (steps[note] / 12)) / rate)
    else:  # noise bursts, low-passed a little so they are not all alike
        x = rng.standard_normal(n)
        k = int(rng.integers(2, 12))
        x = np.convolve(x, np.ones(k) / k, mode="same")
        x = x * (np.sin(2 * np.pi * rng.uniform(1, 4) * t) > 0)
    x = np.asarray(x, dtype=np.float64)
    fade = np.minimum(1.0, np.minimum(t, t[::-1] if n else t) / 0.02)
    x = 0.5 * x * fade / max(1e-9, float(np.max(np.abs(x))) if n else 1.0)
    if c.channels == 1:
        return x[None, :].astype(np.float32)
    pan = rng.uniform(0.6, 1.0)
    return np.stack([x * pan, x * (1.6 - pan)]).astype(np.float32) * 0.8


def encode(samples: np.ndarray, rate: int, path: str | os.PathLike[str], fmt: str) -> None:
    """Encode float32 (channels, n) samples at ``rate`` into ``path`` as ``fmt`` (see FORMATS)."""
    enc = ENCODINGS[fmt]
    channels = samples.shape[0]
    if enc.codec == "vorbis" and channels == 1:  # FFmpeg's native Vorbis encoder is stereo only
        samples, channels = np.repeat(samples, 2, axis=0), 2
    layout = "mono" if channels == 1 else "stereo"
    tmp = Path(f"{os.fspath(path)}.part")
    with av.open(
        str(tmp), "w", format=enc.container, container_options={"fflags": "+bitexact"}
    ) as out:
        stream: Any = out.add_stream(
            enc.codec, rate=enc.rate, options={"flags": "+bitexact", **dict(enc.options)}
        )
        stream.layout = layout
        if enc.bit_rate:
            stream.bit_rate = enc.bit_rate
        frame_size = stream.codec_context.frame_size or 1152
        resampler = av.AudioResampler(
            format=enc.sample_fmt, layout=layout, rate=enc.rate, frame_size=frame_size
        )
        step = 4096
        for start in range(0, samples.shape[1], step):
            chunk = np.ascontiguousarray(samples[:, start : start + step])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for f in resampler.resample(frame):
                out.mux(stream.encode(f))
        for f in resampler.resample(None):
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    os.replace(tmp, path)


def write_clip(c: Clip, path: str | os.PathLike[str], fmt: str) -> Path:
    """Synthesize, encode and tag one clip."""
    rate = ENCODINGS[fmt].rate
    encode(synthesize(c, rate), rate, path, fmt)
    write_tags(str(path), c.tags, cover=c.cover)
    return Path(path)


def generate(
    out_dir: str | os.PathLike[str],
    count: int,
    *,
    seed: int = 0,
    seconds: float = 3.0,
    formats: Iterable[str] = FORMATS,
    catalog: bool = True,
) -> list[Path]:
    """Write ``count`` clips into ``out_dir`` (formats in turn), plus ``catalog.jsonl``.

    ``catalog.jsonl`` holds one flat catalog record per clip (the interchange record of
    `longplay.catalog.schema.FLAT_COLUMNS`), so a demo can ingest the metadata the files carry.
    Existing files of the same name are kept (rerunning resumes).
    """
    fmts = tuple(formats)
    unknown = [f for f in fmts if f not in ENCODINGS]
    if unknown or not fmts:
        from longplay.errors import InputError

        raise InputError(
            f"unknown sample format(s) {unknown or fmts}; choose from {', '.join(FORMATS)}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, records = [], []
    for i in range(count):
        c = clip(i, seed, seconds)
        fmt = fmts[i % len(fmts)]
        album_dir = out / f"{c.tags.album_artists[0]} - {c.tags.album}"
        album_dir.mkdir(exist_ok=True)
        path = album_dir / f"{c.tags.track_number:02d} {c.tags.title}.{fmt}"
        if not path.exists():
            write_clip(c, path, fmt)
        paths.append(path)
        records.append(flat_record(c))
    if catalog:
        tmp = out / "catalog.jsonl.part"
        tmp.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        os.replace(tmp, out / "catalog.jsonl")
    return paths


def flat_record(c: Clip) -> dict[str, object]:
    """The clip as a flat catalog record (`longplay.catalog.schema.FLAT_COLUMNS`)."""
    t = c.tags
    artist_mbids = dict(zip(t.artists, t.mb_artist_ids, strict=True))
    return {
        "track_key": c.track_key,
        "title": t.title,
        "isrc": t.isrc,
        "mbid": t.mb_recording_id,
        "duration_ms": round(c.seconds * 1000),
        "disc_number": t.disc_number,
        "track_number": t.track_number,
        "explicit": False,
        # 0-60: the range of a demo-sized synthetic catalog's head, so clips spread over the
        # tiers without outweighing the catalog they are put in.
        "popularity": int(np.random.default_rng([c.seed, c.index, 4]).integers(0, 61)),
        "genres": list(t.genres),
        "artists": [
            {
                "key": a,
                "name": a,
                "mbid": artist_mbids[a],
                "join_phrase": ", " if k < len(t.artists) - 1 else "",
            }
            for k, a in enumerate(t.artists)
        ],
        "album_key": c.album_key,
        "album_title": t.album,
        "album_type": "album",
        "release_date": t.date,
        "total_tracks": t.track_total,
        "album_mbid": t.mb_release_id,
        "album_artists": [
            {"key": a, "name": a, "mbid": m, "join_phrase": ""}
            for a, m in zip(t.album_artists, t.mb_album_artist_ids, strict=True)
        ],
    }


def _png(width: int, height: int, rgb: tuple[int, ...]) -> bytes:
    """A minimal solid-colour PNG (enough to be a real, decodable cover)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )
