"""`longplay pack`: lay built files out into torrents, create them, write manifests and the list.

    build/ ledger ──placement──▶ files/NAME/...  ──create_torrent──▶ torrents/NAME.torrent
         │                        (hard links)                        torrents/NAME.manifest.*
         └── catalog release, manifests, restore data, covers ──▶ files/ARCHIVE-metadata/...
                                                                       torrents/torrents.json

Everything here is a function of the catalog, the built files and the settings: no clock, no
directory names, no order of discovery reaches the bytes, so two runs in different places give
byte-identical torrents (a test checks it). Each torrent's directory holds exactly its files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from longplay import progress
from longplay.archive import Archive
from longplay.catalog.export import export
from longplay.catalog.store import CatalogStore
from longplay.errors import LongplayError, writing
from longplay.pack import placement
from longplay.pack.build import copy_ledger
from longplay.pack.listing import Listing, TorrentEntry, read_listing
from longplay.pack.torrents import CreatedTorrent, create_torrent, directory_files

MANIFEST_FIELDS = (
    "path",
    "track_id",
    "isrc",
    "mbid",
    "size",
    "sha256",
    "original_sha256",
    "format",
    "bitrate",
    "duration_ms",
    "popularity",
)
LISTING = "torrents.json"


@dataclass
class PackedTorrent:
    name: str
    tier: int | None
    created: CreatedTorrent
    popularity_min: int | None = None
    popularity_max: int | None = None
    listens_covered: int = 0
    is_metadata: bool = False
    manifest: str | None = None


@dataclass
class PackSummary:
    torrents: list[PackedTorrent] = field(default_factory=list)
    total_listens: int = 0

    def table(self) -> str:
        head = f"{'torrent':<24} {'tier':>4} {'files':>7} {'bytes':>15} {'pop':>7} {'listens':>7}  v1 info-hash"
        lines = [head]
        for t in self.torrents:
            pop = "" if t.popularity_min is None else f"{t.popularity_min}-{t.popularity_max}"
            share = (
                f"{t.listens_covered / self.total_listens:.1%}"
                if self.total_listens and not t.is_metadata
                else ""
            )
            lines.append(
                f"{t.name:<24} {'' if t.tier is None else t.tier:>4} {t.created.file_count:>7,} "
                f"{t.created.total_size:>15,} {pop:>7} {share:>7}  {t.created.info_hash_v1}"
            )
        return "\n".join(lines)


_FILES_SQL = """
    SELECT b.track_id, p.tier, b.size, p.popularity, p.listens, b.format AS ext,
           coalesce((SELECT a.name FROM album_artists aa JOIN artists a USING (artist_id)
                     WHERE aa.album_id = t.album_id ORDER BY aa.position LIMIT 1),
                    (SELECT a.name FROM track_artists ta JOIN artists a USING (artist_id)
                     WHERE ta.track_id = t.track_id ORDER BY ta.position LIMIT 1)) AS artist,
           al.title AS album, al.release_year AS year, t.disc_number AS disc, t.track_number,
           t.title, t.isrc, t.mbid, b.sha256, b.src_sha256, b.bitrate, b.duration_ms, b.out_path,
           b.restore, b.cover_sha256
    FROM _built b JOIN plan p USING (recording_id) JOIN tracks t ON t.track_id = b.track_id
    LEFT JOIN albums al ON al.album_id = t.album_id
