"""`longplay index`: build the search index of a catalog generation, in parallel and resumably.

    catalog ──DuckDB──▶ docs/{track,album,artist}.parquet ──shard k──▶ shard-k/ (Tantivy)
            ──DuckDB──▶ shuffle columns (.npy)              │   └──combine──▶ gen-NNNNNN/
                                                            └─most popular──▶ tier/ (Tantivy)

Stage 1 writes every document as a JSON string in SQL (DuckDB, all cores; each file written to a
temporary name and renamed, so it exists whole or not at all). Stage 2 feeds the row groups to
``workers`` processes, each with its own Tantivy writer and directory: feeding documents from one
Python thread measured 42k docs/s here, so parallel feeders are what reaches the goal. Each shard
commits at row-group boundaries and learns on restart how far it got from its own committed
document count, so a ``kill -9`` at any moment loses at most the uncommitted row groups. Then the
popular tier (``search.tier``: each kind's top ~5 % by popularity, searched first) is written
from the same document files, whole or again after a kill. Stage 3
moves the shards' segment files into one directory under one ``meta.json`` (segments are
self-contained; a Tantivy index is the list of them), lets Tantivy merge a level, writes the
lexicon of the text terms (typo and prefix expansion, ``search.lexicon``) and renames the
partial directory into place, so readers only ever see a finished index.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import queue
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from longplay import progress
from longplay.archive import Archive
from longplay.catalog import views
from longplay.catalog.store import CatalogStore
from longplay.search import fields, layout, lexicon, tier
from longplay.search.features import NoFeatures, TrackFeatures, bpm_value, key_code
from longplay.search.holdings import Holdings, NoHoldings
from longplay.search.texts import (
    OTHER_ALBUM_ARTISTS,
    full_title_sql,
    pair_sql,
    pairs_sql,
    spaced_sql,
    starts_sql,
)

HEAP_BYTES = 400_000_000  # the final merge's writer
ROW_GROUP = 50_000
SHUFFLE_BATCH = 1_000_000  # rows of the shuffle columns written at a time
# A shard's segments: one per commit while the writer's heap holds it (~800 bytes a document
# here). 400 MB heaps flushed every 512k documents, Tantivy's log merge policy merged 8 of them
# into 4M and, from 30M tracks on, 8 of those into 32M in the final merge (361 s at 30M): two
# merge levels. 2M-document segments need one (8 make 16M, past the 10M documents above which
# the policy merges no more), so the build's cost a document stops growing with the catalog.
COMMIT_ROWS = 2_000_000
SHARD_HEAP_MAX = 1_900_000_000  # holds COMMIT_ROWS documents
SHARD_HEAP_MIN = 200_000_000


def shard_heap(workers: int) -> int:
    """Each shard writer's heap: room for ``COMMIT_ROWS`` documents, all shards together within
    a third of the machine's memory (smaller heaps flush smaller segments, merged more)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(SHARD_HEAP_MIN, min(SHARD_HEAP_MAX, total // 3 // max(1, workers)))


@dataclass
class IndexReport:
    generation: str
    path: Path
    documents: dict[str, int]
    seconds: float
    built: bool  # False when the index already existed
    # Wall seconds of each phase run (documents, shards, tier, combine, merge, lexicon): where
    # a build's time goes, and which phase grows fastest with the catalog (bench/scale.py)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def tier_seconds(self) -> float:
        """Of ``seconds``, writing the popular tier (search.tier)."""
        return self.phases.get("tier", 0.0)

    def summary(self) -> str:
        if not self.built:
            return f"search index of {self.generation} is up to date ({self.path})"
        n = sum(self.documents.values())
        parts = ", ".join(f"{v:,} {k}s" for k, v in self.documents.items())
        return f"indexed {self.generation}: {parts} in {self.seconds:.1f} s ({n / max(self.seconds, 1e-9):,.0f} docs/s)"


