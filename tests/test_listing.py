"""torrents.json and manifests: read back what the packer's shape writes, refuse anything else."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from longplay.errors import InputError
from longplay.pack.listing import (
    Listing,
    manifest_jsonl,
    parse_listing,
    read_listing,
    read_manifest,
)
from torrentdata import TorrentSpec, build_mirror, entry, manifest_rows, random_files


def test_listing_round_trip_from_real_torrents(tmp_path: Path) -> None:
    specs = [
        TorrentSpec("longplay-t0-0001", random_files(1, 3, 20000), 0, 900, (60, 90)),
        TorrentSpec("longplay-t1-0001", random_files(2, 2, 10000), 1, 100, (1, 59)),
    ]
    listing = build_mirror(tmp_path, specs)
    back = read_listing(tmp_path / "torrents" / "torrents.json")
    assert back == listing
    assert [t.name for t in back.torrents] == ["longplay-t0-0001", "longplay-t1-0001"]
    assert back.torrents[0].listens_share == pytest.approx(0.9)
    assert len(back.torrents[0].info_hash_v2 or "") == 64
    rows = read_manifest(tmp_path / "torrents" / "longplay-t0-0001.manifest.jsonl")
    assert sorted(r.path for r in rows) == sorted(specs[0].files)


def _doc(*entries: dict[str, object]) -> bytes:
    return orjson.dumps(
        {"archive": "longplay", "generated_at": "2026-01-01T00:00:00Z", "torrents": list(entries)}
    )


GOOD = asdict(entry("t1", 1000, 10))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name": "../evil"}, "separator"),
        ({"name": ".."}, "not allowed"),
        ({"file": "/etc/passwd"}, "separator"),
        ({"file": "t1.txt"}, "does not end in .torrent"),
        ({"manifest": "../t1.manifest.jsonl"}, "separator"),
        ({"manifest": "t1.csv"}, "manifest"),
        ({"info_hash_v1": "XYZ"}, "expected form"),
        ({"info_hash_v2": "ab" * 20}, "expected form"),
        ({"data_size": -1}, "out of range"),
        ({"data_size": "10"}, "expected an integer"),
        ({"tier": True}, "expected an integer"),
        ({"listens_share": 1.5}, r"\[0, 1\]"),
        ({"is_metadata": 1}, "true or false"),
        ({"popularity_min": 90, "popularity_max": 10}, "popularity_min"),
    ],
)
def test_bad_entry_refused(change: dict[str, object], reason: str) -> None:
    with pytest.raises(InputError, match=reason) as err:
        parse_listing(_doc({**GOOD, **change}), "torrents.json")
    assert "torrents.json: torrents[0]" in str(err.value)


def test_missing_key_named() -> None:
    bad = dict(GOOD)
    del bad["magnet"]
    with pytest.raises(InputError, match=r"missing key.*magnet"):
        parse_listing(_doc(bad), "torrents.json")


@pytest.mark.parametrize("key", ["name", "file", "info_hash_v1"])
def test_duplicates_refused(key: str) -> None:
    other = asdict(entry("t2", 10, 1))
    other[key] = GOOD[key]
    with pytest.raises(InputError, match=f"duplicate {key}"):
        parse_listing(_doc(GOOD, other), "torrents.json")


def test_not_json_or_wrong_shape() -> None:
    for data in (b"{", b"[]", b'{"torrents": {}}'):
        with pytest.raises(InputError, match=r"torrents\.json"):
            parse_listing(data, "torrents.json")
    with pytest.raises(InputError, match="no such"):
        read_listing(Path("/nonexistent/torrents.json"))


def test_listing_to_json_is_the_documented_shape() -> None:
    listing = Listing("longplay", "2026-01-01T00:00:00Z", (entry("t1", 1, 1),))
    doc = orjson.loads(listing.to_json())
    assert set(doc) == {"archive", "generated_at", "torrents"}
    assert set(doc["torrents"][0]) == {
        "name",
        "file",
        "info_hash_v1",
        "info_hash_v2",
        "magnet",
        "data_size",
        "file_count",
        "tier",
        "popularity_min",
        "popularity_max",
        "listens_covered",
        "listens_share",
        "created",
        "is_metadata",
        "manifest",
    }


def test_manifest_parquet_and_jsonl_agree(tmp_path: Path) -> None:
    rows = manifest_rows(random_files(3, 4, 100))
    jsonl = tmp_path / "t.manifest.jsonl"
    jsonl.write_bytes(manifest_jsonl(rows))
    parquet = tmp_path / "t.manifest.parquet"
    pq.write_table(pa.Table.from_pylist([asdict(r) for r in rows]), parquet)
    assert read_manifest(jsonl) == rows == read_manifest(parquet)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../x.ogg", "not allowed"),
        ("/abs.ogg", "absolute"),
        ("a//b.ogg", "not allowed"),
        ("a/./b.ogg", "not allowed"),
        ("a\\..\\b", "separator"),
        ("/".join(["d"] * 30), "deep"),
    ],
)
def test_manifest_unsafe_path_refused(tmp_path: Path, path: str, reason: str) -> None:
    row = asdict(manifest_rows({"ok.ogg": b"x"})[0]) | {"path": path}
    m = tmp_path / "t.manifest.jsonl"
    m.write_bytes(orjson.dumps(row) + b"\n")
    with pytest.raises(InputError, match=reason) as err:
        read_manifest(m)
    assert "line 1" in str(err.value)


def test_manifest_duplicates_and_types_refused(tmp_path: Path) -> None:
    rows = [asdict(r) for r in manifest_rows({"a.ogg": b"x", "b.ogg": b"y"})]
    m = tmp_path / "t.manifest.jsonl"
    m.write_bytes(b"".join(orjson.dumps(r | {"path": "a.ogg"}) + b"\n" for r in rows))
    with pytest.raises(InputError, match=r"duplicate path 'a\.ogg'"):
        read_manifest(m)
    m.write_bytes(orjson.dumps(rows[0] | {"sha256": "nothex"}) + b"\n")
    with pytest.raises(InputError, match="sha256"):
        read_manifest(m)
    m.write_bytes(orjson.dumps(rows[0] | {"popularity": 101}) + b"\n")
    with pytest.raises(InputError, match="popularity"):
        read_manifest(m)
    m.write_bytes(b"not json\n")
    with pytest.raises(InputError, match="line 1: not valid JSON"):
        read_manifest(m)


def test_oversized_untrusted_files_are_refused_unread(tmp_path: Path) -> None:
    from longplay.mirror.safety import read_torrent
    from longplay.safepaths import read_bounded

    big = tmp_path / "big"
    big.write_bytes(b"x" * 1001)
    assert read_bounded(big, 1001, "thing") == b"x" * 1001
    with pytest.raises(InputError, match="more than 1,000 bytes is too large for a thing"):
        read_bounded(big, 1000, "thing")
    with pytest.raises(InputError, match=r"no such \.torrent file"):
        read_torrent(tmp_path / "missing.torrent")
