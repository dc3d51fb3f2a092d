"""Fuzzing of the whole-input paths: ingest files, MusicBrainz documents, queries, API calls.

Companion of test_fuzz_parsers.py (same `mutated` edits, same FUZZ_EXAMPLES knob): here each
case runs a real ingest into a real archive, a real index search, or a request to the real ASGI
app, so the cheaper defaults below keep `make test` lean; `make soak` runs 10,000 of each.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_parsers import FUZZ_EXAMPLES, accepts_or_rejects, json_values, mutated

from longplay.archive import Archive
from longplay.errors import LongplayError


def _fuzz(make_test_default: int) -> Any:
    """Settings for a parser whose cases are slow: fewer in make test, the soak's count in soak."""
    soak = "LONGPLAY_FUZZ_EXAMPLES" in os.environ
    return settings(
        max_examples=FUZZ_EXAMPLES if soak else make_test_default,
        deadline=None,
        derandomize=FUZZ_EXAMPLES <= 1000 or not soak,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )


def _check_ingest(archive: Archive, run: Any) -> None:
    """An ingest either refuses the input as a whole or accounts for every record it read."""
    report = accepts_or_rejects(run)
    if report is None:
        return
    assert report.read == report.kept + report.rejected
    if report.rejects_path is not None and report.rejects_path.exists():
        for line in report.rejects_path.read_text(encoding="utf-8").splitlines():
            assert json.loads(line)["reason"].strip()


# -- flat JSON lines ---------------------------------------------------------------------------
JSONL_SEED = (
    b'{"track_key": "a", "title": "Open Road", "artists": [{"name": "Ana Lind", "key": "ana",'
    b' "mbid": null, "join_phrase": null}], "album_title": "Free Songs", "duration_ms": 201500,'
    b' "isrc": "USRC17607839", "disc_number": 1, "track_number": 2}\n'
    b'{"track_key": "b", "title": "Night Swim", "artists": [{"name": "Kai Novak"}],'
    b' "album_title": "Free Songs", "duration_ms": 180000, "upc": "036000291452"}\n'
)


def test_flat_jsonl_files_are_ingested_or_rejected_with_reasons() -> None:
    from longplay.catalog.sources import ingest_flat

    @_fuzz(10)  # ~1.6 s an ingest on the loaded machine
    @given(data=mutated(JSONL_SEED))
    def run(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            archive = Archive.init(Path(tmp) / "archive")
            path = Path(tmp) / "in.jsonl"
            path.write_bytes(data)
            _check_ingest(archive, lambda: ingest_flat(archive, [path], "fuzz"))

    run()


# -- CSV against a fixed mapping ---------------------------------------------------------------
CSV_MAPPING = """
[source]
name = "netlabel"

[fields]
track_key = "id"
title = "name"
artists = "artist"
album_title = "album"
isrc = "isrc"
upc = "barcode"
duration = "seconds"
popularity = "pop"

[options]
artist_separator = ";"
duration_unit = "s"
"""
CSV_SEED = (
    b"id,name,artist,album,isrc,barcode,seconds,pop\n"
    b"1,Open Road,Ana Lind,Free Songs,US-RC1-76-07839,036000291452,201.5,40\n"
    b'2,"Night, Swim",Ana Lind;Kai Novak,Free Songs,usrc17607840,036000291452,180,0\n'
    b"3,Bad,Kai Novak,Odd,NOT-AN-ISRC,1,ten,140\n"
)


def test_csv_files_are_ingested_or_rejected_with_reasons() -> None:
    from longplay.catalog.sources import ingest_tabular

    @_fuzz(12)  # ~0.8 s an ingest
    @given(data=mutated(CSV_SEED))
    def run(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            archive = Archive.init(Path(tmp) / "archive")
            (Path(tmp) / "map.toml").write_text(CSV_MAPPING)
            path = Path(tmp) / "in.csv"
            path.write_bytes(data)
            _check_ingest(
                archive, lambda: ingest_tabular(archive, [path], Path(tmp) / "map.toml")
            )

    run()