def _doc_sql(kind: str) -> str:
    """SELECT ord, json for one kind; JSON nulls dropped (Tantivy rejects them)."""
    if kind == "track":
        text = "concat_ws(' ', title, array_to_string(artists, ' '), album, array_to_string(album_artists, ' '))"
        body = f"""{{kind: 0, id: track_id, ord: ord, title: title,
            artists: array_to_string(artists, ', '), album: album,
            album_artists: array_to_string(album_artists, ', '),
            genres: array_to_string(genres, ', '), cjk: {spaced_sql(text)}, isrc: isrcs, upc: upc,
            pairs: {pairs_sql("title", "array_to_string(artists, ' ')")}, full_title: {full_title_sql("title")},
            starts: {starts_sql("title", "array_to_string(artists, ' ')", "album", OTHER_ALBUM_ARTISTS, "array_to_string(genres, ' ')")},
            mbid: mbid, popularity: popularity, year: year,
            duration: duration_ms, held: held, bpm: nullif(_bpm, 0), key: nullif(_key, 0)}}"""
        src = f"SELECT r.*, f.bpm AS _bpm, f.key AS _key FROM ({views.TRACK_ROWS}) r {_RHYTHM}"
        key, table, held = "track_id", "tracks", "track_id IN (SELECT id FROM _held)"
    elif kind == "album":
        text = "concat_ws(' ', title, array_to_string(album_artists, ' '))"
        body = f"""{{kind: 1, id: album_id, ord: ord, title: title,
            artists: array_to_string(album_artists, ', '),
            album_artists: array_to_string(album_artists, ', '),
            genres: array_to_string(genres, ', '), cjk: {spaced_sql(text)}, upc: upc, mbid: mbid,
            pairs: {pairs_sql("title", "array_to_string(album_artists, ' ')")}, full_title: {full_title_sql("title")},
            starts: {starts_sql("title", "array_to_string(album_artists, ' ')", "array_to_string(genres, ' ')")},
            popularity: popularity, year: year, duration: duration_ms, held: held}}"""
        src, key, table = views.ALBUM_ROWS, "album_id", "albums"
        held = "album_id IN (SELECT album_id FROM tracks WHERE track_id IN (SELECT id FROM _held))"
    else:
        body = f"""{{kind: 2, id: artist_id, ord: ord, title: name, artists: name,
            cjk: {spaced_sql("name")}, pairs: {pair_sql("name")}, full_title: {full_title_sql("name")}, starts: {starts_sql("name")}, mbid: mbid,
            popularity: popularity, held: held}}"""
        src, key, table = views.ARTIST_ROWS, "artist_id", "artists"
        held = "artist_id IN (SELECT artist_id FROM track_artists WHERE track_id IN (SELECT id FROM _held))"
    # ``ord`` is the rank of the key, numbered over the key column alone and joined back: a
    # window or an ORDER BY over the documents themselves sorted every JSON string (at 30M
    # tracks 12 GB, spilling past the memory limit: 64 s at 10M, 273 s at 30M). The file is
    # in no particular order; nothing reads it by position.
    return f"""
        WITH o AS (SELECT {key}, (row_number() OVER (ORDER BY {key}) - 1)::UBIGINT AS ord
                   FROM {table})
        SELECT ord, coalesce(popularity, 0)::UTINYINT AS popularity, regexp_replace(to_json({body})::VARCHAR, ',"[a-z_]+":null', '', 'g') AS json
        FROM (SELECT s.*, o.ord, ({held})::UTINYINT AS held FROM ({src}) s JOIN o USING ({key}))"""


_RHYTHM = "LEFT JOIN _rhythm f ON f.track_id = r.track_id"
GENRE_CODES = "SELECT genre_id, name, row_number() OVER (ORDER BY genre_id) AS code FROM genres"
SHUFFLE_SQL = f"""
    SELECT r.track_id, (hash(r.artist_id) % 4294967296)::UINTEGER AS artist,
           coalesce(g.code, 0)::USMALLINT AS genre, r.popularity::UTINYINT AS popularity,
           coalesce(r.year, 0)::USMALLINT AS year,
           (r.track_id IN (SELECT id FROM _held))::UTINYINT AS held,
           coalesce(f.bpm, 0)::USMALLINT AS bpm, coalesce(f.key, 0)::UTINYINT AS key
    FROM ({views.TRACK_ROWS}) r LEFT JOIN ({GENRE_CODES}) g USING (genre_id) {_RHYTHM}
    ORDER BY r.track_id"""


def _rhythm_table(features: TrackFeatures) -> pa.Table:
    """track_id, bpm (whole), key (code) of the analyzed tracks, for DuckDB to join."""
    rows = [
        (int(t), bpm_value(b), key_code(k, m))
        for t, b, k, m in features.rhythm()
        if bpm_value(b) or key_code(k, m)
    ]
    return pa.table(
        {
            "track_id": pa.array([r[0] for r in rows], pa.int64()),
            "bpm": pa.array([r[1] for r in rows], pa.uint16()),
            "key": pa.array([r[2] for r in rows], pa.uint8()),
        }
    )


def _stage_docs(
    archive: Archive, partial: Path, holdings: Holdings, features: TrackFeatures
) -> None:
    docs = partial / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    todo = [k for k in fields.KINDS if not (docs / f"{k}.parquet").exists()]
    if not todo and (partial / "shuffle" / "done").exists():
        return
    with CatalogStore(archive).read() as con:
        held = pa.table({"id": pa.array(sorted(holdings.held_ids()), pa.int64())})
        con.register("_held", held)
        con.register("_rhythm", _rhythm_table(features))
        for kind in todo:
            tmp = docs / f"{kind}.parquet.tmp"
            con.execute(
                f"COPY ({_doc_sql(kind)}) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})"
            )
            os.replace(tmp, docs / f"{kind}.parquet")
        if not (partial / "shuffle" / "done").exists():
            _stage_shuffle(con, partial / "shuffle")


