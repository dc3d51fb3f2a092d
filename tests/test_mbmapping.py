"""MusicBrainz mapping contract under fuzzed documents, and the hot path's shortcuts.

Whatever a document holds, it is either rejected with a reason or kept and rebuilt exactly
(musicbrainz/documents.py pops, rebuild.py fills back in); the fast checks in documents.py equal
the rules they stand for.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

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
from longplay.testing.musicbrainz_inputs import mutate, with_side_tracks


def test_fuzzed_documents_are_rebuilt_exactly_or_rejected(archive: Archive, tmp_path: Path) -> None:
    rng = random.Random(7)
    pool = list(Shape(seed=17, artists=20, recordings=100).releases(60))
    with_side_tracks(pool[:20])  # pregap and data tracks, which the generator does not make
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
