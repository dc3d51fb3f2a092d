import os
import threading
from pathlib import Path

import duckdb
import pytest

from longplay.archive import Archive
from longplay.catalog.store import CatalogStore, GenerationBuilder, _gen_name
from longplay.errors import LongplayError


def _gen(store: CatalogStore, tag: str) -> str:
    with store.build({"tag": tag}) as b:
        with b.unit("only") as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('tag', ?)", [tag])
        return b.commit()


def test_reader_keeps_a_whole_generation_while_next_is_built(archive: Archive) -> None:
    store = CatalogStore(archive)
    with pytest.raises(LongplayError, match="no catalog yet"), store.read():
        pass
    assert _gen(store, "one") == "gen-000001"
    with store.read() as reader:
        with store.build({"tag": "two"}) as b:
            with b.unit("u") as con:
                con.execute("UPDATE meta SET value = 'two' WHERE key = 'tag'")
            # Not yet committed: a new reader still sees generation one, whole.
            with store.read() as r2:
                assert r2.execute("SELECT value FROM meta WHERE key='tag'").fetchone()[0] == "one"
            b.commit()
        assert reader.execute("SELECT value FROM meta WHERE key='tag'").fetchone()[0] == "one"
    assert store.current_name() == "gen-000002"
    with store.read() as r3:
        assert r3.execute("SELECT value FROM meta WHERE key='tag'").fetchone()[0] == "two"
        with pytest.raises(duckdb.Error):
            r3.execute("INSERT INTO meta VALUES ('x', 'y')")  # readers are read-only


def test_one_writer_at_a_time(archive: Archive) -> None:
    store = CatalogStore(archive)
    with (
        store.build({"a": 1}),
        pytest.raises(LongplayError, match="another job"),
        store.build({"b": 2}),
    ):
        pass


def test_same_job_resumes_partial_other_job_discards_it(archive: Archive) -> None:
    store = CatalogStore(archive)
    with store.build({"job": "x"}) as b:
        with b.unit("first") as con:
            con.execute("INSERT INTO meta VALUES ('k', 'v')")
        partial = b.path
    assert partial.exists() and store.current_name() is None
    with store.build({"job": "x"}) as b:
        assert b.resumed and b.done_units() == {"first"}
        assert b.con.execute("SELECT value FROM meta WHERE key='k'").fetchone()[0] == "v"
    with store.build({"job": "y"}) as b:
        assert not b.resumed and b.done_units() == set()
    assert not partial.exists() or partial == b.path


def _commit_cut_short(store: CatalogStore, b: GenerationBuilder) -> None:
    """Commit ``b`` as a publish killed between its rename into place and CURRENT does."""
    real = store._publish
    store._publish = lambda partial, number: os.replace(partial, store.dir / _gen_name(number))  # type: ignore[method-assign]
    try:
        b.commit()
    finally:
        store._publish = real  # type: ignore[method-assign]


def test_a_publish_cut_short_is_finished_by_the_same_job(archive: Archive) -> None:
    """Killed between renaming the sealed partial into place and writing CURRENT, a rerun of
    the job finishes the publish: the same generation, its units not run again."""
    store = CatalogStore(archive)
    _gen(store, "one")
    with store.build({"tag": "two"}) as b:
        with b.unit("only") as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('tag', 'two')")
        _commit_cut_short(store, b)
    assert store.current_name() == "gen-000001" and store.generations()[-1] == "gen-000002"
    with store.build({"tag": "two"}) as b:
        assert b.resumed and b.sealed and b.number == 2 and b.unit_done("only")
        assert b.commit() == "gen-000002"
    assert store.current_name() == "gen-000002"
    assert store.generations() == ["gen-000001", "gen-000002"]
    with store.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key='tag'").fetchone()[0] == "two"
    # Another job leaves such a generation alone and builds the next one.
    with store.build({"tag": "three"}) as b:
        _commit_cut_short(store, b)
    assert _gen(store, "four") == "gen-000004"


def test_gc_keeps_current_and_newest(archive: Archive) -> None:
    store = CatalogStore(archive)
    for tag in "abcd":
        _gen(store, tag)
    assert store.generations() == ["gen-000001", "gen-000002", "gen-000003", "gen-000004"]
    assert store.gc(keep=2) == ["gen-000001", "gen-000002"]
    assert store.generations() == ["gen-000003", "gen-000004"]
    assert store.current_name() == "gen-000004"


def test_current_pointer_is_replaced_atomically(archive: Archive) -> None:
    """Readers polling CURRENT during many switches never see a missing or partial name."""
    store = CatalogStore(archive)
    _gen(store, "0")
    seen: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            seen.append((archive.catalog_dir / "CURRENT").read_text())

    t = threading.Thread(target=poll)
    t.start()
    for i in range(5):
        _gen(store, str(i))
    stop.set()
    t.join()
    assert seen and all(s.startswith("gen-") and s.endswith("\n") for s in seen)
    assert all(
        (archive.catalog_dir / s.strip()).is_dir() or s.strip() < store.current_name() for s in seen
    )
    assert Path(archive.catalog_dir / "CURRENT.tmp").exists() is False
