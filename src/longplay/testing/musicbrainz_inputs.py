"""MusicBrainz dump inputs that hit every rule of the mapping, for tests and ``bench/ingest_same.py``.

``mutate`` makes a fuzzed copy of a release document (wrong types, nulls, edge strings and
numbers, repeated tracks and credits, unknown keys); ``write_musicbrainz_inputs`` writes a dump
of generated releases (some with pregap and data tracks), the real samples under
``shared/data/musicbrainz/picard`` when present, fuzzed copies of both, the broken lines the
tests use (malformed JSON, a list, a blank line, repeated and out-of-range documents), and small
artist and release-group files: an input on which two versions of the ingest must store the
same catalog and the same rejects.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from pathlib import Path
from typing import Any

import orjson

from longplay.testing.musicbrainz_docs import Shape

# Values a mutation puts in place of a key's value: wrong types, nulls, edge strings and numbers,
# codes the tables would change, credits with bad parts.
_MBID = "abcdef01-2345-6789-abcd-ef0123456789"
VALUES: list[Any] = [
    None,
    "",
    " x ",
    0,
    -1,
    1,
    40000,
    1.5,
    True,
    False,
    [],
    [None],
    {},
    {"a": 1},
    "3:12",
    _MBID.upper(),
    _MBID,
    "not-a-uuid",
    "us-abc-12-34567",
    "USABC1234567",
    "1999-02-30x",
    "2001-02",
    "0036000291452",
    [{"name": "rock"}],
    ["USABC1234567", "USABC1234567"],
    ["USABC1234567", "bad"],
    ["x"],
    [{"name": "A", "joinphrase": "", "artist": {"id": _MBID, "name": "A"}}],
    [{"name": "A", "artist": {"id": _MBID, "name": "A", "sort-name": 1}}],
    [{"name": "  ", "artist": None}],
    [{"name": 5}],
    [{"joinphrase": 5}],
    [{"artist": {"name": 5}}],
]


def _nodes(obj: Any) -> list[Any]:
    out = [obj] if isinstance(obj, (dict, list)) and obj else []
    for v in obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else ():
        out += _nodes(v)
    return out


def mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The document with fresh IDs and one to three random edits anywhere inside it."""
    doc = copy.deepcopy(doc)
    doc["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    for medium in doc.get("media") or ():
        for track in medium.get("tracks") or ():
            track["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    for _ in range(rng.choice((1, 1, 2, 3))):
        o = rng.choice(_nodes(doc))
        op = rng.random()
        if isinstance(o, dict):
            k = rng.choice(list(o))
            if op < 0.25:
                del o[k]
            elif op < 0.7:
                o[k] = copy.deepcopy(rng.choice(VALUES))
            elif op < 0.8:
                o[rng.choice(("new-field", "count"))] = copy.deepcopy(
                    rng.choice(VALUES)
                )  # unknown keys
            elif op < 0.9 and isinstance(o[k], str):
                o[k] = rng.choice((o[k].upper(), " " + o[k], o[k] + " ", ""))
            else:
                o[k] = copy.deepcopy(o[rng.choice(list(o))])
        elif op < 0.3:
            del o[rng.randrange(len(o))]
        elif op < 0.6:
            o.append(copy.deepcopy(rng.choice(o)))  # repeats: the same track or credit twice
        else:
            o[rng.randrange(len(o))] = copy.deepcopy(rng.choice(VALUES))
    return doc


def with_side_tracks(docs: list[dict[str, Any]]) -> None:
    """Give releases a pregap and data tracks (the generator makes neither), in place."""
    for r in docs:
        m = r["media"][0]
        if len(m["tracks"]) >= 3:
            m["pregap"], m["data-tracks"] = m["tracks"].pop(0), [m["tracks"].pop()]


def _edge_release(shape: Shape) -> dict[str, Any]:
    """Values the tables would change or cannot hold: they stay in the residual."""
    r = shape.release(2)
    t = r["media"][0]["tracks"][0]
    t["title"] = "  padded title "
    t["position"] = 40000
    t["length"] = 2**63
    t["recording"]["id"] = t["recording"]["id"].upper()
    t["recording"]["isrcs"] = ["us-abc-12-34567", "USABC1234567", "USABC1234567"]
    t["artist-credit"][0]["artist"]["id"] = None
    r["barcode"] = "0036000291452 "
    r["date"] = "1999-02-30x"
    r["media"][0]["position"] = 2**40
    r["media"][0]["track-count"] = -(2**40)
    r["media"].append({"position": 2, "format": "CD", "track-count": 0, "tracks": []})
    return r


def write_musicbrainz_inputs(
    out: Path, releases: int, picard: Path | None = None, seed: int = 7
) -> list[Path]:
    """``release.jsonl`` (``releases`` generated documents, a tenth of them fuzzed, plus the
    samples and broken lines), then ``artist.jsonl`` and ``release-group.jsonl``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    shape = Shape(seed, artists=max(20, releases // 20), recordings=max(100, releases * 8))
    docs = list(shape.releases(releases))
    with_side_tracks(docs[: max(1, releases // 20)])
    samples = (
        [json.loads(p.read_text(encoding="utf-8")) for p in sorted(picard.glob("*.json"))]
        if picard is not None
        else []
    )
    pool = docs[: min(len(docs), 200)] + samples
    fuzzed = [mutate(rng.choice(pool), rng) for _ in range(max(800, releases // 10))]
    unknown = copy.deepcopy(docs[3 % len(docs)])
    unknown["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    unknown["new-field"] = {"added": "by a later schema"}
    album_only = copy.deepcopy(docs[4 % len(docs)])
    album_only["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    album_only["media"] = []
    lines = [orjson.dumps(d) for d in docs + samples]
    lines += [b'{"id": "oops", ', b"[1, 2]", b"", b"null", orjson.dumps(docs[0])]  # repeat
    lines += [orjson.dumps(d) for d in (unknown, album_only, _edge_release(shape), *fuzzed)]
    release = out / "release.jsonl"
    release.write_bytes(b"\n".join(lines) + b"\n")
    artists = list(shape.artist_docs())[:50]
    artists.append({"id": "not-a-uuid", "name": "bad"})
    artists.append({"id": _MBID, "name": 5})
    artist = out / "artist.jsonl"
    artist.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in artists))
    groups = [r["release-group"] for r in docs[:50]] + [{"id": _MBID}]
    group = out / "release-group.jsonl"
    group.write_bytes(b"".join(orjson.dumps(g) + b"\n" for g in groups))
    return [artist, release, group]
