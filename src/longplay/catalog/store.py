"""CatalogStore: the one owner of catalog DuckDB connections and of generations.

A generation is one DuckDB file, ``catalog/gen-NNNNNN/catalog.duckdb``, immutable once current.
``catalog/CURRENT`` names the current one and is replaced atomically (write, fsync, rename), so a
reader, such as a long-running server, always opens a whole generation while the next is built.

Writers build the next generation in ``gen-NNNNNN.partial/``: a copy of the current file plus
the new work. Builders are resumable: a partial generation remembers the job that made it
(``job.json``), and running the same job again reuses it, skipping the units it finished.
Only one builder runs at a time (``catalog/.lock``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from longplay.archive import Archive
from longplay.catalog import identifiers, popularity, schema
from longplay.errors import LongplayError

DB_NAME = "catalog.duckdb"
PARTIAL = ".partial"


def _gen_number(name: str) -> int:
    return int(name.split("-", 1)[1].split(".", 1)[0])


def _same_job(path: Path, job_text: str, base_name: str) -> bool:
    """Whether the generation folder ``path`` was begun by this job on the base ``base_name``."""
    job_file, base = path / "job.json", path / "base"
    return (
        job_file.exists()
        and base.exists()
        and job_file.read_text(encoding="utf-8") == job_text
        and base.read_text().strip() == base_name
    )


def _gen_name(number: int) -> str:
    return f"gen-{number:06d}"


def configure(con: duckdb.DuckDBPyConnection, archive: Archive, *, read_only: bool = False) -> None:
    """Apply the archive's DuckDB settings and define Longplay's SQL macros."""
    s = archive.settings
    if s.duckdb_threads:
        con.execute(f"SET threads = {int(s.duckdb_threads)}")
    if s.duckdb_memory_limit:
        con.execute("SET memory_limit = ?", [s.duckdb_memory_limit])
    if not read_only:
        tmp = archive.work_dir / "duckdb-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(tmp)])
    # Macros live in the temp catalog so that read-only connections can have them too.
    for block in (identifiers.SQL_MACROS, popularity.SQL_MACROS):
        for stmt in filter(None, (x.strip() for x in block.split(";\n"))):
            con.execute(stmt.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))


class CatalogStore:
    def __init__(self, archive: Archive):
        self.archive = archive
        self.dir = archive.catalog_dir

    # -- reading ---------------------------------------------------------------------------
    def current_name(self) -> str | None:
        try:
            name = (self.dir / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def current_path(self) -> Path | None:
        name = self.current_name()
        return self.dir / name / DB_NAME if name else None

    def current_number(self) -> int:
        name = self.current_name()
        return _gen_number(name) if name else 0

    def generations(self) -> list[str]:
        """Finished generations, oldest first."""
        if not self.dir.exists():
            return []
        names = [
            p.name
            for p in self.dir.iterdir()
            if p.is_dir() and p.name.startswith("gen-") and not p.name.endswith(PARTIAL)
        ]
        return sorted(names, key=_gen_number)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the current generation (a whole one, always)."""
        path = self.current_path()
        if path is None:
            raise LongplayError(
                f"the archive {self.archive.root} has no catalog yet; ingest a source first "
                "(e.g. `longplay ingest synthetic --tracks 10000`)"
            )
        con = duckdb.connect(str(path), read_only=True)
        try:
            configure(con, self.archive, read_only=True)
            yield con
        finally:
            con.close()

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def build(self, job: dict[str, Any]) -> Iterator[GenerationBuilder]:
        """Build the next generation for ``job`` (a JSON-able description that identifies it).

        Reuses a partial generation left by the same job (resume); discards one left by another.
        The generation becomes current only when :meth:`GenerationBuilder.commit` runs.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        lock_fh = open(self.dir / ".lock", "w")  # noqa: SIM115 - held for the whole build
        try:
            try:
                fcntl.flock(lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LongplayError(
                    f"another job is writing the catalog of {self.archive.root}"
                ) from None
            builder = self._open_partial(job)
            try:
                yield builder
            finally:
                builder.close()
        finally:
            lock_fh.close()

    def _open_partial(self, job: dict[str, Any]) -> GenerationBuilder:
        job_text = json.dumps(job, sort_keys=True, default=str)
        base_name = self.current_name() or ""
        current = _gen_number(base_name) if base_name else 0
        finished = self.generations()
        number = max([current, *map(_gen_number, finished)]) + 1
        for name in finished:
            if _gen_number(name) > current and _same_job(self.dir / name, job_text, base_name):
                # This job's generation, renamed into place by a publish cut short before
                # CURRENT named it: sealed, so resuming it only finishes the publish. (Built
                # again instead, it came out one generation later, its work done twice.)
                return GenerationBuilder(self, self.dir / name, _gen_number(name), resumed=True)
        for p in sorted(self.dir.glob(f"gen-*{PARTIAL}")):
            if _same_job(p, job_text, base_name):
                return GenerationBuilder(self, p, _gen_number(p.name), resumed=True)
            shutil.rmtree(p)  # a different job's leftovers: start over
        partial = self.dir / f"{_gen_name(number)}{PARTIAL}"
        partial.mkdir()
        base = self.current_path()
        if base is not None:
            shutil.copyfile(base, partial / DB_NAME)
        (partial / "base").write_text(base_name)
        (partial / "job.json").write_text(job_text, encoding="utf-8")
        return GenerationBuilder(self, partial, number, resumed=False)

    def _publish(self, partial: Path, number: int) -> str:
        final = self.dir / _gen_name(number)
        os.replace(partial, final)
        tmp = self.dir / "CURRENT.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(final.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / "CURRENT")
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return final.name

    def gc(self, keep: int | None = None) -> list[str]:
        """Remove all but the newest ``keep`` finished generations (never the current one).

        Data derived from a generation elsewhere (the search index) is its owner's to remove:
        ``longplay.search.layout.prune`` after this call."""
        keep = self.archive.settings.keep_generations if keep is None else keep
        keep = max(1, keep)
        current = self.current_name()
        gens = self.generations()
        doomed = [g for g in gens[:-keep] if g != current]
        for g in doomed:
            shutil.rmtree(self.dir / g)
            # The server's serving snapshot and held files of it (catalog/serving.py).
            for p in (self.archive.root / "serving").glob(f"*{g}*.sqlite"):
                p.unlink(missing_ok=True)
        return doomed


class _AllUnits:
    """The done units of a sealed partial generation: all of them."""

    def __contains__(self, unit: object) -> bool:
        return True


class GenerationBuilder:
    """A read-write connection to a partial generation, with a ledger of finished units."""

    def __init__(self, store: CatalogStore, path: Path, number: int, *, resumed: bool):
        self.store = store
        self.path = path
        self.number = number
        self.name = _gen_name(number)
        self.resumed = resumed
        self.con = duckdb.connect(str(path / DB_NAME))
        configure(self.con, store.archive)
        self.con.execute(schema.TABLES)
        # Sealed: a commit got as far as dropping the unit ledger (and stamping the generation)
        # but no further, e.g. its checkpoint hit a full disk. Every unit is done then.
        row = self.con.execute(
            "SELECT count(*) FROM meta WHERE key = 'generation' AND value = ?", [str(number)]
        ).fetchone()
        self.sealed = bool(row and row[0])
        self.con.execute("CREATE TABLE IF NOT EXISTS _units (unit VARCHAR PRIMARY KEY)")
        self.committed = False

    def unit_done(self, unit: str) -> bool:
        if self.sealed:
            return True
        row = self.con.execute("SELECT count(*) FROM _units WHERE unit = ?", [unit]).fetchone()
        return bool(row and row[0])

    def done_units(self) -> set[str] | _AllUnits:
        if self.sealed:
            return _AllUnits()
        return {r[0] for r in self.con.execute("SELECT unit FROM _units").fetchall()}

    @contextmanager
    def base(self, alias: str = "_base") -> Iterator[str | None]:
        """The generation this one was copied from, attached read-only as ``alias`` (None when
        it started empty). It stays current, so whole and unchanged, while this one is built:
        a re-ingest puts back from it the rows it removed at the start (catalog/replace.py)."""
        name = (self.path / "base").read_text().strip()
        if not name:
            yield None
            return
        self.con.execute(f"ATTACH ? AS {alias} (READ_ONLY)", [str(self.store.dir / name / DB_NAME)])
        try:
            yield alias
        finally:
            with suppress(duckdb.Error):
                self.con.execute(f"DETACH {alias}")

    @contextmanager
    def unit(self, unit: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run one resumable unit in a transaction that also records it as done."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
            self.con.execute("INSERT INTO _units VALUES (?)", [unit])
            self.con.execute("COMMIT")
        except BaseException:
            # DuckDB ends the transaction itself on some errors (a full disk): a failing
            # ROLLBACK must not replace the error that says what went wrong.
            with suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            raise

    def commit(self) -> str:
        """Make this generation current (atomically) and close it."""
        # Tables named with a leading underscore are the builder's staging tables. Dropping
        # them and stamping the generation is one transaction: a partial is sealed or not.
        self.con.execute("BEGIN TRANSACTION")
        for (name,) in self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND NOT temporary AND starts_with(table_name, '_')"
        ).fetchall():
            self.con.execute(f'DROP TABLE "{name}"')
        self.con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('generation', ?), ('schema_version', ?)",
            [str(self.number), str(schema.SCHEMA_VERSION)],
        )
        self.con.execute("COMMIT")
        self.con.execute("CHECKPOINT")
        self.con.close()
        name = self.store._publish(self.path, self.number)
        self.committed = True
        return name

    def close(self) -> None:
        if not self.committed:
            with suppress(duckdb.Error):
                self.con.close()