"""


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        if os.path.samefile(src, dst):
            return
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:  # another filesystem: copy instead
        tmp = dst.with_name(f".{dst.name}.tmp")
        with writing(dst):
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)


def _sync_dir(root: Path, wanted: set[str]) -> None:
    """Remove files under ``root`` that are not ``wanted`` (and then-empty directories)."""
    if not root.exists():
        return
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _write_manifest(rows: list[dict[str, Any]], torrents_dir: Path, name: str) -> str:
    jsonl = torrents_dir / f"{name}.manifest.jsonl"
    tmp = jsonl.with_name(jsonl.name + ".tmp")
    with writing(jsonl), open(tmp, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(
                json.dumps({k: r[k] for k in MANIFEST_FIELDS}, ensure_ascii=False, sort_keys=False)
                + "\n"
            )
    os.replace(tmp, jsonl)
    table = pa.table({k: [r[k] for r in rows] for k in MANIFEST_FIELDS})
    parquet = torrents_dir / f"{name}.manifest.parquet"
    with writing(parquet):
        pq.write_table(table, parquet, compression="zstd")
    return jsonl.name


def pack(archive: Archive) -> PackSummary:
    """Place, link, list and hash every torrent, then the metadata torrent and torrents.json.

    Torrent by torrent: only one torrent's rows are in Python at a time; the rest wait in
    DuckDB temp tables (``_files``, ``_ordered``, ``_paths``), which spill to disk.
    """
    s = archive.settings
    version, target = s.torrent_version, s.torrent_target_size
    trackers = [t.strip() for t in s.torrent_trackers.split(",") if t.strip()]
    store = CatalogStore(archive)
    summary = PackSummary()
    archive.torrents_dir.mkdir(exist_ok=True)
    with store.read() as con:
        copy_ledger(con, archive, "_built")
        has_plan = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'plan'"
        ).fetchall()[0][0]
        if not has_plan:
            raise LongplayError(
                "the current catalog generation has no plan; run `longplay plan` and `longplay build`"
            )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _files AS {_FILES_SQL}")  # the join, once
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _paths (track_id BIGINT, torrent VARCHAR, path VARCHAR)"
        )
        summary.total_listens = int(
            con.execute("SELECT coalesce(sum(listens), 0) FROM plan").fetchall()[0][0]
        )
        total = int(con.execute("SELECT coalesce(sum(size), 0) FROM _files").fetchall()[0][0])
        with progress.progress("pack torrents", total, "B") as bar:
            for placed in placement.place_torrents(
                con, "SELECT * FROM _files", s.archive_name, target
            ):
                summary.torrents.append(
                    _pack_torrent(archive, placed, version, trackers, s.cluster, bar)
                )
                con.register(
                    "_placed_paths",
                    pa.table(
                        {
                            "track_id": [r["track_id"] for r in placed.rows],
                            "torrent": [placed.name] * len(placed.rows),
                            "path": [r["path"] for r in placed.rows],
                        }
                    ),
                )
                con.execute("INSERT INTO _paths SELECT * FROM _placed_paths")
                con.unregister("_placed_paths")
        summary.torrents.sort(key=lambda t: t.name)
        metadata = _metadata_inputs(con, archive)
    summary.torrents.append(
        _metadata_torrent(
            archive, store, [t.name for t in summary.torrents], metadata, version, trackers
        )
    )
    _sync_stale_torrents(archive, {t.name for t in summary.torrents})
    write_listing(archive, summary)
    return summary


def _pack_torrent(
    archive: Archive,
    placed: placement.PlacedTorrent,
    version: str,
    trackers: list[str],
    cluster: str,
    bar: progress.Tracker,
) -> PackedTorrent:
    """Link one torrent's files into files/NAME (exactly those), write its manifest and .torrent."""
    name, root = placed.name, archive.files_dir / placed.name
    for r in placed.rows:
        r["format"] = r["ext"]
        r["original_sha256"] = r["src_sha256"]
        _link(archive.root / r["out_path"], root / r["path"])
    _sync_dir(root, {r["path"] for r in placed.rows})
    rows = sorted(placed.rows, key=lambda r: r["path"])
    manifest = _write_manifest(rows, archive.torrents_dir, name)
    created = create_torrent(
        name,
        directory_files(root),
        version=version,
        trackers=trackers,
        cluster=cluster,
        progress=bar,
    )
    created.write(archive.torrents_dir / f"{name}.torrent")
    pops = [r["popularity"] for r in rows]
    return PackedTorrent(
        name=name,
        tier=placed.tier,
        created=created,
        popularity_min=min(pops),
        popularity_max=max(pops),
        listens_covered=sum(int(r["listens"]) for r in rows),
        manifest=manifest,
    )


@dataclass
class _MetadataInputs:
    restore: Path  # restore.parquet, written beside its place in the metadata torrent
    covers: list[str]  # distinct cover hashes, sorted
    analyzed: list[tuple[str, int, str]]  # (TORRENT/PATH, track ID, built path)


