"""torrents.json and per-torrent manifests: their exact shape, read and validated.

The packer writes them; mirrors read them from strangers, so every value is checked for type,
range and path safety, and duplicates are refused. Shapes (see design.md, archive layout)::

    torrents.json  {"archive", "generated_at", "torrents": [TorrentEntry, ...]}
    NAME.manifest.jsonl / .parquet   one ManifestRow per audio file of torrent NAME
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import orjson

from longplay import safepaths
from longplay.errors import InputError

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_LISTING_BYTES = 512 * 2**20  # a listing of a million torrents is ~500 MB; refuse more


@dataclass(frozen=True)
class TorrentEntry:
    name: str
    file: str
    info_hash_v1: str
    info_hash_v2: str | None
    magnet: str
    data_size: int
    file_count: int
    tier: int
    popularity_min: int
    popularity_max: int
    listens_covered: int
    listens_share: float
    created: str
    is_metadata: bool
    manifest: str | None


@dataclass(frozen=True)
class Listing:
    archive: str
    generated_at: str
    torrents: tuple[TorrentEntry, ...]

    def by_name(self) -> dict[str, TorrentEntry]:
        return {t.name: t for t in self.torrents}

    def to_json(self) -> bytes:
        doc = {
            "archive": self.archive,
            "generated_at": self.generated_at,
            "torrents": [asdict(t) for t in self.torrents],
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


@dataclass(frozen=True)
class ManifestRow:
    path: str
    track_id: int | None
    isrc: str | None
    mbid: str | None
    size: int
    sha256: str
    original_sha256: str | None
    format: str | None
    bitrate: int | None
    duration_ms: int | None
    popularity: int | None

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("/"))


def _int(
    value: Any, where: str, lo: int = 0, hi: int | None = None, null: bool = False
) -> int | None:
    if value is None and null:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: expected an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        raise InputError(f"{where}: {value} is out of range")
    return value


def _str(
    value: Any,
    where: str,
    null: bool = False,
    pattern: re.Pattern[str] | None = None,
    max_len: int = 4096,
) -> str | None:
    if value is None and null:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: expected a string, got {value!r}")
    if len(value) > max_len:
        raise InputError(f"{where}: string longer than {max_len} characters")
    if pattern is not None and not pattern.match(value):
        raise InputError(f"{where}: {value!r} is not of the expected form")
    return value


def _keys(obj: Any, cls: type, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected an object, got {type(obj).__name__}")
    missing = [f.name for f in fields(cls) if f.name not in obj]
    if missing:
        raise InputError(f"{where}: missing key(s) {', '.join(missing)}")
    return obj


def parse_entry(obj: Any, where: str) -> TorrentEntry:
    d = _keys(obj, TorrentEntry, where)
    name = safepaths.check_name(_str(d["name"], f"{where}.name"), f"{where}.name")  # type: ignore[arg-type]
    file = safepaths.check_name(_str(d["file"], f"{where}.file"), f"{where}.file")  # type: ignore[arg-type]
    if not file.endswith(".torrent"):
        raise InputError(f"{where}.file: {file!r} does not end in .torrent")
    manifest = _str(d["manifest"], f"{where}.manifest", null=True)
    if manifest is not None:
        safepaths.check_name(manifest, f"{where}.manifest")
        if not manifest.endswith((".manifest.jsonl", ".manifest.parquet")):
            raise InputError(
                f"{where}.manifest: {manifest!r} is not a .manifest.jsonl/.parquet file"
            )
    share = d["listens_share"]
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise InputError(f"{where}.listens_share: expected a number in [0, 1], got {share!r}")
    if not isinstance(d["is_metadata"], bool):
        raise InputError(f"{where}.is_metadata: expected true or false, got {d['is_metadata']!r}")
    pmin = _int(d["popularity_min"], f"{where}.popularity_min", 0, 100)
    pmax = _int(d["popularity_max"], f"{where}.popularity_max", 0, 100)
    if pmin is not None and pmax is not None and pmin > pmax:
        raise InputError(f"{where}: popularity_min {pmin} > popularity_max {pmax}")
    return TorrentEntry(
        name=name,
        file=file,
        info_hash_v1=_str(d["info_hash_v1"], f"{where}.info_hash_v1", pattern=_HEX40),  # type: ignore[arg-type]
        info_hash_v2=_str(d["info_hash_v2"], f"{where}.info_hash_v2", null=True, pattern=_HEX64),
        magnet=_str(d["magnet"], f"{where}.magnet", max_len=65536),  # type: ignore[arg-type]
        data_size=_int(d["data_size"], f"{where}.data_size"),  # type: ignore[arg-type]
        file_count=_int(d["file_count"], f"{where}.file_count"),  # type: ignore[arg-type]
        tier=_int(d["tier"], f"{where}.tier"),  # type: ignore[arg-type]
        popularity_min=pmin,  # type: ignore[arg-type]
        popularity_max=pmax,  # type: ignore[arg-type]
        listens_covered=_int(d["listens_covered"], f"{where}.listens_covered"),  # type: ignore[arg-type]
        listens_share=float(share),
        created=_str(d["created"], f"{where}.created", max_len=64),  # type: ignore[arg-type]
        is_metadata=d["is_metadata"],
        manifest=manifest,
    )


def parse_listing(data: bytes, source: str) -> Listing:
    """Parse and validate torrents.json bytes; ``source`` names the input in errors."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("torrents"), list):
        raise InputError(f"{source}: expected an object with a 'torrents' list")
    archive = _str(doc.get("archive"), f"{source}: archive", max_len=256)
    generated = _str(doc.get("generated_at"), f"{source}: generated_at", max_len=64)
    entries = tuple(
        parse_entry(t, f"{source}: torrents[{i}]") for i, t in enumerate(doc["torrents"])
    )
    for key in ("name", "file", "info_hash_v1", "info_hash_v2"):
        seen: set[Any] = set()
        for t in entries:
            value = getattr(t, key)
            if value is not None and value in seen:
                raise InputError(f"{source}: duplicate {key} {value!r}")
            seen.add(value)
    return Listing(archive, generated, entries)  # type: ignore[arg-type]


