"""The floors under the index build: how fast one process can hand documents to Tantivy.

Measured on the build's own stage-1 documents (JSON text from DuckDB), each variant into a fresh
index: reading the Parquet row groups into Python, parsing the JSON in Python, ``add_json`` (the
build's path), ``Document.from_dict`` + ``add_document``, ``add_document`` of documents built
beforehand (Tantivy's own indexing cost, nothing of Python's in the timed loop), the writer's
heap and threads, and the schema (stored text, positions, number of analyzed fields).
"""

from __future__ import annotations

import json
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


def _combined(doc: str) -> str:
    """The document with its free text in one field (``text``), its other values unchanged."""
    d = json.loads(doc)
    parts = [d.pop(k) for k in (*fields.TEXT_FIELDS, "cjk") if k in d]
    d["text"] = " ".join(parts)
    return json.dumps(d)


def floors(docs_file: Path, n: int, scratch: Path) -> None:
    """Print docs/s of each way of feeding ``n`` track documents, as each is measured."""
    pf = pq.ParquetFile(docs_file)
    t = time.perf_counter()
    docs: list[str] = []
    for g in range(pf.metadata.num_row_groups):
        docs += pf.read_row_group(g, columns=["json"]).column(0).to_pylist()
        if len(docs) >= n:
            break
    n = min(n, len(docs))
    docs = docs[:n]

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
