"""Rebuild hooks: each source says how its records come back; the export names no source."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson

import longplay.catalog.source_records
from longplay.catalog import sources
from longplay.catalog.schema import TABLES
from longplay.catalog.sources.musicbrainz import rebuild as mb_rebuild


def test_musicbrainz_supplies_its_own_rebuild_hook() -> None:
    assert sources.rebuild_hook("musicbrainz") is mb_rebuild.rebuild


def test_a_source_without_a_hook_gets_its_records_back_as_stored() -> None:
    con = duckdb.connect()
    con.execute(TABLES)
    records = [("label-x", "track", "b", {"t": 2}), ("label-x", "album", "a", {"a": [1]})]
    records.append(("other", "track", "c", {"t": 3}))
    for source, kind, key, rec in records:
        con.execute(
            "INSERT INTO source_records VALUES (?, ?, ?, ?, 1)",
            [source, kind, key, orjson.dumps(rec).decode()],
        )
    hook = sources.rebuild_hook("label-x")
    assert list(hook(con, None)) == [{"a": [1]}, {"t": 2}]  # by kind, then key
    assert list(hook(con, "track")) == [{"t": 2}]


def test_the_export_names_no_source() -> None:
    # Sources plug in through sources.REBUILD_HOOKS; the export itself stays generic.
    text = Path(longplay.catalog.source_records.__file__).read_text(encoding="utf-8")
    assert "musicbrainz" not in text.lower()
