"""MusicBrainz-shaped documents, generated deterministically for tests and benchmarks.

The shape follows the official JSON dumps (``mbdump/release`` with the dump's includes: artist
credits on releases, tracks and recordings, label info, release group, media with tracks and
recordings, ISRCs, genres, tags, aliases, relations) as seen in the real samples under
``shared/data/musicbrainz/picard``: hyphenated keys, ``joinphrase``, nulls for unknown values.
Recordings are shared between releases (re-releases, compilations), as in MusicBrainz.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

from longplay.catalog.identifiers import gtin_check_digit
from longplay.catalog.sources.vocabulary import COMMON_WORDS

_GENRES = (
    "rock",
    "pop",
    "electronic",
    "hip hop",
    "jazz",
    "classical",
    "folk",
    "metal",
    "punk",
    "soul",
    "house",
    "techno",
    "ambient",
    "blues",
)
_TYPES = (
    ("Album", "f529b476-6e62-324f-b0aa-1f3e33d313fc"),
    ("Single", "d6038452-8ee0-3f68-affc-2de9a1ede0b9"),
    ("EP", "6d0c5bf6-7a33-3420-a519-44fc63eedebf"),
)
_FORMATS = (
    ("CD", "9712d52a-4509-3d4b-a1a2-67c88c643e31"),
    ("Digital Media", "907a28d9-b3b2-3ef6-89a8-7b18d91d4794"),
    ('12" Vinyl', "3e9080b0-5e6c-34ab-bd15-f526b6306a64"),
)
_AREA = {
    "id": "489ce91b-6658-3307-9877-795b68554c98",
    "name": "United States",
    "sort-name": "United States",
    "disambiguation": "",
    "iso-3166-1-codes": ["US"],
    "type": None,
    "type-id": None,
}


def _mbid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _title(rng: random.Random, words: int = 2) -> str:
    return " ".join(rng.choice(COMMON_WORDS).title() for _ in range(words))


class Shape:
    """A pool of artists and recordings from which releases are drawn (deterministic by seed)."""

    def __init__(self, seed: int = 1, artists: int = 500, recordings: int = 5000):
        rng = random.Random(seed)
        self.seed = seed
        self.artists = [self._artist(rng, i) for i in range(artists)]
        self.recordings = [self._recording(rng, i) for i in range(recordings)]

    @staticmethod
    def _artist(rng: random.Random, i: int) -> dict[str, Any]:
        name = f"{_title(rng)} {i}"
        return {
            "id": _mbid(rng),
            "name": name,
            "sort-name": name,
            "disambiguation": "",
            "type": "Group",
            "type-id": "e431f5f6-b5d2-343d-8b36-72607fffb74b",
            "genres": [],
            "tags": [],
            "aliases": [],
        }

    def _recording(self, rng: random.Random, i: int) -> dict[str, Any]:
        isrc = f"US{rng.choice('ABCDEFGH')}{rng.randrange(10)}{rng.randrange(10)}{rng.randrange(100):02d}{i % 100000:05d}"
        isrcs = (
            [isrc]
            if rng.random() < 0.7
            else ([] if rng.random() < 0.8 else [isrc, isrc[:-1] + "9"])
        )
        return {
            "id": _mbid(rng),
            "title": _title(rng, rng.randint(1, 4)),
            "length": rng.randint(60_000, 480_000),
            "video": False,
            "disambiguation": "",
            "first-release-date": f"{rng.randint(1960, 2024)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "isrcs": isrcs,
            "artist": rng.randrange(len(self.artists)),
        }

    def credit(self, artist_no: int, joinphrase: str = "") -> dict[str, Any]:
        a = self.artists[artist_no]
        return {
            "name": a["name"],
            "joinphrase": joinphrase,
            "artist": {
                k: a[k] for k in ("id", "name", "sort-name", "disambiguation", "type", "type-id")
            },
        }

    def release(self, n: int) -> dict[str, Any]:
        """Release number ``n``: 1–3 media of 1–20 tracks, most of them new recordings."""
        rng = random.Random(self.seed * 1_000_003 + n)
        artist_no = rng.randrange(len(self.artists))
        kind, kind_id = _TYPES[0] if rng.random() < 0.6 else rng.choice(_TYPES[1:])
        year = rng.randint(1960, 2025)
        date = rng.choice(
            (
                f"{year}",
                f"{year}-{rng.randint(1, 12):02d}",
                f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            )
        )
        body = f"{rng.randrange(10**11):011d}"
        media = []
        for disc in range(1, 1 + (1 if rng.random() < 0.9 else rng.randint(2, 3))):
            fmt, fmt_id = rng.choice(_FORMATS)
            tracks = []
            for pos in range(1, rng.randint(1, 20) + 1):
                rec = self.recordings[rng.randrange(len(self.recordings))]
                ac = [self.credit(rec["artist"])]
                if rng.random() < 0.1:
                    ac[0]["joinphrase"] = " feat. "
                    ac.append(self.credit(rng.randrange(len(self.artists))))
                recording = {k: v for k, v in rec.items() if k != "artist"}
                recording["artist-credit"] = ac
                tracks.append(
                    {
                        "id": _mbid(rng),
                        "number": str(pos),
                        "position": pos,
                        "title": rec["title"],
                        "length": rec["length"] + rng.choice((0, 0, 0, 133)),
                        "artist-credit": ac,
                        "recording": recording,
                    }
                )
            media.append(
                {
                    "position": disc,
                    "title": "",
                    "format": fmt,
                    "format-id": fmt_id,
                    "track-count": len(tracks),
                    "track-offset": 0,
                    "tracks": tracks,
                }
            )
        genres = [
            {"name": g, "count": rng.randint(1, 9), "disambiguation": "", "id": _mbid(rng)}
            for g in rng.sample(_GENRES, rng.randint(0, 2))
        ]
        credit = [self.credit(artist_no)]
        return {
            "id": _mbid(rng),
            "title": _title(rng, rng.randint(1, 3)),
            "status": "Official",
            "status-id": "4e304316-386d-3409-af2e-78857eec5cfe",
            "quality": "normal",
            "disambiguation": "",
            "packaging": None,
            "packaging-id": None,
            "asin": None,
            "annotation": None,
            "text-representation": {"language": "eng", "script": "Latn"},
            "date": date,
            "country": "US",
            "release-events": [{"date": date, "area": _AREA}],
            "barcode": body + str(gtin_check_digit(body)) if rng.random() < 0.8 else "",
            "cover-art-archive": {
                "artwork": False,
                "count": 0,
                "front": False,
                "back": False,
                "darkened": False,
            },
            "artist-credit": credit,
            "label-info": [
                {
                    "catalog-number": f"CAT-{n}",
                    "label": {
                        "id": _mbid(rng),
                        "name": f"{_title(rng, 1)} Records",
                        "sort-name": f"{_title(rng, 1)} Records",
                        "disambiguation": "",
                        "label-code": None,
                        "type": "Original Production",
                        "type-id": "7aaa37fe-2def-3476-b359-80245850062d",
                        "aliases": [],
                        "genres": [],
                        "tags": [],
                    },
                }
            ],
            "release-group": {
                "id": _mbid(rng),
                "title": "",
                "primary-type": kind,
                "primary-type-id": kind_id,
                "secondary-types": ["Compilation"] if rng.random() < 0.05 else [],
                "secondary-type-ids": [],
                "first-release-date": date,
                "disambiguation": "",
                "artist-credit": credit,
                "genres": genres,
                "tags": [],
                "aliases": [],
            },
            "media": media,
            "genres": genres,
            "tags": [{"name": g["name"], "count": g["count"]} for g in genres],
            "aliases": [],
            "relations": [],
        }

    def releases(self, count: int, start: int = 0) -> Iterator[dict[str, Any]]:
        for n in range(start, start + count):
            yield self.release(n)

    def artist_docs(self) -> Iterator[dict[str, Any]]:
        for a in self.artists:
            yield {
                **a,
                "country": "US",
                "area": _AREA,
                "life-span": {"begin": None, "end": None, "ended": False},
                "ipis": [],
                "isnis": [],
                "relations": [],
                "rating": {"value": None, "votes-count": 0},
            }

    def recording_docs(self) -> Iterator[dict[str, Any]]:
        for r in self.recordings:
            doc = {k: v for k, v in r.items() if k != "artist"}
            doc["artist-credit"] = [self.credit(r["artist"])]
            doc.update(
                genres=[],
                tags=[],
                relations=[],
                aliases=[],
                rating={"value": None, "votes-count": 0},
            )
            yield doc
