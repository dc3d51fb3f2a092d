"""The query language, parsed: free words, ``field:value``, quoted phrases, ``year:A..B``,
``bpm:`` and ``key:``. Bad input raises ``InputError`` naming what is wrong; turning a parsed
query into Tantivy queries is ``search.query``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from longplay.errors import InputError
from longplay.search import features, fields

MAX_LENGTH = 1000
FIELD_ALIASES = {
    "title": "title",
    "artist": "artists",
    "album": "album",
    "albumartist": "album_artists",
    "genre": "genres",
    "isrc": "isrc",
    "upc": "upc",
    "mbid": "mbid",
    "id": "id",
    "year": "year",
    "bpm": "bpm",
    "key": "key",
}
# Unicode's control characters (category Cc) but tab and line ends; one regex search, not
# a category look-up per character (a tenth of an ISRC lookup's time, profiled at 1M)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TOKEN = re.compile(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))')


@dataclass
class Parsed:
    words: list[str] = field(default_factory=list)  # free words, in order
    phrases: list[str] = field(default_factory=list)  # free quoted phrases
    fielded: list[tuple[str, str, bool]] = field(default_factory=list)  # field, text, quoted
    year: tuple[int, int] | None = None
    bpm: tuple[int, int] | None = None  # whole BPM, from the analysis (search.features)
    key: int | None = None  # a search.features key code

    @property
    def fuzzable(self) -> bool:
        """Whether a typo pass could match more: free words, or words in a text field."""
        text = (n for n, _, quoted in self.fielded if n in fields.TEXT_FIELDS and not quoted)
        return bool(self.words) or any(True for _ in text)

    @property
    def key_lookup(self) -> bool:
        """Whether an exact key (ISRC, UPC, MBID, ID) is asked: a handful of documents."""
        return any(n in fields.EXACT_FIELDS or n == "id" for n, _, _ in self.fielded)

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.fielded or self.year or self.bpm or self.key)


def parse(text: str) -> Parsed:
    if len(text) > MAX_LENGTH:
        raise InputError(f"query is {len(text):,} characters long; at most {MAX_LENGTH:,}")
    if (bad := _CONTROL.search(text)) is not None:
        raise InputError(f"query contains the control character U+{ord(bad.group()):04X}")
    if text.count('"') % 2:
        raise InputError('query has an unbalanced quote (")')
    out = Parsed()
    for m in _TOKEN.finditer(text):
        name, quoted, bare = m.group(1), m.group(2), m.group(3)
        value = quoted if quoted is not None else bare
        if name is None:
            (out.phrases if quoted is not None else out.words).append(value)
            continue
        key = FIELD_ALIASES.get(name.lower())
        if key is None:
            known = ", ".join(f"{k}:" for k in FIELD_ALIASES)
            raise InputError(f"unknown field {name}: in the query (known: {known})")
        if not value:
            raise InputError(f"{name}: needs a value")
        if key == "year":
            out.year = year_range(value)
        elif key == "bpm":
            out.bpm = features.bpm_range(value)
        elif key == "key":
            out.key = features.query_key(value)
        else:
            out.fielded.append((key, value, quoted is not None))
    return out


def year_range(value: str) -> tuple[int, int]:
    """``2001``, ``2001..2005``, ``..1980`` or ``1990..`` as (first, last) year."""
    lo, sep, hi = value.partition("..")
    try:
        a = int(lo) if lo else 0
        b = int(hi) if sep and hi else (int(lo) if not sep else 9999)
    except ValueError:
        raise InputError(f"year:{value} is not a year or a range like year:2001..2005") from None
    if a > b:
        raise InputError(f"year:{value} is an empty range ({a} is after {b})")
    return a, b
