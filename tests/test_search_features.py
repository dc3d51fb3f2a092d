"""bpm: and key: filters in search and shuffle, from analysis results of held files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.analyze import analyze
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat, ingest_synthetic
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError
from longplay.pack.features import ArchiveFeatures
from longplay.search import engine, shuffle
from longplay.search.build import build_index
from longplay.search.features import (
    StaticFeatures,
    bpm_range,
    key_code,
    key_name,
    parse_key,
    query_key,
)


def test_key_spellings_normalize_to_one_code() -> None:
    a_minor = parse_key("Am")
    assert a_minor == parse_key("A minor") == parse_key("a min") == parse_key("A-minor")
    assert key_name(a_minor or 0) == "Am"
    e_flat = parse_key("E♭ major")
    assert e_flat == parse_key("Eb") == parse_key("D#") == parse_key("d♯ maj")
    assert key_name(e_flat or 0) == "Eb"
    assert parse_key("F♯m") == parse_key("Gbm") == key_code("F#", "minor")
    assert parse_key("Bb") != parse_key("B") and parse_key("Cb") == parse_key("B")
    assert parse_key("C") != parse_key("Cm")
    assert key_code(None, "minor") == key_code("A", None) == 0
    assert len({parse_key(f"{p}{m}") for p in "ABCDEFG" for m in ("", "#", "m", "#m")}) == 24
    for bad in ("H", "Am7", "", "minor", "C##"):
        with pytest.raises(InputError, match="not a musical key"):
            query_key(bad)


def test_bpm_ranges() -> None:
    assert bpm_range("120..130") == (120, 130)
    assert bpm_range("..90") == (1, 90)  # never 0: 0 is "not analyzed"
    assert bpm_range("128") == (128, 128)
    assert bpm_range("140..")[0] == 140
    with pytest.raises(InputError, match="empty range"):
        bpm_range("130..120")
    with pytest.raises(InputError, match="not a tempo"):
        bpm_range("fast")


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Archive, dict[int, tuple]]:
    """A synthetic catalog whose first tracks have a tempo and key (the rest: no analysis)."""
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    a = Archive.init(tmp_path_factory.mktemp("features") / "a")
    ingest_synthetic(a, 2000, seed=9)
    with CatalogStore(a).read() as con:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT track_id FROM tracks ORDER BY track_id LIMIT 60"
            ).fetchall()
        ]
    keys = [("A", "minor"), ("Eb", "major"), ("C", "major")]
    rows = {t: (100.0 + i, *keys[i % 3]) for i, t in enumerate(ids)}
    rows[ids[0]] = (125.4, None, None)  # a tempo without a key
    build_index(a, features=StaticFeatures(rows), workers=1)
    return a, rows


def _ids(page: engine.Page) -> set[int]:
    return {h.id for h in page.hits}


def test_search_filters_by_tempo_and_key(tagged: tuple[Archive, dict[int, tuple]]) -> None:
    a, rows = tagged
    want = {t for t, (b, _, _) in rows.items() if 120 <= round(b) <= 130}
    page = engine.search(a, "bpm:120..130", limit=100)
    assert _ids(page) == want and len(want) == 12
    assert all(h.kind == "track" and h.bpm is not None and 120 <= h.bpm <= 130 for h in page.hits)
    minor = {t for t, (_, k, m) in rows.items() if (k, m) == ("A", "minor")}
    for spelling in ("key:Am", 'key:"A minor"', "key:a-min"):
        assert _ids(engine.search(a, spelling, limit=100)) == minor
    flat = {t for t, (_, k, m) in rows.items() if (k, m) == ("Eb", "major")}
    assert _ids(engine.search(a, 'key:"E♭ major"', limit=100)) == flat
    assert {h.key for h in engine.search(a, "key:D#", limit=100).hits} == {"Eb"}
    both = _ids(engine.search(a, "bpm:..130 key:Am", limit=100))
    assert both == {t for t in minor if round(rows[t][0]) <= 130} and both
    # Only analyzed tracks can match: a range covering every tempo gives exactly them.
    assert _ids(engine.search(a, "bpm:1..999", limit=500)) == set(rows)
    with pytest.raises(InputError, match="key:H"):
        engine.search(a, "key:H")


def test_shuffle_filters_by_tempo_and_key(tagged: tuple[Archive, dict[int, tuple]]) -> None:
    a, rows = tagged
    minor = {t for t, (_, k, m) in rows.items() if (k, m) == ("A", "minor")}
    page = shuffle.shuffle(a, n=len(minor), seed=3, key="A minor")
    assert page.matching == len(minor) and {h.id for h in page.tracks} == minor
    fast = {t for t, (b, _, _) in rows.items() if round(b) >= 150}
    page = shuffle.shuffle(a, n=len(fast), seed=4, bpm=(150, 1000))
    assert page.matching == len(fast) and {h.id for h in page.tracks} == fast
    assert shuffle.shuffle(a, n=5, bpm=(1, 1000), key="C#m").matching == 0


def test_analyzed_archive_files_tempo_and_key(tmp_path: Path) -> None:
    """End to end on real audio: scan, `analyze`, index with ArchiveFeatures, filter."""
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    a = Archive.init(tmp_path / "a")
    ingest_synthetic(a, 500, seed=2)
    music = tmp_path / "music"
    samples.generate(music, 3, seed=7, seconds=6.0, formats=["flac"])
    ingest_flat(a, [music / "catalog.jsonl"], "samples")
    scan(a, [music], workers=1)
    analyze(a, workers=1)
    rhythm = list(ArchiveFeatures(a).rhythm())
    assert len(rhythm) == 3 and all(b and k and m for _, b, k, m in rhythm)
    build_index(a, features=ArchiveFeatures(a), workers=1)
    track, bpm, key, mode = rhythm[0]
    near = engine.search(a, f"bpm:{round(bpm) - 1}..{round(bpm) + 1}", limit=50)
    assert track in _ids(near)
    assert _ids(near) <= {t for t, *_ in rhythm}  # never a track without analysis
    by_key = engine.search(a, f'key:"{key} {mode}"', limit=50)
    assert track in _ids(by_key)
    assert shuffle.shuffle(a, n=3, key=f"{key} {mode}").matching == len(by_key.hits)
