"""The popular tier: the most popular few percent of each kind in a small index of their own.

A word in ~10 % of a 10M-track catalog is a union of five fields' postings, about a million
documents; block-max WAND cannot skip any of them (the best matches tie), so such a query cost
~35 ms CPU p50 and ~120 ms p99 whatever the page size, and its 400 best text matches were
arbitrary ties, not the popular tracks. The tier holds the documents of each kind whose
popularity is at least that kind's threshold, chosen at build time as the smallest popularity
held by at most ``FRACTION`` of that kind (a top fraction, rounded to a popularity so that
"in the tier" is one comparison, the same in every query: ``popularity >= threshold[kind]``).
A fraction rather than a fixed popularity because catalogs differ in how popularity spreads,
while what a query costs depends on how many documents the tier holds: 5 % keeps a common
word's tier postings near 1M-catalog sizes at 10M (prototype: 0.83M documents, CPU p50 1.7 ms).

The tier's documents are the main index's, added in descending popularity (then kind, ord) by
one writer thread, so its document order is popularity order and equal text matches come out
most popular first (Tantivy breaks score ties by document address). How queries use it:
``search.ranking``. Built from stage 1's document files before they are removed; rebuilt whole
when a run was killed during it (a temporary directory renamed into place), so every run writes
the same documents in the same order.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import tantivy

from longplay.search import fields
from longplay.search.texts import initials_sql

FRACTION = 0.05  # of each kind's documents, at most, rounded down to a popularity threshold
DIR = "tier"  # beside index/ in the generation's directory (removed with it by prune)
META = "tier.json"  # inside DIR: thresholds and document counts, written last
HEAP_BYTES = 400_000_000
BATCH = 50_000  # documents fetched from DuckDB at a time


@dataclass
class Tier:
    """An opened tier: its searcher and each kind's popularity threshold."""

    path: Path
    schema: tantivy.Schema
    searcher: tantivy.Searcher
    thresholds: dict[str, int]
    documents: dict[str, int]

    @staticmethod
    def open(index_dir: Path) -> Tier | None:
        """The tier of the index in ``index_dir``, or None for an index built without one."""
        meta = index_dir / DIR / META
        if not meta.is_file():
            return None
        m = json.loads(meta.read_text(encoding="utf-8"))
        index = fields.open_index(str(index_dir / DIR))
        return Tier(
            index_dir / DIR, index.schema, index.searcher(), m["thresholds"], m["documents"]
        )

    def holds(self, kind: int, popularity: int) -> bool:
        """Whether the document of this kind (code) and popularity is in the tier."""
        return popularity >= self.thresholds[fields.KINDS[kind]]


def thresholds(con: duckdb.DuckDBPyConnection, docs: Path) -> dict[str, int]:
    """Each kind's threshold: the smallest popularity (>= 1) held by <= FRACTION of the kind."""
    out = {}
    for kind in fields.KINDS:
        rows = con.execute(
            "SELECT popularity, count(*) FROM read_parquet(?) GROUP BY 1 ORDER BY 1 DESC",
            [str(docs / f"{kind}.parquet")],
        ).fetchall()
        cap, above, best = int(FRACTION * sum(n for _, n in rows)), 0, 101
        for pop, n in rows:  # popularity descending: grow the tier while it fits
            if pop < 1 or above + n > cap:
                break
            above += n
            best = pop
        out[kind] = best
    return out


def write(partial: Path) -> dict[str, int]:
    """Write the tier of the documents in ``partial/docs`` into ``partial/tier``; its counts."""
    final = partial / DIR
    if (final / META).is_file():
        return json.loads((final / META).read_text(encoding="utf-8"))["documents"]
    tmp = partial / (DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    docs = partial / "docs"
    con = duckdb.connect()
    limits = thresholds(con, docs)
    parts = " UNION ALL ".join(
        f"SELECT {i} AS kind, ord, popularity, json FROM read_parquet('{docs / kind}.parquet') "
        f"WHERE popularity >= {limits[kind]}"
        for i, kind in enumerate(fields.KINDS)
    )
    # (strong matches never ask ``starts``; a letter typed alone asks ``initials``)
    index = fields.create_index(str(tmp), starts=False)
    writer = index.writer(heap_size=HEAP_BYTES, num_threads=1)  # one thread: insertion order
    counts = dict.fromkeys(fields.KINDS, 0)
    doc = (
        f"json_merge_patch(json, json_object('{fields.INITIALS}', {initials_sql('json', 'kind')}))"
    )
    res = con.execute(f"SELECT kind, {doc} FROM ({parts}) ORDER BY popularity DESC, kind, ord")
    while batch := res.fetchmany(BATCH):
        for kind, doc in batch:
            writer.add_json(doc)
            counts[fields.KINDS[kind]] += 1
    writer.commit()
    writer.wait_merging_threads()
    con.close()
    meta = {"thresholds": limits, "documents": counts, "fraction": FRACTION}
    (tmp / META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    os.replace(tmp, final)
    return counts
