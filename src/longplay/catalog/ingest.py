"""Ingest: flat track records from any source into a new catalog generation.

Pipeline (see catalog/README.md)::

    source adapter ──units──▶ load (_in) ──▶ normalize (per unit, one transaction) ──▶ identity ──▶ publish
       yields Unit            temp table     validate, write the tables, rejects       set-based     CURRENT

A *unit* is a resumable piece of input (a file, a chunk). Its records are loaded into the temp
table ``_in`` in input order, then ``normalize.Normalizer`` validates them in SQL and writes the
good ones straight into the normalized tables (newest generation wins per stable ID; the first
occurrence within the ingest wins) and the bad ones into ``_rejects``, and the unit is recorded
as done in the same transaction, so ``kill -9`` at any point loses nothing and duplicates
nothing. After the last unit, recording identity is assigned and the generation is published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from longplay import progress
from longplay.archive import Archive
from longplay.catalog import identity, replace
from longplay.catalog.normalize import Normalizer
from longplay.catalog.store import CatalogStore, GenerationBuilder
from longplay.rejects import RejectsLog

# A loader fills the temp table ``_in`` with FLAT_COLUMNS in input order. Optional columns:
# ``_pos`` (VARCHAR, where the record is in its input, e.g. "line 12"; without it the position is
# ``Unit.position_word`` and the record's ordinal, taken from ``_in``'s insertion-ordered rowid) and
# ``_problems`` (VARCHAR[] of per-record problems the reader found, e.g. wrong types).
# Optionally ``_album_only`` (BOOLEAN): the row describes an album that lists no tracks (no
# track_key or title needed). Rows sharing one ``_pos`` are one input record (e.g. a release and
# its tracks): a record is kept or dropped as a whole when its track keys collide with an earlier
# record's, and a bad value shared by its rows is reported once.
Loader = Callable[[duckdb.DuckDBPyConnection], None]
Hook = Callable[[duckdb.DuckDBPyConnection, int], None]  # (connection, generation number)


@dataclass
class Unit:
    name: str  # stable identity of the unit within its job (resume key)
    input: str  # what rejects name: a file path, or path + member
    load: Loader
    size: int = 0  # records or bytes, for the progress bar
    position_word: str = "record"  # "line", "row", ...: positions are "<word> <ordinal>"
    # Whether ordinals really count position_words (e.g. no blank lines that the reader skipped);
    # asked only when the unit has rejects, since it may cost a pass over the input.
    exact_positions: Callable[[], bool] | None = None
    after: Callable[[duckdb.DuckDBPyConnection], None] | None = (
        None  # extra work in the unit's transaction
    )
    number: int = -1  # set by run(): the unit's ``_unit`` number in ``_rejects`` and counts
    prepare: Callable[[], None] | None = None  # CPU work before load, run ahead in a thread


@dataclass
class IngestReport:
    generation: str
    source: str
    read: int = 0
    kept: int = 0
    rejected: int = 0
    values_rejected: int = 0
    units: int = 0
    units_skipped: int = 0
    rejects_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # source-specific lines for the summary

    def summary(self) -> str:
        line = (
            f"{self.source}: read {self.read:,} = kept {self.kept:,} + rejected {self.rejected:,}"
            f"; {self.values_rejected:,} bad values dropped; generation {self.generation}"
        )
        if self.units_skipped:
            line += f" (resumed: {self.units_skipped} of {self.units} units already done)"
        for note in self.notes:
            line += f"\n{note}"
        if self.rejects_path is not None:
            line += f"\nrejects: {self.rejects_path}"
        return line


def run(
    archive: Archive,
    source: str,
    units: Iterable[Unit],
    job: dict[str, Any],
    *,
    on_commit: Callable[[GenerationBuilder], None] | None = None,
    before_merge: Hook | None = None,
    after_merge: Hook | None = None,
    describe: Callable[[duckdb.DuckDBPyConnection, IngestReport], None] | None = None,
    total: int | None = None,
    unit_word: str = "records",
) -> IngestReport:
    """Ingest ``units`` of ``source`` into a new generation; resumable by rerunning the same job.

    ``units`` may be a lazy iterable (a stream read once, e.g. a compressed archive); then give
    ``total`` (the sum of the units' sizes, in ``unit_word``) for the progress bar. The hooks run
    in the finalize transaction, before recording identity, for sources that stage more than flat
    records (a unit's ``after`` hook sees its kept rows in the view ``_rows``); ``describe`` adds source-specific counts to the
    report before the generation is published.
    """
    store = CatalogStore(archive)
    job = {"source": source, **job}
    if total is None:
        units = list(units)
        total = sum(u.size for u in units) or len(units)
        if not any(u.size for u in units):
            unit_word = "items"
    with store.build(job) as gen:
        con = gen.con
        norm = Normalizer(con, source, gen.number)
        report = IngestReport(generation=gen.name, source=source)
        done = gen.done_units()
        # A re-ingest replaces the source's older rows once, not per unit (replace.py).
        replacing = replace.older_rows(con, source, gen.number)
        if replacing and "__set_aside__" not in done:
            with gen.unit("__set_aside__"):
                replace.set_aside(con, source, gen.number)
        with (
            progress.progress(f"ingest {source}", total, unit_word) as bar,
            ThreadPoolExecutor(1, thread_name_prefix="prepare") as ahead,
        ):
            # Units with a ``prepare`` step (pure Python/Arrow work) get it run one unit ahead in
            # a thread, overlapping the DuckDB work of the current unit (DuckDB releases the GIL).
            pending: tuple[Unit, Future[None] | None] | None = None
            for unit_no, unit in enumerate(_with_end(units)):
                if unit is not None:
                    report.units += 1
                    unit.number = unit_no
                    if unit.name in done:
                        report.units_skipped += 1
                        bar.advance(unit.size or 1)
                        continue
                    fut = ahead.submit(unit.prepare) if unit.prepare is not None else None
                    if pending is None:
                        pending = (unit, fut)
                        continue
                    pending, (unit, fut) = (unit, fut), pending
                elif pending is not None:
                    (unit, fut), pending = pending, None
                else:
                    break
                if fut is not None:
                    fut.result()
                # The loader runs outside the unit's transaction: a reader that fails (and falls
                # back to a slower, line-by-line path) must not abort the transaction.
                # Record ordinals are ``_in``'s rowids: the load must keep input order. What is
                # written from ``_in`` need not (tables are sets; releases sort their rows), and
                # DuckDB writes faster without it.
                con.execute("SET preserve_insertion_order = true")
                unit.load(con)
                con.execute("SET preserve_insertion_order = false")
                with gen.unit(unit.name):
                    result = norm.apply(
                        unit.number, unit.name, unit.input, unit.position_word, unit.exact_positions
                    )
                    if unit.after is not None:
                        unit.after(con)
                norm.cleanup()
                con.execute("DROP TABLE IF EXISTS _in")  # loaders make ``_in`` a temp table
                read, rejected = result.read, result.rejected
                progress.note(
                    f"ingest {source}: unit {unit.name} done ({read} read, {rejected} rejected)"
                )
                bar.advance(unit.size or 1)
        if "__finalize__" not in gen.done_units():
            with gen.unit("__finalize__"):
                if replacing:
                    with gen.base() as base:
                        assert base is not None  # older rows came with the copy of a base
                        replace.finish(con, source, gen.number, base)
                if before_merge is not None:
                    before_merge(con, gen.number)
                if after_merge is not None:
                    after_merge(con, gen.number)
                with progress.progress(
                    "recording identity", None
                ):  # set-based rounds: no count to show
                    identity.assign(con, own_labelled=gen.number)
        if "__log__" not in gen.done_units():
            _write_rejects(con, archive, source, gen.name)
            with gen.unit("__log__"):
                # Idempotent: a commit that failed after GenerationBuilder.commit dropped the
                # unit ledger (a full disk at its checkpoint) makes the rerun log again.
                con.execute("DELETE FROM ingest_log WHERE generation = ?", [gen.number])
                con.execute(
                    """INSERT INTO ingest_log SELECT ?, ?, unit, records_read,
                               records_read - records_rejected, records_rejected, values_rejected, ?
                               FROM _unit_counts ORDER BY _unit""",
                    [gen.number, source, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
                )
                for t in ("_rejects", "_unit_counts"):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
        counts = con.execute(
            """SELECT coalesce(sum(records_read), 0), coalesce(sum(records_rejected), 0),
                                       coalesce(sum(values_rejected), 0)
                                FROM ingest_log WHERE generation = ?""",
            [gen.number],
        ).fetchone()
        report.read, report.rejected, report.values_rejected = (int(x) for x in counts)  # type: ignore[union-attr]
        report.kept = report.read - report.rejected
        path = rejects_path(archive, source, gen.name)
        report.rejects_path = path if path.exists() else None
        if describe is not None:
            describe(con, report)
        if on_commit is not None:
            on_commit(gen)
        gen.commit()
    return report


def _with_end(units: Iterable[Unit]) -> Iterator[Unit | None]:
    """The units, then None: the loop in run() finishes the last prepared unit on None."""
    yield from units
    yield None


def rejects_path(archive: Archive, source: str, gen: str) -> Path:
    """The rejects log of one ingest: named by generation, so a resumed run rewrites the same file."""
    return archive.rejects_dir / f"{gen}-ingest-{source}.jsonl"


def _write_rejects(con: duckdb.DuckDBPyConnection, archive: Archive, source: str, gen: str) -> None:
    path = rejects_path(archive, source, gen)
    path.unlink(missing_ok=True)
    if not con.execute("SELECT count(*) FROM _rejects").fetchone()[0]:  # type: ignore[index]
        return
    with RejectsLog(path) as log:
        rows = con.execute("""SELECT input, position, reason, kind, field, value FROM _rejects
                              ORDER BY _unit, _ord, field NULLS FIRST""").fetchall()
        for inp, pos, reason, kind, fld, value in rows:
            extra = {k: v for k, v in (("field", fld), ("value", value)) if v is not None}
            log.add(source=source, input=inp, position=pos, reason=reason, kind=kind, **extra)
