"""Embedded lyrics (ID3 USLT/SYLT, Vorbis LYRICS, MP4 ©lyr) as OpenSubsonic structuredLyrics.

Each lyrics text becomes one entry: ``{"lang", "synced", "line": [{"start"?, "value"}]}``, plus
``displayArtist`` / ``displayTitle`` when an LRC text names them. A text with LRC timestamps
(``[mm:ss.xx]``) is synced, its lines in time order with ``start`` in milliseconds; the LRC
``[offset:]`` is applied to the starts rather than passed on, as LRC and OpenSubsonic clients
do not agree on its sign. A ``.lrc`` file beside the audio file counts as one more text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

from longplay.audio.tags import parse_file

UNKNOWN_LANG = "und"  # ISO 639-2 "undetermined", which OpenSubsonic asks for when unknown
_TIME = re.compile(r"\[(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?\]")
_META = re.compile(r"^\[(ar|ti|offset|la|lang):([^\]]*)\]\s*$", re.IGNORECASE)
_WORD_TIME = re.compile(r"<\d{1,3}:\d{1,2}(?:[.:]\d{1,3})?>")  # enhanced LRC, per word
# Vorbis comment keys that hold lyrics (UNSYNCEDLYRICS: foobar2000 and Mp3tag; LYRICS: Picard).
_VORBIS_KEYS = ("lyrics", "unsyncedlyrics", "syncedlyrics")
SYLT_MILLISECONDS = 2  # SYLT time stamp format 2: absolute milliseconds (1 is MPEG frames)


def _millis(minutes: str, seconds: str, fraction: str | None) -> int:
    frac = int((fraction or "0").ljust(3, "0")[:3])  # .5 is 500 ms, .05 is 50, .005 is 5
    return (int(minutes) * 60 + int(seconds)) * 1000 + frac


def _language(code: str | None) -> str:
    code = (code or "").strip("\x00 ").lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) and code != "xxx" else UNKNOWN_LANG


def parse_lyrics(text: str, lang: str | None = None) -> dict[str, Any] | None:
    """One structuredLyrics entry from a lyrics text (plain or LRC); None when it is empty."""
    timed: list[tuple[int, str]] = []
    plain: list[str] = []
    meta: dict[str, str] = {}
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if m := _META.match(line):
            meta[m.group(1).lower()] = m.group(2).strip()
            continue
        stamps = []
        while m := _TIME.match(line):
            stamps.append(_millis(*m.groups()))
            line = line[m.end() :]
        value = _WORD_TIME.sub("", line).strip()
        if stamps:
            timed += [(t, value) for t in stamps]
        else:
            plain.append(raw.rstrip())
    entry: dict[str, Any] = {"lang": _language(lang or meta.get("la") or meta.get("lang"))}
    if meta.get("ar"):
        entry["displayArtist"] = meta["ar"]
    if meta.get("ti"):
        entry["displayTitle"] = meta["ti"]
    if timed:
        try:
            offset = int(meta.get("offset", "0").strip() or 0)
        except ValueError:
            offset = 0
        # LRC: a positive offset shows the lines sooner.
        lines = [{"start": max(t - offset, 0), "value": v} for t, v in sorted(timed)]
        entry |= {"synced": True, "line": lines}
        return entry
    while plain and not plain[0].strip():
        plain.pop(0)
    while plain and not plain[-1].strip():
        plain.pop()
    if not plain:
        return None
    entry |= {"synced": False, "line": [{"value": v} for v in plain]}
    return entry


def _sylt(frame: Any) -> dict[str, Any] | None:
    if frame.format != SYLT_MILLISECONDS or not frame.text:
        return None  # MPEG-frame time stamps would need the bitrate; no tagger writes them
    lines = sorted((int(t), str(v).strip()) for v, t in frame.text)
    return {
        "lang": _language(frame.lang),
        "synced": True,
        "line": [{"start": t, "value": v} for t, v in lines],
    }


def _texts(f: Any) -> list[tuple[str, str | None]]:
    """(lyrics text, language) embedded in the mutagen file ``f``; SYLT frames apart."""
    tags = getattr(f, "tags", None)
    if tags is None:
        return []
    if isinstance(tags, ID3):
        return [(str(fr.text), fr.lang) for fr in tags.getall("USLT")]
    if isinstance(f, MP4):
        return [(str(v), None) for v in tags.get("©lyr", [])]
    if hasattr(tags, "as_dict"):  # Vorbis comments (FLAC, Ogg Vorbis, Opus)
        lower = {k.lower(): v for k, v in tags.as_dict().items()}
        return [(str(v), None) for key in _VORBIS_KEYS for v in lower.get(key, [])]
    return []


def lyrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every lyrics text of the audio file ``path`` as structuredLyrics entries (synced first)."""
    name = os.fspath(path)
    found: list[dict[str, Any]] = []
    try:
        f = parse_file(name)
        for text, lang in _texts(f):
            if (entry := parse_lyrics(text, lang)) is not None:
                found.append(entry)
        if isinstance(tags := getattr(f, "tags", None), ID3):
            found += [e for fr in tags.getall("SYLT") if (e := _sylt(fr)) is not None]
    except (MutagenError, OSError, ValueError):
        pass  # unreadable tags: the sidecar may still be there
    sidecar = Path(name).with_suffix(".lrc")
    try:
        text = sidecar.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        text = ""
    if text and (entry := parse_lyrics(text)) is not None:
        found.append(entry)
    unique = []
    for entry in found:
        if entry not in unique:
            unique.append(entry)
    return sorted(unique, key=lambda e: not e["synced"])
