"""Which audio formats Longplay archives, and what a file is by its first bytes and its name.

Longplay archives the formats it can tag without re-encoding and restore bit for bit: FLAC,
Ogg Vorbis, Ogg Opus, MP3 and MP4/M4A (AAC or ALAC). A scan sniffs every file's first bytes;
a file whose content is not what its extension says is *mislabeled*; an audio file of another
format (WAV, AIFF, APE, WavPack, Musepack, DSF, WMA, ...) is *unsupported*; both are rejected.
"""

from __future__ import annotations

from pathlib import PurePath

# Content kinds this module can tell apart; the first five are the supported ones.
NAMES = {
    "flac": "FLAC",
    "vorbis": "Ogg Vorbis",
    "opus": "Ogg Opus",
    "mp3": "MP3",
    "mp4": "MP4/M4A",
    "ogg-flac": "Ogg FLAC",
    "ogg-speex": "Ogg Speex",
    "ogg": "Ogg (other codec)",
    "wav": "WAV",
    "aiff": "AIFF",
    "ape": "Monkey's Audio (APE)",
    "wavpack": "WavPack",
    "musepack": "Musepack",
    "dsf": "DSD (DSF)",
    "dff": "DSD (DFF)",
    "asf": "Windows Media (ASF/WMA)",
    "adts": "raw AAC (ADTS)",
    "ac3": "AC-3",
    "matroska": "Matroska/WebM",
    "midi": "MIDI",
}
SUPPORTED = frozenset({"flac", "vorbis", "opus", "mp3", "mp4"})
# The codecs PyAV must report for a supported kind (an .m4a holding something else is refused).
CODECS = {
    "flac": {"flac"},
    "vorbis": {"vorbis"},
    "opus": {"opus"},
    "mp3": {"mp3"},
    "mp4": {"aac", "alac"},
}
SUPPORTED_TEXT = "FLAC, Ogg Vorbis, Ogg Opus, MP3 and MP4/M4A (AAC, ALAC)"

# Extension -> content kinds it may hold. Files with other extensions are sniffed, and skipped
# as not audio when their content is none of the kinds above (cover.jpg, notes.txt, ...).
EXTENSIONS: dict[str, frozenset[str]] = {
    ".flac": frozenset({"flac"}),
    ".fla": frozenset({"flac"}),
    ".ogg": frozenset({"vorbis", "opus", "ogg-flac", "ogg-speex", "ogg"}),
    ".oga": frozenset({"vorbis", "opus", "ogg-flac", "ogg-speex", "ogg"}),
    ".opus": frozenset({"opus"}),
    ".spx": frozenset({"ogg-speex"}),
    ".mp3": frozenset({"mp3"}),
    ".mp2": frozenset({"mp3"}),
    ".m4a": frozenset({"mp4"}),
    ".m4b": frozenset({"mp4"}),
    ".mp4": frozenset({"mp4"}),
    ".alac": frozenset({"mp4"}),
    ".aac": frozenset({"adts", "mp4"}),
    ".wav": frozenset({"wav"}),
    ".aif": frozenset({"aiff"}),
    ".aiff": frozenset({"aiff"}),
    ".aifc": frozenset({"aiff"}),
    ".ape": frozenset({"ape"}),
    ".wv": frozenset({"wavpack"}),
    ".mpc": frozenset({"musepack"}),
    ".dsf": frozenset({"dsf"}),
    ".dff": frozenset({"dff"}),
    ".wma": frozenset({"asf"}),
    ".asf": frozenset({"asf"}),
    ".ac3": frozenset({"ac3"}),
    ".mka": frozenset({"matroska"}),
    ".webm": frozenset({"matroska"}),
    ".mid": frozenset({"midi"}),
}
HEAD_BYTES = 4096
_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def _skip_id3(head: bytes) -> int:
    """Offset just past a leading ID3v2 tag (0 when there is none)."""
    if len(head) >= 10 and head[:3] == b"ID3" and all(b < 0x80 for b in head[6:10]):
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        return 10 + size + (10 if head[5] & 0x10 else 0)
    return 0


def _mpeg_audio(b: bytes) -> str | None:
    if len(b) < 4 or b[0] != 0xFF or b[1] & 0xE0 != 0xE0:
        return None
    version, layer = (b[1] >> 3) & 3, (b[1] >> 1) & 3
    if layer == 0:
        return "adts" if b[1] & 0xF6 == 0xF0 else None
    bitrate, rate = b[2] >> 4, (b[2] >> 2) & 3
    if version == 1 or bitrate == 15 or rate == 3:
        return None
    return "mp3"


def sniff(head: bytes, after_id3: bytes | None = None) -> str | None:
    """The content kind of a file from its first bytes, or None when it is no audio we know.

    ``after_id3`` is the data right after a leading ID3v2 tag (see `id3_end`), which tells an
    MP3 from a FLAC or other file that merely starts with an ID3 tag.
    """
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS" and len(head) >= 28 + 8:
        first = head[28 : 28 + 8]
        if first.startswith(b"\x01vorbis"):
            return "vorbis"
        if first.startswith(b"OpusHead"):
            return "opus"
        if first.startswith(b"\x7fFLAC"):
            return "ogg-flac"
        if first.startswith(b"Speex"):
            return "ogg-speex"
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"MAC ":
        return "ape"
    if head[:4] == b"wvpk":
        return "wavpack"
    if head[:3] == b"MP+" or head[:4] == b"MPCK":
        return "musepack"
    if head[:4] == b"DSD ":
        return "dsf"
    if head[:4] == b"FRM8":
        return "dff"
    if head[:16] == _ASF:
        return "asf"
    if head[:2] == b"\x0b\x77":
        return "ac3"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:4] == b"MThd":
        return "midi"
    if head[:3] == b"ID3":
        rest = after_id3 if after_id3 is not None else head[_skip_id3(head) :]
        if not rest:
            return None
        if rest[:4] == b"fLaC" or rest[:3] == b"ID3":  # ID3 before FLAC, or stacked ID3 tags
            return sniff(rest)
        return _mpeg_audio(rest) or _scan_sync(rest)
    return _mpeg_audio(head)


def _scan_sync(data: bytes) -> str | None:
    """An MP3 frame sync within the first few hundred bytes (after junk or tag padding)."""
    for i in range(min(len(data) - 4, 2048)):
        if data[i] == 0xFF and _mpeg_audio(data[i : i + 4]) == "mp3":
            return "mp3"
    return None


def id3_end(head: bytes) -> int:
    return _skip_id3(head)


def expected_kinds(path: str | PurePath) -> frozenset[str] | None:
    """The kinds a file's extension promises, or None when the extension is not an audio one."""
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def describe(kind: str) -> str:
    return NAMES.get(kind, kind)