_RESTORE_SCHEMA = pa.schema(
    [
        ("torrent", pa.string()),
        ("path", pa.string()),
        ("track_id", pa.int64()),
        ("sha256", pa.string()),
        ("original_sha256", pa.string()),
        ("restore", pa.binary()),
    ]
)
# pq.write_table's default row group: writing groups of exactly this many rows one by one
# gives the same bytes as writing the whole table at once, without holding it.
_RESTORE_GROUP = 1024 * 1024


def _metadata_inputs(con: duckdb.DuckDBPyConnection, archive: Archive) -> _MetadataInputs:
    """What the metadata torrent needs from every torrent's files, read from ``_paths``."""
    meta = f"{placement.safe_component(archive.settings.archive_name, 'longplay')}-metadata"
    scratch = archive.files_dir / meta / "restore" / ".restore.parquet.tmp"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    reader = con.sql("""
        SELECT x.torrent, x.path, f.track_id, f.sha256, f.src_sha256 AS original_sha256, f.restore
        FROM _paths x JOIN _files f USING (track_id) WHERE f.restore IS NOT NULL
        ORDER BY x.torrent, x.path""").to_arrow_reader(_RESTORE_GROUP)
    pending: list[pa.RecordBatch] = []
    with (
        writing(scratch),
        pq.ParquetWriter(scratch, _RESTORE_SCHEMA, compression="zstd") as writer,
    ):
        wrote = False
        for batch in reader:
            pending.append(batch)
            while sum(b.num_rows for b in pending) >= _RESTORE_GROUP:
                table = pa.Table.from_batches(pending).cast(_RESTORE_SCHEMA)
                writer.write_table(table.slice(0, _RESTORE_GROUP))
                rest = table.slice(_RESTORE_GROUP)
                pending = rest.to_batches() if rest.num_rows else []
                wrote = True
        if pending or not wrote:
            table = pa.Table.from_batches(pending, _RESTORE_SCHEMA).cast(_RESTORE_SCHEMA)
            writer.write_table(table)
    covers = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT cover_sha256 FROM _files WHERE cover_sha256 IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    analyzed: list[tuple[str, int, str]] = []
    from longplay.audio.analysisdb import AnalysisStore

    with AnalysisStore(archive, create=False) as analysis:
        exists = analysis.exists
    if exists:  # (the analysis export holds every analyzed file's row anyway)
        analyzed = con.execute("""
            SELECT x.torrent || '/' || x.path, f.track_id, f.out_path
            FROM _paths x JOIN _files f USING (track_id) ORDER BY x.torrent, f.track_id""").fetchall()
    return _MetadataInputs(scratch, covers, analyzed)


def _metadata_torrent(
    archive: Archive,
    store: CatalogStore,
    torrent_names: list[str],
    inputs: _MetadataInputs,
    version: str,
    trackers: list[str],
) -> PackedTorrent:
    """The catalog release, every manifest, the restore data and the covers, as one torrent."""
    name = f"{placement.safe_component(archive.settings.archive_name, 'longplay')}-metadata"
    root = archive.files_dir / name
    wanted: set[str] = set()
    export(store, "sqlite", root / "catalog" / "catalog.sqlite", zstd_file=True)
    (root / "catalog" / "catalog.sqlite").unlink()  # the release ships compressed
    wanted.add("catalog/catalog.sqlite.zst")
    for p in export(store, "parquet", root / "catalog" / "parquet"):
        wanted.add(f"catalog/parquet/{p.name}")
    for tname in torrent_names:
        for suffix in (".manifest.jsonl", ".manifest.parquet"):
            _link(
                archive.torrents_dir / f"{tname}{suffix}", root / "manifests" / f"{tname}{suffix}"
            )
            wanted.add(f"manifests/{tname}{suffix}")
    (root / "restore").mkdir(parents=True, exist_ok=True)
    os.replace(inputs.restore, root / "restore" / "restore.parquet")
    wanted.add("restore/restore.parquet")
    cover_dir = archive.root / "build" / "covers"
    for sha in inputs.covers:
        for src in cover_dir.glob(f"{sha}.*"):
            _link(src, root / "covers" / src.name)
            wanted.add(f"covers/{src.name}")
    from longplay.pack.analysisexport import write_analysis

    wanted.update(write_analysis(archive, root, inputs.analyzed))
    with writing(root / "README.txt"):
        (root / "README.txt").write_text(_METADATA_README, encoding="utf-8")
    wanted.add("README.txt")
    _sync_dir(root, wanted)
    created = create_torrent(name, directory_files(root), version=version, trackers=trackers)
    created.write(archive.torrents_dir / f"{name}.torrent")
    return PackedTorrent(name=name, tier=None, created=created, is_metadata=True)


