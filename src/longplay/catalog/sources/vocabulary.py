"""Zipf-distributed generated words for the synthetic catalog's titles and names.

Search can only be measured on text that looks like a real catalog's: a few very common words and
a long tail of rare ones, so that common-term, rare-term, typo and prefix queries behave
differently. The vocabulary is ``VOCABULARY_SIZE`` distinct pronounceable words (consonant-vowel
syllables), fixed for every seed; word rank ``r`` is drawn with probability ∝ 1 / (r + 2.7)
(Zipf, exponent 1, as word frequencies in song titles roughly are). A share of names are written
with diacritics (``DIACRITIC_SHARE``, folded back to the plain word by search) and a share in CJK
scripts (``CJK_SHARE``, Han and kana characters without spaces).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Forty plain English words for names that need not look like the long tail (labels, and the
# MusicBrainz-shaped test documents of longplay.testing).
COMMON_WORDS = tuple(
    [
        "love",
        "night",
        "heart",
        "fire",
        "dream",
        "light",
        "rain",
        "summer",
        "blue",
        "river",
        "golden",
        "city",
        "shadow",
        "wild",
        "ocean",
        "star",
        "silver",
        "home",
        "moon",
        "road",
        "dance",
        "echo",
        "storm",
        "sweet",
        "broken",
        "paper",
        "glass",
        "velvet",
        "electric",
        "midnight",
        "morning",
        "winter",
        "honey",
        "stone",
        "thunder",
        "ghost",
        "garden",
        "mirror",
        "island",
        "desert",
    ]
)
VOCABULARY_SIZE = 120_000
ZIPF_OFFSET = 2.7
DIACRITIC_SHARE = 0.10
CJK_SHARE = 0.03

_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "cr",
    "dr",
    "fr",
    "gr",
    "kr",
    "pr",
    "tr",
    "st",
    "sl",
    "sp",
    "bl",
    "cl",
    "fl",
    "gl",
    "pl",
    "sh",
    "ch",
    "th",
]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ei", "ou"]
_CODAS = ["", "", "", "", "n", "r", "l", "s", "m", "k", "nd", "rt", "x"]
# Diacritic forms of the vowels and n; ASCII folding maps each back to its plain letter.
_ACCENT = str.maketrans({"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "n": "ñ"})
# CJK characters: common Han ideographs plus hiragana and katakana.
_CJK = (
    "光港海山川花風雨雪月星夜空雲森春夏秋冬愛心夢道街城島橋門窓火水木金土日天地人子女男声歌音"
    "色白黒青赤緑紅金銀鉄石砂波岸島影時今昔遠近東西南北上下中大小長短新古明暗静動生死"
    "のはがをにでとやへもかなしれいるうたけりあさみ"
    "アイウエオカキクケコサシスセソタチツテトナニヌネノマミムメモラリルレロ"
)


@cache
def words() -> tuple[str, ...]:
    """The vocabulary in rank order (the same list for every seed and every chunk)."""
    rng = np.random.default_rng(0x564F43)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < VOCABULARY_SIZE:
        n = rng.integers(1, 4, size=4096)  # 1-3 syllables
        parts = rng.integers(0, 1 << 30, size=(4096, 3, 3))
        for k in range(4096):
            w = "".join(
                _ONSETS[parts[k, s, 0] % len(_ONSETS)]
                + _VOWELS[parts[k, s, 1] % len(_VOWELS)]
                + (_CODAS[parts[k, s, 2] % len(_CODAS)] if s == n[k] - 1 else "")
                for s in range(n[k])
            )
            if len(w) >= 3 and w not in seen:
                seen.add(w)
                out.append(w)
                if len(out) == VOCABULARY_SIZE:
                    break
    return tuple(out)


@cache
def _arrays() -> tuple[pa.Array, pa.Array, np.ndarray]:
    plain = [w.title() for w in words()]
    accented = [w.translate(_ACCENT).title() for w in words()]
    p = 1.0 / (np.arange(VOCABULARY_SIZE) + ZIPF_OFFSET)
    return pa.array(plain + accented, pa.string()), _cjk_words(), np.cumsum(p / p.sum())


@cache
def _cjk_words() -> pa.Array:
    rng = np.random.default_rng(0x434A4B)
    chars = np.array(list(_CJK))
    sizes = rng.integers(1, 4, size=20_000)
    idx = rng.integers(0, len(chars), size=int(sizes.sum()))
    flat = chars[idx]
    ends = np.cumsum(sizes)
    return pa.array(["".join(flat[e - s : e]) for s, e in zip(sizes, ends, strict=True)])


def ranks(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` Zipf-distributed word ranks."""
    cdf = _arrays()[2]
    return np.minimum(np.searchsorted(cdf, rng.random(n)), VOCABULARY_SIZE - 1)


def phrases(rng: np.random.Generator, n: int, low: int = 1, high: int = 6) -> pa.Array:
    """``n`` title-cased phrases of ``low``..``high`` words; some accented, some CJK."""
    vocab, cjk, _ = _arrays()
    counts = rng.integers(low, high + 1, size=n)
    script = rng.random(n)
    accented = script < DIACRITIC_SHARE
    in_cjk = script > 1 - CJK_SHARE
    total = int(counts.sum())
    word_idx = ranks(rng, total) + np.repeat(accented, counts) * VOCABULARY_SIZE
    cjk_idx = rng.integers(0, len(cjk), size=total)
    offsets = pa.array(np.concatenate(([0], np.cumsum(counts))).astype(np.int32))
    latin = pc.binary_join(pa.ListArray.from_arrays(offsets, vocab.take(pa.array(word_idx))), " ")
    eastern = pc.binary_join(pa.ListArray.from_arrays(offsets, cjk.take(pa.array(cjk_idx))), "")
    return pc.if_else(pa.array(in_cjk), eastern, latin)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: a well-mixed 64-bit hash of each value (wrapping arithmetic)."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def names(numbers: np.ndarray) -> pa.Array:
    """Stable names of entities ``numbers`` (artists): 1–3 words, a pure function of the number,
    so an artist has the same name in every chunk; the same script shares as titles."""
    vocab, cjk, cdf = _arrays()
    base = numbers.astype(np.uint64) * np.uint64(8)
    h = [_mix(base + np.uint64(k)) for k in range(5)]
    unit = [(x >> np.uint64(11)).astype(np.float64) / float(1 << 53) for x in h]
    counts = 1 + (h[0] % np.uint64(3)).astype(np.int64)
    accented = unit[1] < DIACRITIC_SHARE
    in_cjk = unit[1] > 1 - CJK_SHARE
    word_idx = (
        np.stack(
            [np.minimum(np.searchsorted(cdf, u), VOCABULARY_SIZE - 1) for u in unit[2:]], axis=1
        )
        + (accented * VOCABULARY_SIZE)[:, None]
    )
    cjk_idx = np.stack([(x % np.uint64(len(cjk))).astype(np.int64) for x in h[2:]], axis=1)
    keep = np.arange(3)[None, :] < counts[:, None]
    offsets = pa.array(np.concatenate(([0], np.cumsum(counts))).astype(np.int32))
    latin = pc.binary_join(
        pa.ListArray.from_arrays(offsets, vocab.take(pa.array(word_idx[keep]))), " "
    )
    eastern = pc.binary_join(
        pa.ListArray.from_arrays(offsets, cjk.take(pa.array(cjk_idx[keep]))), ""
    )
    return pc.if_else(pa.array(in_cjk), eastern, latin)