def _stage_shuffle(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Per-track columns in ``ord`` order, memory-mapped by the shuffle (18 bytes a track).

    Written a batch at a time into the files' own maps: the whole table in memory was 18
    bytes a track and its NumPy copies as much again (~9 GB at 256M tracks, beside DuckDB's)."""
    out.mkdir(parents=True, exist_ok=True)
    n = con.execute("SELECT count(*) FROM tracks").fetchall()[0][0]
    reader = con.sql(SHUFFLE_SQL).to_arrow_reader(SHUFFLE_BATCH)
    cols: dict[str, np.memmap] = {}
    for f in reader.schema:
        path, dtype = out / f"{f.name}.npy", np.dtype(f.type.to_pandas_dtype())
        if n:
            cols[f.name] = np.lib.format.open_memmap(path, "w+", dtype, (n,))
        else:  # (an empty file cannot be mapped)
            np.save(path, np.zeros(0, dtype))
    at = 0
    for batch in reader:
        for name, col in zip(batch.schema.names, batch.columns, strict=True):
            cols[name][at : at + len(batch)] = col.to_numpy(zero_copy_only=False)
        at += len(batch)
    if at != n:
        raise RuntimeError(f"the shuffle columns hold {at:,} tracks of {n:,}")
    for arr in cols.values():
        arr.flush()
    cols.clear()
    (out / "genres.json").write_text(
        json.dumps(dict(con.execute(f"SELECT name, code FROM ({GENRE_CODES})").fetchall())),
        encoding="utf-8",
    )
    (out / "done").write_text("")


def _units(docs: Path) -> list[tuple[str, int, int]]:
    """(file, row group, rows) of every document file, in kind order."""
    out: list[tuple[str, int, int]] = []
    for kind in fields.KINDS:
        path = docs / f"{kind}.parquet"
        meta = pq.ParquetFile(path).metadata
        out.extend((str(path), i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups))
    return out


def _shard(
    directory: str,
    units: list[tuple[str, int, int]],
    heap: int,
    commit_rows: int,
    report: mp.Queue | None,
) -> None:
    """Feed ``units`` into the Tantivy index in ``directory``, resuming after its last commit."""
    parent = os.getppid()
    Path(directory).mkdir(parents=True, exist_ok=True)
    exists = (Path(directory) / "meta.json").exists()
    index = fields.open_index(directory) if exists else fields.create_index(directory)
    done = index.searcher().num_docs
    writer = index.writer(heap_size=heap, num_threads=1)
    skip, pending = done, 0
    files: dict[str, pq.ParquetFile] = {}
    if report is not None:
        report.put(done)
    for path, group, rows in units:
        if skip >= rows:
            skip -= rows
            continue
        if skip:  # a commit always ends at a row-group boundary
            raise RuntimeError(f"{directory}: committed count {done} splits a row group")
        pf = files.get(path) or files.setdefault(path, pq.ParquetFile(path))
        for doc in pf.read_row_group(group, columns=["json"]).column(0).to_pylist():
            writer.add_json(doc)
        pending += rows
        if pending >= commit_rows:
            writer.commit()
            pending = 0
            if report is not None and os.getppid() != parent:
                return  # the parent died (kill -9): stop, a rerun resumes from the commit
        if report is not None:
            report.put(rows)
    writer.commit()
    writer.wait_merging_threads()


def build_index(
    archive: Archive,
    *,
    holdings: Holdings | None = None,
    features: TrackFeatures | None = None,
    workers: int | None = None,
    commit_rows: int = COMMIT_ROWS,
) -> IndexReport:
    """Build the current generation's index (a no-op when it exists); resumable after a kill."""
    store = CatalogStore(archive)
    gen = store.current_name()
    if gen is None:
        from longplay.errors import LongplayError

        raise LongplayError(f"the archive {archive.root} has no catalog yet; nothing to index")
    final = layout.index_dir(archive, gen)
    if layout.is_complete(final):
        return IndexReport(gen, final, layout.read_counts(final), 0.0, built=False)
    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    phase = _Phases(phases)
    partial = final.with_name(final.name + layout.PARTIAL)
    with phase("documents"):
        _stage_docs(archive, partial, holdings or NoHoldings(), features or NoFeatures())
    units = _units(partial / "docs")
    workers = max(1, workers or archive.settings.workers or os.cpu_count() or 1)
    total = sum(u[2] for u in units)
    shards = [units[k::workers] for k in range(workers)]
    # A marker per stage: the shards may be gone (moved into index/) once it is written.
    if not (partial / "shards-done").exists():
        with phase("shards"), progress.progress(f"index {gen}", total, "docs") as bar:
            if workers == 1:
                _shard(str(partial / "shard-0"), shards[0], shard_heap(1), commit_rows, None)
                bar.advance(total)
            else:
                _run_shards(partial, shards, commit_rows, bar)
        (partial / "shards-done").write_text(str(workers))
    if not (partial / tier.DIR / tier.META).exists():  # before _combine removes docs/
        with phase("tier"):
            tier.write(partial)
    with phase("combine"):
        counts = _combine(partial, int((partial / "shards-done").read_text()))
    if not (partial / "merged").exists():
        with phase("merge"):
            _merge(partial / "index")
        (partial / "merged").write_text("")
    if not (partial / lexicon.FILE).exists():
        with phase("lexicon"):
            lexicon.write(partial, fields.open_index(str(partial / "index")).searcher())
    os.replace(partial, final)
    return IndexReport(gen, final, counts, time.perf_counter() - t0, True, phases)


@dataclass
class _Phases:
    """``with phase(name):`` adds the block's wall time to ``seconds[name]``."""

    seconds: dict[str, float]

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t


def _run_shards(partial: Path, shards: list, commit_rows: int, bar: progress.Tracker) -> None:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    heap = shard_heap(len(shards))
    procs = [
        ctx.Process(
            target=_shard,
            args=(str(partial / f"shard-{k}"), units, heap, commit_rows, q),
        )
        for k, units in enumerate(shards)
    ]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs) or not q.empty():
        with contextlib.suppress(queue.Empty):
            bar.advance(q.get(timeout=0.2))
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"an index shard failed (exit code {p.exitcode}); rerun to resume")


