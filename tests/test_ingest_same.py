"""The ingest stores exactly what it stored before it was made faster: every table's rows and
the rejects log of a fixed input, against digests taken with the code before the rewrite
(`bench/ingest_same.py` compares two revisions on larger inputs)."""

from pathlib import Path

from longplay.archive import Archive
from longplay.catalog.sources import ingest_flat
from longplay.catalog.store import CatalogStore
from longplay.testing.ingest_inputs import catalog_digest, write_inputs

# Taken with the ingest of b29a3b6 (before the fused passes).
WANT: dict[str, str] = {
    "album_artists": "409:cc107b3e32634c0a42c19caf32f2f83c",
    "album_genres": "408:94112422ccddac79db25ae9750631696",
    "albums": "410:733571d80abaa3e36a1aa9245cae9245",
    "artists": "104:3b1aaa0d3db984cd01b24c10ee2409c5",
    "genres": "20:1509826f8b20788e86cda5fee2a21225",
    "ingest_log": "3:986c9abe1428bf18aee2f2ef9094e7e9",
    "source_records": "0:d41d8cd98f00b204e9800998ecf8427e",
    "track_artists": "4406:8ed9d352c15c367af708567829842e3e",
    "track_genres": "1:ecdaf026bc6fa28428bfeb5b2664f84a",
    "track_isrcs": "0:d41d8cd98f00b204e9800998ecf8427e",
    "tracks": "4008:745a98e45191a0ae8eed5d17066772be",
    "rejects": "12:f2e01ad0cb4770015241aef52a3f6ae8",
}


def test_flat_ingest_stores_what_it_stored_before(tmp_path: Path, archive: Archive) -> None:
    files = write_inputs(tmp_path / "input", 4000)
    report = ingest_flat(archive, files, "same")
    path = CatalogStore(archive).current_path()
    assert path is not None
    got = catalog_digest(path, report.rejects_path, tmp_path)
    assert report.rejected == 4 and report.values_rejected == 8
    assert got == WANT
