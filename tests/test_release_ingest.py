"""`ingest release`: a mirror that fetched only the metadata torrent gets the publisher's catalog.

A packed publisher archive seeds; a second archive plans only the metadata torrent, fetches it
with libtorrent, imports the release and must answer `stats` and search as the publisher does.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from longplay.archive import Archive
from longplay.catalog.sources.release import ingest_release
from longplay.catalog.stats import catalog_stats
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError
from longplay.mirror.choose import plan_mirror
from longplay.mirror.session import run_session
from longplay.pack.listing import read_listing
from longplay.search.engine import search
from longplay.server.holdings import held_files
from packfixtures import clips, packed_archive
from seeding import LOOP, Seeder

QUERIES = ["", "a", "the", "love", "night", "2", "zzzz-no-match"]


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, Archive]]:
    root = tmp_path_factory.mktemp("release")
    publisher, _ = packed_archive(root / "publisher", clips(root / "music"))
    seeder = Seeder(publisher.root)
    try:
        mirror = Archive.init(root / "mirror")
        shutil.copytree(publisher.torrents_dir, mirror.torrents_dir, dirs_exist_ok=True)
        listing = read_listing(mirror.torrents_dir / "torrents.json")
        meta = next(t for t in listing.torrents if t.is_metadata)
        plan = plan_mirror(mirror.root, None, meta.data_size)
        assert [t.name for t in plan.chosen] == [meta.name]
        status = run_session(
            mirror.root,
            "fetch",
            timeout=60,
            listen_interface=LOOP,
            peers=(("127.0.0.1", seeder.port),),
        )
        assert status.complete, status
        # Complete means on disk: every file of the torrent, byte for byte the publisher's.
        theirs, ours = publisher.files_dir / meta.name, mirror.files_dir / meta.name
        assert _contents(ours) == _contents(theirs)
    finally:
        seeder.close()
    yield publisher, mirror


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _stats(archive: Archive) -> dict[str, object]:
    out = catalog_stats(CatalogStore(archive))
    out.pop("generation")
    return out


def test_mirror_gets_the_same_stats_and_search(mirrored: tuple[Archive, Archive]) -> None:
    publisher, mirror = mirrored
    meta = next(p for p in mirror.files_dir.iterdir() if p.name.endswith("-metadata"))
    report = ingest_release(mirror, meta)
    assert report.kind == "sqlite" and report.rejected == 0 and report.rows > 0
    assert _stats(mirror) == _stats(publisher)
    for q in QUERIES:
        theirs = search(publisher, q, limit=50)
        ours = search(mirror, q, limit=50)
        assert [(h.kind, h.id, h.title) for h in ours.hits] == [
            (h.kind, h.id, h.title) for h in theirs.hits
        ], q
        assert ours.total == theirs.total
        assert q != "" or theirs.total >= 12  # the empty query lists every track
    # The same import from the Parquet folder gives the same catalog.
    again = ingest_release(mirror, meta / "catalog" / "parquet")
    assert again.kind == "parquet" and again.rows == report.rows
    assert _stats(mirror) == _stats(publisher)
    # Rerunning the same job is a no-op resume, not a second copy.
    assert ingest_release(mirror, meta / "catalog" / "parquet").rows == report.rows


def test_fetched_files_count_as_held(mirrored: tuple[Archive, Archive], tmp_path: Path) -> None:
    publisher, mirror = mirrored
    assert not list(held_files(mirror))  # only the metadata torrent: no audio held
    name = next(p.name for p in publisher.files_dir.iterdir() if not p.name.endswith("metadata"))
    shutil.copytree(publisher.files_dir / name, mirror.files_dir / name)
    held = dict(held_files(mirror))
    assert held and all(Path(p).is_relative_to(mirror.files_dir / name) for p in held.values())
    shutil.rmtree(mirror.files_dir / name)


def test_bad_releases_are_refused_or_rejected(
    mirrored: tuple[Archive, Archive], tmp_path: Path
) -> None:
    _, mirror = mirrored
    with pytest.raises(InputError, match="no such file"):
        ingest_release(mirror, tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a release"):
        ingest_release(mirror, tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="not a release"):
        ingest_release(mirror, tmp_path / "notes.txt")
    # A SQLite release with a track missing its title and one with a bad ID: both rejected.
    meta = next(p for p in mirror.files_dir.iterdir() if p.name.endswith("-metadata"))
    ingest_release(mirror, meta)
    plain = next((mirror.work_dir / "release").glob("*.sqlite"))
    bad = tmp_path / "bad.sqlite"
    shutil.copyfile(plain, bad)
    con = sqlite3.connect(bad)
    ids = [r[0] for r in con.execute("SELECT track_id FROM tracks ORDER BY track_id LIMIT 2")]
    con.execute("UPDATE tracks SET title = NULL WHERE track_id = ?", [ids[0]])
    con.execute("UPDATE tracks SET track_id = 'x1' WHERE track_id = ?", [ids[1]])
    con.commit()
    con.close()
    report = ingest_release(mirror, bad)
    assert report.rejected == 2 and report.rejects_path is not None
    text = report.rejects_path.read_text()
    assert "no title" in text and "track_id is not a bigint" in text
    # Without a table it is not a release of this schema.
    con = sqlite3.connect(bad)
    con.execute("DROP TABLE genres")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="genres"):
        ingest_release(mirror, bad)


def test_cli_ingest_release(
    mirrored: tuple[Archive, Archive], tmp_path: Path, cli_env: dict[str, str]
) -> None:
    _, mirror = mirrored
    meta = next(p for p in mirror.files_dir.iterdir() if p.name.endswith("-metadata"))
    env = {**cli_env, "LONGPLAY_ARCHIVE": str(mirror.root)}
    ok = subprocess.run(
        ["longplay", "ingest", "release", str(meta)], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "release (sqlite)" in ok.stdout and "0 rejected" in ok.stdout
    (tmp_path / "x.txt").write_text("not a release")
    bad = subprocess.run(
        ["longplay", "ingest", "release", str(tmp_path / "x.txt")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "not a release" in bad.stderr
    assert "Traceback" not in bad.stderr
