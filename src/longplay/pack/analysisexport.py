"""The metadata torrent's analysis files: features and fingerprints, one line per archived file.

``analysis/features.jsonl.zst`` and ``analysis/fingerprints.jsonl.zst`` (plus Parquet copies):
manifest path (``TORRENT/PATH``), audio-payload hash, catalog track ID, then the values. Rows
sorted by path, zstd at a fixed level, keys sorted, no clock: same input, same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from longplay.archive import Archive
from longplay.audio.analysisdb import AnalysisStore
from longplay.errors import writing

ZSTD_LEVEL = 19  # the files are written once per pack and downloaded by every mirror


def _write(root: Path, name: str, rows: list[dict[str, Any]]) -> list[str]:
    (root / "analysis").mkdir(parents=True, exist_ok=True)
    text = b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in rows)
    jsonl, parquet = root / "analysis" / f"{name}.jsonl.zst", root / "analysis" / f"{name}.parquet"
    with writing(jsonl):
        jsonl.write_bytes(
            zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True).compress(text)
        )
    flat = [{**r, "values": orjson.dumps(r.get("values"), option=orjson.OPT_SORT_KEYS).decode()} if "values" in r else r for r in rows]  # fmt: skip
    table = pa.Table.from_pylist(flat) if flat else pa.table({"path": pa.array([], pa.string())})
    with writing(parquet):
        pq.write_table(table, parquet, compression="zstd")
    return [f"analysis/{name}.jsonl.zst", f"analysis/{name}.parquet"]


def write_analysis(archive: Archive, root: Path, files: list[tuple[str, int, str]]) -> list[str]:
    """Write the analysis of ``files`` (manifest path, track ID, built path); the names written.

    Files not analyzed yet are left out (run `longplay analyze` before `pack`).
    """
    store = AnalysisStore(archive, create=False)
    if not store.exists:
        store.close()
        return []
    with store:
        payloads = store.payload_of_paths(str(archive.root / built) for _, _, built in files)
        analyzed = store.features(payloads.values(), fingerprints=True)
    features, prints = [], []
    for path, track, built in sorted(files):
        payload = payloads.get(str(archive.root / built))
        f = analyzed.get(payload or "")
        if f is None:
            continue
        head = {"path": path, "payload_sha256": payload, "track_id": track}
        values = f.values()
        values.pop("payload_sha256", None)
        features.append({**head, "values": values})
        prints.append({**head, "fingerprint": f.fingerprint, "fingerprint_compressed": f.fingerprint_compressed, "duration_s": f.duration_s})  # fmt: skip
    if not features:
        return []
    return _write(root, "features", features) + _write(root, "fingerprints", prints)
