"""Per-track audio features as search sees them: a protocol the layers above implement, and keys.

Tempo and key come from the analysis of held files (``longplay analyze``, in the audio layer),
which sits beside search, not below it; so search only states what it asks for and the caller
passes ``longplay.pack.features.ArchiveFeatures`` in, as with holdings. The index stores them
as of its build: ``bpm`` (rounded to a whole beat per minute) and ``key`` (a code 1–24, 0 or
absent when unknown) as fast fields, and as shuffle columns. A track without analysis has
neither, so it never matches a ``bpm:`` or ``key:`` filter.

Keys are written as musicians write them and normalized here: ``Am``, ``A minor``, ``a min``,
``C#``, ``Db major``, ``E♭ major``, ``F♯m``; enharmonic spellings are one key (``Db`` = ``C#``).
A key without a mode word is major, as in notation (``C`` is C major, ``Cm`` C minor).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from longplay.errors import InputError

PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY = re.compile(r"([a-g])\s*([#b]?)\s*(m|min|minor|maj|major)?", re.IGNORECASE)
MAX_BPM = 1000


class TrackFeatures(Protocol):
    def rhythm(self) -> Iterable[tuple[int, float | None, str | None, str | None]]:
        """(track ID, tempo in BPM, key like ``A`` or ``Bb``, mode ``major``/``minor``) of
        every analyzed track; tracks without analysis are left out."""
        ...


class NoFeatures:
    """An archive with no analysis: no track has a tempo or a key."""

    def rhythm(self) -> Iterable[tuple[int, float | None, str | None, str | None]]:
        return ()


class StaticFeatures:
    """Features given as a map (tests, and callers that already know them)."""

    def __init__(self, rows: dict[int, tuple[float | None, str | None, str | None]]):
        self._rows = dict(rows)

    def rhythm(self) -> Iterable[tuple[int, float | None, str | None, str | None]]:
        return [(t, *v) for t, v in self._rows.items()]


def parse_key(text: str) -> int | None:
    """The key code (1–24: pitch class × 2 + 1, + 1 when minor) of ``text``, None if not a key."""
    t = text.strip().replace("♭", "b").replace("♯", "#").replace("-", " ")
    m = _KEY.fullmatch(t)
    if m is None:
        return None
    letter, accidental, mode = m.group(1), m.group(2), (m.group(3) or "")
    # "b" after a letter is a flat; "Bb" is B flat, and a bare "b" is the note B.
    pc = _LETTERS[letter.upper()] + {"#": 1, "b": -1, "B": -1, "": 0}[accidental]
    minor = mode.lower() in ("m", "min", "minor") and mode != "M"
    return (pc % 12) * 2 + 1 + int(minor)


def key_code(key: str | None, mode: str | None) -> int:
    """The code of an analysis result's key and mode (0 when either is unknown or unreadable)."""
    if not key or not mode:
        return 0
    code = parse_key(f"{key} {mode}")
    return code or 0


def key_name(code: int) -> str | None:
    """``Am``, ``C#``, ``Eb``… for a key code; None for 0 (unknown)."""
    if not 1 <= code <= 24:
        return None
    pc, minor = divmod(code - 1, 2)
    return PITCHES[pc] + ("m" if minor else "")


def query_key(value: str) -> int:
    """A ``key:`` filter's value as a key code; InputError naming it when it is not a key."""
    code = parse_key(value)
    if code is None:
        raise InputError(
            f"key:{value} is not a musical key (write it like key:Am, key:C#, "
            'key:"E♭ major" or key:"F minor")'
        )
    return code


def bpm_range(value: str) -> tuple[int, int]:
    """``120``, ``120..130``, ``..90`` or ``140..`` as whole BPM (first, last), first >= 1."""
    lo, sep, hi = value.partition("..")
    try:
        a = round(float(lo)) if lo else 1
        b = round(float(hi)) if sep and hi else (round(float(lo)) if not sep else MAX_BPM)
    except ValueError:
        raise InputError(f"bpm:{value} is not a tempo or a range like bpm:120..130") from None
    a = max(a, 1)  # 0 means "not analyzed" in the shuffle columns: never a match
    if a > b:
        raise InputError(f"bpm:{value} is an empty range ({a} is above {b})")
    return a, b


def bpm_value(bpm: float | None) -> int:
    """A tempo as stored: whole BPM, 0 when unknown (or not a plausible tempo)."""
    if bpm is None or not 0 < bpm < MAX_BPM:
        return 0
    return max(1, round(bpm))
