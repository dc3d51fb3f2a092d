"""The ingest's in-memory set of the track keys it wrote (catalog/seen.py), and the duplicate
rule that rests on it: with unordered keys, across units, and across a resumed run."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from longplay.archive import Archive
from longplay.catalog import ingest
from longplay.catalog.seen import KeyHashes
from longplay.catalog.sources import ingest_flat, readers
from longplay.catalog.store import CatalogStore
from longplay.testing.ingest_inputs import write_inputs


def test_key_hashes_answer_as_a_set_does() -> None:
    rng = np.random.default_rng(3)
    pool = rng.integers(0, 2**64 - 1, 5000, dtype=np.uint64)
    seen = KeyHashes()
    held: set[int] = set()
    for size in (1, 700, 300, 1200, 5, 900, 2000, 40, 0, 3):
        unit = rng.choice(pool, size)  # repeats within a unit and of earlier units
        probe = rng.choice(pool, 800)
        assert seen.contains(probe).tolist() == [int(h) in held for h in probe]
        seen.add(unit)
        held.update(int(h) for h in unit)
        assert seen.contains(unit).all()
        runs = [len(r) for r in seen._runs]
        assert all(a >= 2 * b for a, b in itertools.pairwise(runs)), runs
    assert seen.contains(np.array([], dtype=np.uint64)).tolist() == []


def _jsonl(path: Path, keys: list[str]) -> Path:
    rows = [
        {"track_key": k, "title": "t " + k, "album_key": "al-1", "album_title": path.stem}
        for k in keys
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_key_of_an_earlier_unit_is_rejected_after_a_resume(
    tmp_path: Path, archive: Archive
) -> None:
    """The second unit fails once; the rerun skips the first unit, so the key sets must be read
    back from the tracks and albums it wrote for the repeated key and album to be found."""
    first = _jsonl(tmp_path / "a.jsonl", ["k-9f", "k-03", "k-5a"])
    second = _jsonl(tmp_path / "b.jsonl", ["k-77", "k-03", "k-00"])
    failed: list[bool] = []

    def units() -> list[ingest.Unit]:
        a, b = (readers.flat_unit(p, work_dir=archive.work_dir) for p in (first, second))
        load = b.load

        def fail_once(con):  # type: ignore[no-untyped-def]
            if not failed:
                failed.append(True)
                raise RuntimeError("killed")
            load(con)

        b.load = fail_once
        return [a, b]

    job = {"files": "a,b"}
    with pytest.raises(RuntimeError, match="killed"):
        ingest.run(archive, "t", units(), job)
    report = ingest.run(archive, "t", units(), job)
    assert report.units_skipped == 1 and report.rejected == 1
    with CatalogStore(archive).read() as con:
        keys = sorted(k for (k,) in con.execute("SELECT source_key FROM tracks").fetchall())
        albums = con.execute("SELECT title FROM albums").fetchall()
    assert keys == ["k-00", "k-03", "k-5a", "k-77", "k-9f"]
    assert albums == [("a",)]  # the album keeps its first unit's values
    assert report.rejects_path is not None
    (reject,) = [json.loads(line) for line in report.rejects_path.read_text().splitlines()]
    assert reject["position"].endswith("2") and "duplicate track_key" in reject["reason"]


def test_hashed_keys_meet_the_same_rules(tmp_path: Path, archive: Archive) -> None:
    """The tricky rows with the hashed catalog: the repeated first key (another unit) and the
    repeat within a unit are rejected as with ordered keys."""
    files = write_inputs(tmp_path / "input", 4000, keys="hashed")
    report = ingest_flat(archive, files, "same")
    assert report.rejected == 4 and report.values_rejected == 8
    assert report.rejects_path is not None
    reasons = [json.loads(line)["reason"] for line in report.rejects_path.read_text().splitlines()]
    assert sum("duplicate track_key" in r for r in reasons) == 2