_METADATA_README = """Longplay metadata torrent

catalog/catalog.sqlite.zst   the catalog release (zstd-compressed SQLite; schema: docs/schema.md)
catalog/parquet/             the same tables as Parquet files
manifests/NAME.manifest.*    per audio torrent: path, track_id, ISRC, MBID, size, SHA-256,
                             original SHA-256, format, bitrate, duration, popularity
restore/restore.parquet      per tagged original: the data that turns it back into the source
                             file bit for bit (`longplay audio restore`)
covers/SHA256.jpg|png        album cover images, one file per distinct image
analysis/features.*          per analyzed file (`longplay analyze`): torrent path, audio-payload
                             hash, track ID, loudness and ReplayGain, tempo, key (JSONL.zst, Parquet)
analysis/fingerprints.*      the same files' Chromaprint fingerprints, raw and compressed
"""


def _sync_stale_torrents(archive: Archive, names: set[str]) -> None:
    """Drop torrents (files and data) of this archive that the new layout no longer has."""
    prefix = placement.safe_component(archive.settings.archive_name, "longplay") + "-"
    for t in archive.torrents_dir.glob(f"{prefix}*.torrent"):
        if t.stem not in names:
            t.unlink()
            for suffix in (".manifest.jsonl", ".manifest.parquet"):
                (archive.torrents_dir / f"{t.stem}{suffix}").unlink(missing_ok=True)
    for d in archive.files_dir.glob(f"{prefix}*"):
        if d.is_dir() and d.name not in names:
            shutil.rmtree(d)


def listing_time() -> str:
    """The listing's timestamp: now, or ``SOURCE_DATE_EPOCH`` when set, the reproducible-builds
    convention, so two packs of the same archive can give byte-identical torrents.json files."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        when = dt.datetime.now(dt.UTC)
    elif epoch.isdigit() and len(epoch) <= 12:
        when = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    else:
        raise LongplayError(
            f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a Unix time (whole seconds since 1970)"
        )
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_listing(archive: Archive, summary: PackSummary) -> Path:
    """torrents.json, in the format `pack.listing` defines and validates (mirrors read it)."""
    now = listing_time()
    entries = []
    for t in summary.torrents:
        c = t.created
        # The metadata torrent describes the whole catalog: tier 0, every popularity.
        entries.append(
            TorrentEntry(
                name=t.name,
                file=f"{t.name}.torrent",
                info_hash_v1=c.info_hash_v1 or "",
                info_hash_v2=c.info_hash_v2,
                magnet=c.magnet,
                data_size=c.total_size,
                file_count=c.file_count,
                tier=0 if t.tier is None else t.tier,
                popularity_min=0 if t.popularity_min is None else t.popularity_min,
                popularity_max=100 if t.popularity_max is None else t.popularity_max,
                listens_covered=t.listens_covered,
                listens_share=(t.listens_covered / summary.total_listens)
                if summary.total_listens
                else 0.0,
                created=now,
                is_metadata=t.is_metadata,
                manifest=t.manifest,
            )
        )
    listing = Listing(
        archive=archive.settings.archive_name, generated_at=now, torrents=tuple(entries)
    )
    path = archive.torrents_dir / LISTING
    tmp = path.with_name(path.name + ".tmp")
    with writing(path):
        tmp.write_bytes(listing.to_json() + b"\n")
    os.replace(tmp, path)
    read_listing(path)  # what mirrors will read must pass their validation
    return path
