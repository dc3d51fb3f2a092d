"""The floors under the index build: how fast one process can hand documents to Tantivy.

Measured on the build's own stage-1 documents (JSON text from DuckDB), each variant into a fresh
index: reading the Parquet row groups into Python, parsing the JSON in Python, ``add_json`` (the
build's path), ``Document.from_dict`` + ``add_document``, ``add_document`` of documents built
beforehand (Tantivy's own indexing cost, nothing of Python's in the timed loop), the writer's
heap and threads, and the schema (stored text, positions, number of analyzed fields).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import tantivy

from longplay.search import fields


def _slim(*, texts: tuple[str, ...], positions: str = "position", stored: bool = False):
    """A schema like the build's, with only ``texts`` analyzed and ``stored`` text or none."""
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("kind", indexed=True, fast=True)
    sb.add_integer_field("id", indexed=True, fast=True, stored=True)
    sb.add_unsigned_field("ord", indexed=True, fast=True)
    for name in texts:
        sb.add_text_field(
            name, stored=stored, tokenizer_name=fields.ANALYZER, index_option=positions
        )
    for name in fields.EXACT_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("album_id")
    for name in ("popularity", "year", "duration", "held"):
        sb.add_unsigned_field(name, indexed=True, fast=True)
    return sb.build()


def _only(texts: tuple[str, ...], *, exact: bool = False):
    """Only ``texts`` (analyzed, not stored) and the exact fields, or only the numbers when no
    text is named: a breakdown of the build schema's cost by kind of field."""
    if not texts:
        sb = tantivy.SchemaBuilder()
        sb.add_unsigned_field("kind", indexed=True, fast=True)
        sb.add_integer_field("id", indexed=True, stored=True)
        sb.add_unsigned_field("ord", indexed=True, fast=True)
        for name in fields.NUMBERS:
            sb.add_unsigned_field(name, indexed=True, fast=True, stored=True)
        return sb.build()
    sb = tantivy.SchemaBuilder()
    for name in texts:
        sb.add_text_field(name, tokenizer_name=fields.ANALYZER)
    for name in fields.EXACT_FIELDS if exact else ():
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    return sb.build()


def _required():
    """Only what issue 20 names: the five text fields folded, with positions (phrases), and
    CJK; the exact fields; the ID; the kind; popularity, year, duration and held as fast fields.
    Nothing stored (a hit could be read back from the catalog by its ID), no pairs, no starts."""
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("kind", indexed=True, fast=True)
    sb.add_integer_field("id", indexed=True)
    for name in (*fields.TEXT_FIELDS, "cjk"):
        sb.add_text_field(name, tokenizer_name=fields.ANALYZER)
    for name in fields.EXACT_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    for name in ("popularity", "year", "duration", "held"):
        sb.add_unsigned_field(name, fast=True)
    return sb.build()


ENGINE_SCHEMAS = {"required fields": _required, "build schema": fields.schema}


def _engine_part(which: str, docs: list[str], path: str, ready: Any, out: Any) -> None:
    """One core's share of ``engine_floor``: Documents made before the clock starts."""
    schema = ENGINE_SCHEMAS[which]()
    items = []
    for d in docs:
        doc = json.loads(d)
        if which != "build schema":
            doc = {k: v for k, v in doc.items() if k in _REQUIRED_KEYS}
        items.append(tantivy.Document.from_dict(doc, schema))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    writer = fields.register(tantivy.Index(schema, path=path)).writer(
        heap_size=1_000_000_000, num_threads=1
    )
    ready.wait()
    t, c = time.perf_counter(), time.process_time()
    for item in items:
        writer.add_document(item)
    writer.commit()
    writer.wait_merging_threads()
    out.put((time.perf_counter() - t, time.process_time() - c))
    shutil.rmtree(path, ignore_errors=True)


_REQUIRED_KEYS = {
    "kind", "id", "cjk", "popularity", "year", "duration", "held",
    *fields.TEXT_FIELDS, *fields.EXACT_FIELDS,
}  # fmt: skip


def engine_floor(docs: list[str], scratch: Path, which: str, cores: int) -> float:
    """Docs/s of Tantivy alone on ``cores`` processes at once, each indexing its share of
    ``docs`` as Documents built beforehand: no reading, no JSON, no Python in the timed loop.
    No build of these documents can be faster on this machine with this engine."""
    ctx = mp.get_context("spawn")
    ready, out = ctx.Barrier(cores), ctx.Queue()
    procs = [
        ctx.Process(
            target=_engine_part,
            args=(which, docs[k::cores], str(scratch / f"engine-floor-{k}"), ready, out),
        )
        for k in range(cores)
    ]
    for p in procs:
        p.start()
    times = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = max(t[0] for t in times)
    cpu = sum(t[1] for t in times)
    print(
        f"  floor  {'Tantivy alone, ' + which + f', {cores} processes at once':<58} "
        f"{len(docs) / wall:>10,.0f} docs/s  cpu {cpu / len(docs) * 1e6:6.1f} us/doc",
        flush=True,
    )
    return len(docs) / wall