def _merge(index_dir: Path) -> None:
    """Merge the shards' segments (two per million documents) into a few big ones.

    Every query walks each segment's term dictionary and postings: at 10M tracks, 22 segments
    against 3 measured common-word p99 1,379 → 111 ms, typo 296 → 198, ISRC 126 → 6.5 (wall,
    idle machine). tantivy-py has no merge call; a commit runs the log merge policy over the
    combined segments. A merge writes new files and switches ``meta.json`` atomically, so a
    ``kill -9`` leaves either index whole, and a rerun merges again."""
    index = fields.open_index(str(index_dir))
    writer = index.writer(heap_size=HEAP_BYTES, num_threads=1)
    writer.commit()
    writer.wait_merging_threads()
    _drop_dead_segments(index_dir)


def _drop_dead_segments(index_dir: Path) -> None:
    """Remove the files of segments ``meta.json`` no longer lists (merged away).

    Tantivy's garbage collection only removes files it lists as its own (``.managed.json``);
    the shards' files were moved in by ``_combine``, so after the merge they stayed: at 10M
    tracks 2.6 of the index's 5.0 GB."""
    meta = json.loads((index_dir / "meta.json").read_text(encoding="utf-8"))
    live = {s["segment_id"].replace("-", "") for s in meta["segments"]}
    for f in index_dir.iterdir():
        seg = f.name.split(".", 1)[0]
        if len(seg) == 32 and seg not in live and all(c in "0123456789abcdef" for c in seg):
            f.unlink()


def _combine(partial: Path, workers: int) -> dict[str, int]:
    """One index from the shards: their segment files in one directory, one meta.json."""
    out = partial / "index"
    out.mkdir(exist_ok=True)
    meta: dict | None = None
    segments = []
    for k in range(workers):
        shard = partial / f"shard-{k}"
        if not (shard / "meta.json").exists():
            continue
        m = json.loads((shard / "meta.json").read_text(encoding="utf-8"))
        meta = meta or m
        segments.extend(m["segments"])
        live = {s["segment_id"].replace("-", "") for s in m["segments"]}
        for f in shard.iterdir():
            if f.name.split(".", 1)[0] in live:
                os.replace(f, out / f.name)
    if meta is not None:
        meta["segments"] = segments
        tmp = out / "meta.json.tmp"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, out / "meta.json")
    elif not (out / "meta.json").exists():  # (else: combined by a run killed after it)
        fields.create_index(str(out))
    for k in range(workers):
        shutil.rmtree(partial / f"shard-{k}", ignore_errors=True)
    shutil.rmtree(partial / "docs", ignore_errors=True)
    searcher = fields.open_index(str(out)).searcher()
    from tantivy import Query

    schema = fields.schema()
    counts = {
        kind: searcher.search(Query.term_query(schema, "kind", i), 1, count=True).count  # type: ignore[attr-defined]
        for i, kind in enumerate(fields.KINDS)
    }
    layout.write_counts(partial, counts)
    return counts
