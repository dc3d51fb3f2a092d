"""Flat-record inputs that exercise every ingest rule, and a digest of what an ingest stored.

The digest names each catalog table's rows (order-free) and the rejects log, so two ingests of
the same input, by two versions of the code, can be compared table by table: same rows, same IDs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from longplay.catalog.sources import synthetic

_SEED = 7  # of the synthetic catalog write_inputs writes

# Values that ingest rewrites with the time or the path of the run, not with the input.
_VOLATILE = {"ingest_log": "finished_at"}


def _credit(key: str, name: str, mbid: str | None = None, join: str = "") -> dict[str, object]:
    return {"key": key, "name": name, "mbid": mbid, "join_phrase": join}


def tricky_rows(keys: str = "ordered") -> list[dict[str, object]]:
    """Records that hit the checks, the duplicate rules and the first-row rules of albums and
    artists: each a case the plain synthetic catalog does not have. The first names a track,
    an album and an artist of ``write_inputs``'s catalog, whose keys are ``keys``."""
    good = {
        "album_key": synthetic.key("al", 0, _SEED, keys),
        "artists": [_credit(synthetic.key("ar", 488, _SEED, keys), "Someone else")],
    }
    return [
        {
            "track_key": synthetic.key("tr", 0, _SEED, keys),
            "title": "repeats a key of the first file",
            **good,
        },
        {"track_key": "x1", "title": "bad isrc", "isrc": "XX-123", "album_key": "xa"},
        {
            "track_key": "x2",
            "title": "bad upc",
            "upc": "12345",
            "album_key": "xa",
            "album_title": "X album",
            "album_artists": [_credit("xa1", "Xa One")],
        },
        {
            "track_key": "x3",
            "title": "bad date",
            "release_date": "2020-13",
            "album_key": "xb",
            "album_genres": ["Jazz", " jazz ", ""],
            "genres": ["Rock", "rock"],
        },
        {"track_key": "x4", "title": "   ", "album_key": "xb"},
        {"track_key": "  ", "title": "blank key"},
        {"track_key": "x5", "title": "dup in unit, first"},
        {"track_key": "x5", "title": "dup in unit, second"},
        {
            "track_key": "x6",
            "title": "numbers",
            "popularity": 101,
            "duration_ms": -1,
            "disc_number": 40000,
            "track_number": -2,
            "listen_count": -5,
            "user_count": -1,
        },
        {
            "track_key": "x7",
            "title": "credits",
            "isrc": " us-abc-20-00001 ",
            "mbid": "AB3716A2-DCFB-499F-B5E1-6A92D0B18FB6",
            "artists": [
                _credit("m1", "Mono", None, " & "),
                _credit("m2", "Duo", "22222222-2222-2222-2222-222222222222"),
            ],
            "album_title": "Keyless album",
            "album_artists": [_credit("m1", "Mono", "11111111-1111-1111-1111-111111111111")],
            "upc": "0-12345-67890-5",
            "release_date": " 2001-02 ",
            "license": " CC-BY-4.0 ",
            "listen_count": 1234,
        },
        {"track_key": "x8", "title": "same recording", "isrc": "US0001500000"},
        {
            "track_key": "x9",
            "title": "no album",
            "artists": [_credit("", "  "), _credit("m3", "Tri")],
        },
    ]


def write_inputs(out: Path, tracks: int, keys: str = "ordered") -> list[Path]:
    """A synthetic catalog of ``tracks`` tracks as JSON lines in units of half of it, then a
    file of tricky rows (and a blank line): every file one ingest unit. ``keys``: the catalog's
    keys, ordered or hashed (see ``synthetic``)."""
    files = synthetic.write(
        out, tracks, seed=_SEED, fmt="jsonl", chunk_tracks=max(1, tracks // 2), keys=keys
    )
    extra = out / "tricky.jsonl"
    rows = [json.dumps(r) for r in tricky_rows(keys)]
    extra.write_text("\n".join(rows[:6]) + "\n\n" + "\n".join(rows[6:]) + "\n", encoding="utf-8")
    return [*files, extra]


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of ``table`` in the open database, in their order."""
    return [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
            "AND database_name = current_database() ORDER BY column_index",
            [table],
        ).fetchall()
    ]


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> str:
    cols = [c for c in columns(con, table) if c != _VOLATILE.get(table)]
    select = ", ".join(f'"{c}"' for c in cols)
    rows = sorted(repr(r) for r in con.execute(f'SELECT {select} FROM "{table}"').fetchall())
    return f"{len(rows)}:{hashlib.md5('|'.join(rows).encode()).hexdigest()}"


def catalog_digest(catalog: Path, rejects: Path | None, root: Path) -> dict[str, str]:
    """Each table of a catalog file as "rows:md5 of its sorted rows", and the rejects log's
    lines (with ``root`` replaced, so that two archives in different places compare equal)."""
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
        ]
        out = {t: _rows(con, t) for t in sorted(tables) if t != "meta"}
    finally:
        con.close()
    text = rejects.read_text(encoding="utf-8") if rejects is not None else ""
    text = text.replace(str(root), "<root>")
    out["rejects"] = f"{text.count(chr(10))}:{hashlib.md5(text.encode()).hexdigest()}"
    return out
