"""A re-ingest replaces its source's older rows once (catalog/replace.py), not per unit: the
catalog it stores is the one the per-unit deletes stored, and a run that fails anywhere and is
rerun stores it too."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from longplay.archive import Archive
from longplay.catalog import ingest
from longplay.catalog.normalize import Normalizer
from longplay.catalog.sources import ingest_flat
from longplay.catalog.store import CatalogStore
from longplay.testing.ingest_inputs import catalog_digest, write_inputs

# Taken with the ingest of dc58095 (older rows deleted by every unit): 600 tracks, then 400 of
# them again with other values in other units (tricky rows both times).
WANT: dict[str, str] = {
    "album_artists": "74:d46566adf30cee1a94b5c4cd0d7beaff",
    "album_genres": "73:85ac9a934831cb25bdc95344598b2337",
    "albums": "75:a6c71a1dc9191cfccb4ead8d6bbd4f5a",
    "artists": "20:efcfa0ac5e8abd45d491687cf35baba8",
    "genres": "20:1509826f8b20788e86cda5fee2a21225",
    "ingest_log": "6:cf6f04fe31ef9bf64b3b798b1c2a0c84",
    "rejects": "12:f5ed82c02d6ab257f46eb75a166920c8",
    "source_records": "0:d41d8cd98f00b204e9800998ecf8427e",
    "track_artists": "661:e1b0b360cc9bd26422d961a6e36a19c0",
    "track_genres": "1:ecdaf026bc6fa28428bfeb5b2664f84a",
    "track_isrcs": "0:d41d8cd98f00b204e9800998ecf8427e",
    "tracks": "608:9e7f36c0116b5326f5ebf4214ba5a863",
}


def _reingest(root: Path, archive: Archive) -> dict[str, str]:
    ingest_flat(archive, write_inputs(root / "v1", 600), "same")
    report = ingest_flat(archive, write_inputs(root / "v2", 400), "same")
    path = CatalogStore(archive).current_path()
    assert path is not None and path.parent.name == "gen-000002"
    return catalog_digest(path, report.rejects_path, root)


def test_a_reingest_stores_what_per_unit_deletes_stored(tmp_path: Path, archive: Archive) -> None:
    got = _reingest(tmp_path, archive)
    assert got == WANT
    with CatalogStore(archive).read() as con:
        # Both kinds of rows are there: replaced ones (generation 2) and kept ones, with links.
        kept = con.execute("""SELECT t.generation, count(DISTINCT t.track_id), count(a.track_id)
                              FROM tracks t LEFT JOIN track_artists a USING (track_id)
                              GROUP BY 1 ORDER BY 1""").fetchall()
    assert [g for g, *_ in kept] == [1, 2] and all(n and links >= n for _, n, links in kept)


def _fail_once(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, when: Callable[..., bool]
) -> list[bool]:
    """Make ``owner.name`` raise after it ran, the first time ``when(*args)`` holds."""
    real = getattr(owner, name)
    failed: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        if not failed and when(*args):
            failed.append(True)
            raise RuntimeError("killed")
        return out

    monkeypatch.setattr(owner, name, wrapped)
    return failed


@pytest.mark.parametrize("where", ["first unit", "second unit", "finalize"])
def test_a_reingest_that_fails_and_is_rerun_stores_the_same(
    tmp_path: Path, archive: Archive, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The set-aside (its own transaction), a unit's writes, or the finalize's replacement and
    identity are rolled back by the failure; the rerun resumes the partial generation."""
    ingest_flat(archive, write_inputs(tmp_path / "v1", 600), "same")
    v2 = write_inputs(tmp_path / "v2", 400)
    if where == "finalize":
        failed = _fail_once(monkeypatch, ingest.identity, "assign", lambda *a: True)
    else:
        n = 0 if where == "first unit" else 1
        failed = _fail_once(
            monkeypatch, Normalizer, "apply", lambda _self, unit_no, *a: unit_no == n
        )
    with pytest.raises(RuntimeError, match="killed"):
        ingest_flat(archive, v2, "same")
    assert failed and CatalogStore(archive).current_name() == "gen-000001"
    report = ingest_flat(archive, v2, "same")
    assert report.units_skipped == (
        1 if where == "second unit" else 3 if where == "finalize" else 0
    )
    path = CatalogStore(archive).current_path()
    assert path is not None
    assert catalog_digest(path, report.rejects_path, tmp_path) == WANT
