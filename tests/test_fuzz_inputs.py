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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audiofixtures import shared_data
from longplay.archive import Archive
from longplay.errors import LongplayError
from test_fuzz_parsers import CASES, FUZZ_EXAMPLES, accepts_or_rejects, json_values, mutated
from test_fuzz_parsers import ran as _ran

SOAK = "LONGPLAY_FUZZ_EXAMPLES" in os.environ  # read now: the fixture below removes it


@pytest.fixture(scope="module", autouse=True)
def _no_fuzz_knob_in_settings() -> Any:
    """Archives read every LONGPLAY_* variable as a setting and refuse unknown ones, so the
    soak's LONGPLAY_FUZZ_EXAMPLES would make every archive here fail to open."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LONGPLAY_FUZZ_EXAMPLES", raising=False)
        yield


def _fuzz(make_test_default: int) -> Any:
    """Settings for a parser whose cases are slow: fewer in make test, the soak's count in soak."""
    return settings(
        max_examples=FUZZ_EXAMPLES if SOAK else make_test_default,
        deadline=None,
        derandomize=FUZZ_EXAMPLES <= 1000 or not SOAK,
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
        CASES["flat JSON lines"] += 1
        with tempfile.TemporaryDirectory() as tmp:
            archive = Archive.init(Path(tmp) / "archive")
            path = Path(tmp) / "in.jsonl"
            path.write_bytes(data)
            _check_ingest(archive, lambda: ingest_flat(archive, [path], "fuzz"))

    run()
    _ran("flat JSON lines")


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
        CASES["CSV"] += 1
        with tempfile.TemporaryDirectory() as tmp:
            archive = Archive.init(Path(tmp) / "archive")
            (Path(tmp) / "map.toml").write_text(CSV_MAPPING)
            path = Path(tmp) / "in.csv"
            path.write_bytes(data)
            _check_ingest(archive, lambda: ingest_tabular(archive, [path], Path(tmp) / "map.toml"))

    run()
    _ran("CSV")


def test_csv_regressions_reject_their_records_and_keep_the_rest(tmp_path: Path) -> None:
    """csv-duration-out-of-range: a duration of 1e22 s made DuckDB's BIGINT cast fail the
    whole ingest (ConversionException, found by the soak); inf and nan were the same."""
    from longplay.catalog.sources import ingest_tabular
    from test_fuzz_parsers import REGRESSIONS

    (tmp_path / "map.toml").write_text(CSV_MAPPING)
    path = REGRESSIONS / "csv-duration-out-of-range.csv"
    archive = Archive.init(tmp_path / "archive")
    report = ingest_tabular(archive, [path], tmp_path / "map.toml")
    assert (report.read, report.kept, report.rejected) == (5, 1, 4)
    assert report.rejects_path is not None
    reasons = [json.loads(x)["reason"] for x in report.rejects_path.read_text().splitlines()]
    assert sum("out of range" in r for r in reasons) == 3, reasons
    assert any("'seconds' (duration): \"ten\" is not a number" in r for r in reasons), reasons


# -- MusicBrainz documents ---------------------------------------------------------------------
PICARD = shared_data("musicbrainz", "picard") or Path("../shared/data/musicbrainz/picard")


def _release_seeds() -> list[dict[str, Any]]:
    from longplay.testing import musicbrainz_docs

    seeds = [json.loads(p.read_text()) for p in sorted(PICARD.glob("release*.json"))]
    made = list(musicbrainz_docs.Shape(seed=7, artists=20, recordings=50).releases(3))
    return [d for d in seeds + made if isinstance(d, dict)]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON document, so a mutation can aim at any level."""
    out = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*at, i))
    return out


@st.composite
def mutated_document(draw: st.DrawFn, seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid release with 1-5 values replaced by any JSON, deleted, or duplicated."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 5))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "delete", "copy"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(json_values)
    return doc


def _map_one(kind: str, line: bytes) -> None:
    from longplay.catalog.sources.musicbrainz.chunks import map_chunk

    mapped = map_chunk(kind, 1, [line], None)  # a document maps, or is rejected with a reason
    assert mapped.read == (1 if line.strip() else 0)
    assert mapped.rejected <= 1
    if not mapped.rejected and mapped.read:
        assert mapped.docs.num_rows == 1


@pytest.mark.skipif(not PICARD.is_dir(), reason="../shared/data/musicbrainz is not present")
def test_musicbrainz_documents_map_or_are_rejected() -> None:
    seeds = _release_seeds()
    from longplay.catalog.sources.musicbrainz.chunks import map_chunk

    # the seeds themselves map, except release_null.json (all nulls: no id, rightly refused)
    refused = [s for s in seeds if map_chunk("release", 1, [json.dumps(s).encode()], None).rejected]
    assert len(refused) == 1 and refused[0]["id"] is None

    @_fuzz(FUZZ_EXAMPLES)
    @given(doc=mutated_document(seeds))
    def structured(doc: dict[str, Any]) -> None:
        CASES["MusicBrainz releases, mutated"] += 1
        _map_one("release", json.dumps(doc).encode())

    @_fuzz(FUZZ_EXAMPLES)
    @given(doc=json_values, kind=st.sampled_from(["release", "artist", "recording", "label"]))
    def arbitrary(doc: Any, kind: str) -> None:
        CASES["MusicBrainz documents, any JSON"] += 1
        _map_one(kind, json.dumps(doc).encode())

    structured()
    arbitrary()
    _ran("MusicBrainz releases, mutated")
    _ran("MusicBrainz documents, any JSON")


# -- search queries ----------------------------------------------------------------------------
query_text = st.text(max_size=80) | st.lists(
    st.sampled_from(
        [
            '"',
            ":",
            "..",
            "year:",
            "bpm:",
            "key:",
            "artist:",
            "title:",
            "album:",
            "isrc:",
            "-",
            "*",
            "2001",
            "-5",
            "99999999999999999999",
            "Am",
            "120..90",
            "x",
            " ",
            "\x00",
            "é",
            "港",
        ]
    ),
    max_size=8,
).map("".join)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    from longplay.catalog.sources import ingest_synthetic
    from longplay.search.build import build_index

    archive = Archive.init(tmp_path_factory.mktemp("fuzz-search") / "archive")
    ingest_synthetic(archive, 200, seed=3)
    build_index(archive, workers=1)
    return archive


def test_search_queries_parse_or_are_refused_in_one_line(tiny_index: Archive) -> None:
    from longplay.search import engine
    from longplay.search.syntax import parse

    @_fuzz(FUZZ_EXAMPLES)
    @given(text=query_text)
    def parsing(text: str) -> None:
        CASES["search query parsing"] += 1
        try:
            parse(text)
        except LongplayError as exc:  # the CLI prints it as one line
            assert str(exc).strip() and "\n" not in str(exc)

    @_fuzz(15)  # ~0.5 s a search of the tiny index, typo pass included
    @given(text=query_text)
    @example(text="000000000000012000000000 0")  # its typo regex once outgrew Tantivy's limit
    def searching(text: str) -> None:
        CASES["searches"] += 1
        accepts_or_rejects(engine.search, tiny_index, text)

    parsing()
    searching()
    _ran("search query parsing")
    _ran("searches")


# -- Subsonic request parameters ---------------------------------------------------------------
# Endpoints that would lock the fuzzing user out (every later case would only test auth).
LOCKOUT = {"changePassword", "deleteUser", "updateUser", "createUser"}
PARAM_NAMES = ["id", "songId", "albumId", "artistId", "playlistId", "size", "offset", "count"]
PARAM_NAMES += ["query", "type", "fromYear", "toYear", "genre", "maxBitRate", "format", "name"]
PARAM_NAMES += [
    "timeOffset",
    "musicFolderId",
    "submission",
    "time",
    "position",
    "estimateContentLength",
]
PARAM_NAMES += ["artistCount", "songCount", "albumCount", "current", "index", "username", "f", "v"]
PARAM_VALUES = st.sampled_from(
    [
        "tr-1",
        "al-1",
        "ar-1",
        "pl-1",
        "tr--1",
        "tr-99999999999999999999999",
        "1",
        "-1",
        "0",
        "99999999999999999999",
        "-99999999999999",
        "1e9",
        "NaN",
        "",
        "json",
        "xml",
        "../../etc",
        "%ff%fe",
        "%00",
        "%C0%AF",
        "tr-%ff",
        "true",
        "2001",
        "random",
        "alphabeticalByName",
    ]
) | st.text(max_size=30)
TRACEBACK = re.compile(r"Traceback|File \"|/tmp/|/work/|site-packages|\.py\b")


@pytest.fixture(scope="module")
def subsonic(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from starlette.testclient import TestClient

    from longplay.catalog.sources import ingest_synthetic
    from longplay.server import accounts
    from longplay.server.app import create_app

    archive = Archive.init(tmp_path_factory.mktemp("fuzz-server") / "archive")
    archive.toml_path.write_text("auth_attempts_per_minute = 0\n")
    archive = Archive.open(archive.root)
    ingest_synthetic(archive, 100, seed=2)
    accounts.add_user(archive, "ann", "pw", admin=True)
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        yield client


def test_subsonic_requests_answer_an_envelope_or_a_4xx(subsonic: Any) -> None:
    from urllib.parse import quote

    from longplay.server.endpoints import ENDPOINTS, SPEC_ENDPOINTS
    from longplay.server.errors import MESSAGES

    names = [
        *sorted((set(ENDPOINTS) | set(SPEC_ENDPOINTS)) - LOCKOUT),
        "nope",
        "ping.view",
        "..%2f",
    ]
    params = st.lists(
        st.tuples(st.sampled_from(PARAM_NAMES) | st.text(max_size=10), PARAM_VALUES), max_size=6
    )

    @_fuzz(100)  # ~50 ms a request in process; make soak runs 10,000
    @given(name=st.sampled_from(names), pairs=params, raw=st.booleans())
    def run(name: str, pairs: list[tuple[str, str]], raw: bool) -> None:
        CASES["Subsonic requests"] += 1
        # raw: values go on the wire as written, so "%ff" arrives as a non-UTF-8 escape
        enc = (lambda s: quote(s, safe="%")) if raw else (lambda s: quote(s, safe=""))
        query = "&".join(f"{enc(k)}={enc(v)}" for k, v in [("u", "ann"), ("p", "pw"), *pairs])
        res = subsonic.get(f"/rest/{name}?{query}&f=json")
        assert res.status_code < 500, (name, query, res.status_code, res.text[:300])
        if res.status_code >= 400 or "json" not in res.headers.get("content-type", ""):
            assert not TRACEBACK.search(res.text if res.status_code >= 400 else ""), res.text
            return  # a 4xx, or a stream / cover / file body
        assert not TRACEBACK.search(res.text), res.text[:300]
        body = res.json()["subsonic-response"]
        assert body["status"] in ("ok", "failed"), body
        if body["status"] == "failed":
            assert body["error"]["code"] in MESSAGES, body
            assert body["error"]["message"] != "internal error", (name, query)

    run()
    _ran("Subsonic requests")