def _combined(doc: str) -> str:
    """The document with its free text in one field (``text``), its other values unchanged."""
    d = json.loads(doc)
    parts = [d.pop(k) for k in (*fields.TEXT_FIELDS, "cjk") if k in d]
    d["text"] = " ".join(parts)
    return json.dumps(d)


ENGINE_DOCS = 200_000  # documents of each engine floor (a tenth of a second of commit is noise)


def _read(docs_file: Path, n: int) -> list[str]:
    pf = pq.ParquetFile(docs_file)
    docs: list[str] = []
    for g in range(pf.metadata.num_row_groups):
        docs += pf.read_row_group(g, columns=["json"]).column(0).to_pylist()
        if len(docs) >= n:
            break
    return docs[:n]


def floors(docs_file: Path, n: int, scratch: Path) -> dict[str, float]:
    """Print docs/s of each way of feeding ``n`` track documents, as each is measured; return
    the engine floors (``engine_floor`` on every core, by schema)."""
    t = time.perf_counter()
    docs = _read(docs_file, n)
    n = len(docs)

    def show(label: str, seconds: float, cpu: float | None = None) -> None:
        own = f"  cpu {cpu / n * 1e6:6.1f} us/doc" if cpu is not None else ""
        print(f"  floor  {label:<58} {n / seconds:>10,.0f} docs/s{own}", flush=True)

    show("Parquet row groups -> Python str", time.perf_counter() - t)
    t, c = time.perf_counter(), time.process_time()
    dicts = [json.loads(d) for d in docs]
    # The machine's yardstick: CPython's C JSON parser takes ~3 us for such a document on an
    # idle desktop core; the ratio says how slow a core of this shared machine is right now.
    show("json.loads in Python (no Tantivy)", time.perf_counter() - t, time.process_time() - c)
    combined = [_combined(d) for d in docs]

    def index(
        label: str,
        schema: Any,
        feed: Callable[[Any, Any], None],
        heap: int = 400_000_000,
        threads: int = 1,
        prebuilt: bool = False,
    ) -> None:
        path = scratch / "floor-index"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        idx = tantivy.Index(schema, path=str(path))
        fields.register(idx)
        items = [tantivy.Document.from_dict(d, schema) for d in dicts] if prebuilt else None
        writer = idx.writer(heap_size=heap, num_threads=threads)
        t, c = time.perf_counter(), time.process_time()
        feed(writer, items)
        writer.commit()
        writer.wait_merging_threads()
        show(label, time.perf_counter() - t, time.process_time() - c)
        shutil.rmtree(path, ignore_errors=True)

    def add_json(w: Any, _: Any) -> None:
        for d in docs:
            w.add_json(d)

    def from_dict(w: Any, _: Any) -> None:
        for d in dicts:
            w.add_document(tantivy.Document.from_dict(d, schema))

    def prebuilt(w: Any, items: Any) -> None:
        for d in items:
            w.add_document(d)

    def add_combined(w: Any, _: Any) -> None:
        for d in combined:
            w.add_json(d)

    def subset(keys: set[str]) -> Callable[[Any, Any], None]:
        part = [json.dumps({k: v for k, v in d.items() if k in keys}) for d in dicts]

        def feed(w: Any, _: Any) -> None:
            for d in part:
                w.add_json(d)

        return feed

    # Where Tantivy's time goes, by the fields a document has (same documents, cut down).
    nums = {"kind", "id", "ord", *fields.NUMBERS}
    text_keys = {*fields.TEXT_FIELDS, "cjk", *fields.EXACT_FIELDS}
    index("add_json, title only", _only(("title",)), subset({"title"}))
    index("add_json, numeric fields only", _only(()), subset(nums))
    index(
        "add_json, text and exact fields only",
        _only((*fields.TEXT_FIELDS, "cjk"), exact=True),
        subset(text_keys),
    )
    schema = fields.schema()
    index("add_json, build schema (heap 400M, 1 thread)", schema, add_json)
    index("add_json, build schema, heap 1G, 2 threads", schema, add_json, 10**9, 2)
    index("Document.from_dict + add_document", schema, from_dict)
    index("add_document of prebuilt Documents (Tantivy alone)", schema, prebuilt, prebuilt=True)
    texts = (*fields.TEXT_FIELDS, "cjk")
    index("add_json, text not stored", _slim(texts=texts), add_json)
    index("add_json, text not stored, no positions", _slim(texts=texts, positions="freq"), add_json)
    index("add_json, one combined text field, not stored", _slim(texts=("text",)), add_combined)
    one = _slim(texts=("text",))
    index("add_json, one combined text field, 2 threads", one, add_combined, 10**9, 2)
    cores = os.cpu_count() or 1
    many = _read(docs_file, ENGINE_DOCS)
    return {which: engine_floor(many, scratch, which, cores) for which in ENGINE_SCHEMAS}