def read_listing(path: Path) -> Listing:
    return parse_listing(
        safepaths.read_bounded(Path(path), MAX_LISTING_BYTES, "torrents.json"), str(path)
    )


def parse_manifest_row(obj: Any, where: str) -> ManifestRow:
    d = _keys(obj, ManifestRow, where)
    path = _str(d["path"], f"{where}.path", max_len=safepaths.MAX_PATH)
    safepaths.check_posix(path, f"{where}.path")  # type: ignore[arg-type]
    return ManifestRow(
        path=path,  # type: ignore[arg-type]
        track_id=_int(d["track_id"], f"{where}.track_id", lo=-(2**63), null=True),
        isrc=_str(d["isrc"], f"{where}.isrc", null=True, max_len=64),
        mbid=_str(d["mbid"], f"{where}.mbid", null=True, max_len=64),
        size=_int(d["size"], f"{where}.size"),  # type: ignore[arg-type]
        sha256=_str(d["sha256"], f"{where}.sha256", pattern=_HEX64),  # type: ignore[arg-type]
        original_sha256=_str(
            d["original_sha256"], f"{where}.original_sha256", null=True, pattern=_HEX64
        ),
        format=_str(d["format"], f"{where}.format", null=True, max_len=32),
        bitrate=_int(d["bitrate"], f"{where}.bitrate", null=True),
        duration_ms=_int(d["duration_ms"], f"{where}.duration_ms", null=True),
        popularity=_int(d["popularity"], f"{where}.popularity", 0, 100, null=True),
    )


def _check_manifest(rows: list[ManifestRow], source: str) -> list[ManifestRow]:
    safepaths.check_unique([r.parts for r in rows], source)
    return rows


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a ``.manifest.jsonl`` or ``.manifest.parquet`` file, validated."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such manifest")
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            records = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise InputError(f"{path}: not a readable Parquet manifest: {exc}") from None
        return _check_manifest(
            [parse_manifest_row(r, f"{path}: row {i + 1}") for i, r in enumerate(records)],
            str(path),
        )
    rows = []
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}: line {lineno}: not valid JSON: {exc}") from None
            rows.append(parse_manifest_row(obj, f"{path}: line {lineno}"))
    return _check_manifest(rows, str(path))


def manifest_jsonl(rows: list[ManifestRow]) -> bytes:
    """The JSON-lines form of a manifest, one row per line, keys in the documented order."""
    return b"".join(orjson.dumps(asdict(r)) + b"\n" for r in rows)
