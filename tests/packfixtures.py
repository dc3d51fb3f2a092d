"""An archive taken through the whole archive half: clips, catalog, scan, plan, build, pack."""

from __future__ import annotations

from pathlib import Path

from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat
from longplay.pack.build import build
from longplay.pack.publish import PackSummary, pack
from longplay.plan.planner import make_plan

CLIPS = 12


def packed_archive(
    root: Path, music: Path, version: str = "hybrid", target: str = "200kB"
) -> tuple[Archive, PackSummary]:
    """Init, ingest the clips' catalog, scan them, plan (everything fits), build and pack."""
    archive = Archive.init(root)
    archive.toml_path.write_text(
        f'torrent_version = "{version}"\ntorrent_target_size = "{target}"\n'
        'archive_name = "lptest"\n'
    )
    archive = Archive.open(root)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=2)
    make_plan(archive, 10**12)
    build(archive, workers=2)
    return archive, pack(archive)


def clips(out: Path) -> Path:
    samples.generate(out, CLIPS, seed=3, seconds=2.0)
    return out
