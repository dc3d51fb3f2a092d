"""MusicBrainz mapping contract under fuzzed documents, and the hot path's shortcuts.

Whatever a document holds, it is either rejected with a reason or kept and rebuilt exactly
(musicbrainz/documents.py pops, rebuild.py fills back in); the fast checks in documents.py equal
the rules they stand for.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from audiofixtures import shared_data
from longplay.archive import Archive
from longplay.catalog.identifiers import isrc_problem, normalize_isrc
from longplay.catalog.source_records import export_source_records
from longplay.catalog.sources.musicbrainz import ingest_musicbrainz
from longplay.catalog.sources.musicbrainz.schema import ISRC
from longplay.catalog.store import CatalogStore
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


def test_fuzzed_documents_are_rebuilt_exactly_or_rejected(archive: Archive, tmp_path: Path) -> None:
    rng = random.Random(7)
    pool = list(Shape(seed=17, artists=20, recordings=100).releases(60))
    for r in pool[:20]:  # pregap and data tracks, which the generator does not make
        m = r["media"][0]
        if len(m["tracks"]) >= 3:
            m["pregap"], m["data-tracks"] = m["tracks"].pop(0), [m["tracks"].pop()]
    picard = shared_data("musicbrainz", "picard")
    if picard is not None:
        pool += [json.loads(p.read_text(encoding="utf-8")) for p in sorted(picard.glob("*.json"))]
    docs = [mutate(rng.choice(pool), rng) for _ in range(800)]
    src = tmp_path / "release.jsonl"
    src.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    report = ingest_musicbrainz(archive, [src])
    counts = report.extra["documents"]["release"]
    assert counts["read"] == len(docs) == counts["kept"] + counts["rejected"]
    out = tmp_path / "export.jsonl"
    export_source_records(CatalogStore(archive), "musicbrainz", out, "release")
    rebuilt = {d["id"]: d for d in map(orjson.loads, out.read_bytes().splitlines())}
    assert len(rebuilt) == counts["kept"] > 300 and counts["rejected"] > 100  # both sides exercised
    by_id = {d["id"]: d for d in docs if isinstance(d.get("id"), str)}
    assert [k for k, d in rebuilt.items() if by_id.get(k) != d] == []
    assert report.rejects_path is not None
    reasons = [json.loads(x) for x in report.rejects_path.read_text().splitlines()]
    records = [r for r in reasons if r["kind"] == "record"]
    assert len(records) >= counts["rejected"] and all(
        r["reason"] and r["position"] for r in records
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("position", 2**40),
        ("length", 2**63),
        ("length", 2**40),
        ("disc", 2**40),
        ("track-count", -(2**40)),
    ],
)
def test_out_of_range_integers_stay_in_the_residual(
    archive: Archive, tmp_path: Path, key: str, value: int
) -> None:
    r = Shape(seed=19, artists=4, recordings=8).release(1)
    if key in ("disc", "track-count"):
        r["media"][0]["position" if key == "disc" else key] = value
    else:
        r["media"][0]["tracks"][0][key] = value
    src = tmp_path / "release.jsonl"
    src.write_bytes(orjson.dumps(r) + b"\n")
    report = ingest_musicbrainz(archive, [src])
    assert report.extra["documents"]["release"]["kept"] == 1
    assert report.values_rejected == 1  # reported as a value reject, naming the field
    assert report.rejects_path is not None
    (reject,) = [json.loads(x) for x in report.rejects_path.read_text().splitlines()]
    assert (reject["kind"], reject["position"], str(value) in reject["reason"]) == (
        "value",
        "line 1",
        True,
    )
    out = tmp_path / "export.jsonl"
    export_source_records(CatalogStore(archive), "musicbrainz", out, "release")
    assert (
        orjson.loads(out.read_bytes()) == r
    )  # the value the columns cannot hold is in the residual


def test_mapping_isrc_pattern_is_the_identifiers_rule() -> None:
    """schema.ISRC (one regex call per ISRC, the hot path) accepts exactly the ISRCs that
    normalize to themselves and pass identifiers.isrc_problem: those the tables store as is."""
    values = [
        "USABC1234567",
        "us-abc-12-34567",
        "USABC123456",
        "USABC12345678",
        " USABC1234567",
        "USABC1234567\n",
        "US-ABC1234567",
        "USabc1234567",
        "GBAYE0000001",
        "0SABC1234567",
        "USABC12345A7",
        "USÄBC1234567",
        "US１BC1234567",
        "USABC１234567",
        "ＵSABC1234567",
        "",
        "US ABC 12 34567",
        "ÇOABC1234567",
        "ßSABC1234567",
    ]
    for v in values:
        assert bool(ISRC.fullmatch(v)) == (normalize_isrc(v) == v and isrc_problem(v) is None), v
