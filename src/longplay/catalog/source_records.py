"""`longplay export source-records`: a source's records rebuilt from the catalog, as JSON lines.

Each source's records come back through its rebuild hook (``sources.rebuild_hook``): a source
that keeps only a residual rebuilds it from the normalized rows; a source that stores whole
records gets them back as stored. The output equals the ingested records as JSON values (key
order may differ).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from longplay import progress
from longplay.catalog.sources import rebuild_hook
from longplay.catalog.store import CatalogStore
from longplay.errors import LongplayError


def export_source_records(
    store: CatalogStore, source: str, out: Path, kind: str | None = None
) -> int:
    """Write every record of ``source`` (optionally one ``kind``) to ``out``; returns the count."""
    out = Path(out)
    with store.read() as con:
        total = con.execute(
            """SELECT count(*) FROM source_records
                               WHERE source = ? AND (? IS NULL OR kind = ?)""",
            [source, kind, kind],
        ).fetchall()[0][0]
        if not total:
            known = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT source FROM source_records ORDER BY 1"
                ).fetchall()
            ]
            raise LongplayError(
                f"the catalog {store.current_name()} has no source records of {source!r}"
                + (f" of kind {kind!r}" if kind else "")
                + f" (sources with records: {', '.join(known) or 'none'})"
            )
        docs = rebuild_hook(source)(con, kind)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        n = 0
        with (
            open(tmp, "wb") as fh,
            progress.progress(f"export {source} records", total, "records") as bar,
        ):
            for doc in docs:
                fh.write(orjson.dumps(doc) + b"\n")
                n += 1
                if n % 1000 == 0:
                    bar.advance(1000)
            bar.advance(n % 1000)
        os.replace(tmp, out)
    return n
