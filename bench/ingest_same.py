"""Does a change to the ingest store the same catalog? Old code against new, table by table.

Writes the inputs of ``longplay.testing.ingest_inputs`` (a synthetic catalog plus a file of
records that hit every check), ingests them with the code of a git revision (``--base``,
extracted with ``git archive``) and with the working tree's code, each in its own process, and
compares every table's rows and the rejects log. Exits 1 on any difference.

With ``--musicbrainz`` the input is a MusicBrainz dump instead
(``longplay.testing.musicbrainz_inputs``: generated releases, the picard samples, fuzzed copies
and broken lines, artists and release groups), ingested in chunks of ``--chunk`` documents.

    .venv/bin/python bench/ingest_same.py --base main --tracks 100000 --dir /tmp/lp-same
    .venv/bin/python bench/ingest_same.py --base main --tracks 100000 --keys hashed
    .venv/bin/python bench/ingest_same.py --base main --musicbrainz --releases 20000 --dir /tmp/lp-same-mb

With ``--reingest`` the same source is then ingested again into a new generation (a copy of
the first), from a second input of two thirds the size: for flat records the first input's
keys, in other units and with other values (rows replaced, rows kept from the first ingest,
and their links); for MusicBrainz a dump of two thirds the releases, about a quarter of whose
documents repeat the first's. The digest is of the second generation.

    .venv/bin/python bench/ingest_same.py --base main --tracks 100000 --keys hashed --reingest
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, os, sys, time
from pathlib import Path
os.environ["LONGPLAY_NO_PROGRESS"] = "1"
from longplay.archive import Archive
from longplay.catalog.sources import ingest_flat
from longplay.catalog.sources.musicbrainz import ingest_musicbrainz
mode, chunk, root = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
# One ingest per group of files ("--" between groups): a later one re-ingests the same source.
groups = [[]]
for a in sys.argv[4:]:
    if a == "--":
        groups.append([])
    else:
        groups[-1].append(Path(a))
archive = Archive.init(root)
if mode == "musicbrainz":
    archive.toml_path.write_text(f"musicbrainz_chunk_documents = {chunk}\\n")
    archive = Archive.open(root)
c = time.process_time()
for files in groups:
    if mode == "musicbrainz":
        report = ingest_musicbrainz(archive, files)
    else:
        report = ingest_flat(archive, files, "same")
cpu = time.process_time() - c
rejects = str(report.rejects_path) if report.rejects_path else None
print(json.dumps({"cpu": cpu, "rejects": rejects}))
"""


def _run(src: Path, root: Path, groups: list[list[Path]], mode: str, chunk: int) -> dict[str, Any]:
    """Ingest each group of files in turn (the same source again: a re-ingest) into a new
    archive at ``root`` with the code under ``src``; the digest is taken here, by the working
    tree's code, so both sides are digested alike. Rejects: the last ingest's log."""
    from longplay.archive import Archive
    from longplay.catalog.store import CatalogStore
    from longplay.testing.ingest_inputs import catalog_digest

    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(chunk), str(root), *_argv(groups)],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(f"the ingest under {src} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    rejects = Path(result["rejects"]) if result["rejects"] else None
    catalog = CatalogStore(Archive(root)).current_path()
    assert catalog is not None
    return {"cpu": result["cpu"], "digest": catalog_digest(catalog, rejects, root)}


def _argv(groups: list[list[Path]]) -> list[str]:
    out: list[str] = []
    for i, files in enumerate(groups):
        out += (["--"] if i else []) + [str(f) for f in files]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="main", help="git revision whose ingest is the reference")
    ap.add_argument("--tracks", type=int, default=100_000)
    ap.add_argument("--keys", default="ordered", help="the synthetic keys: ordered or hashed")
    ap.add_argument("--dir", default=None)
    ap.add_argument(
        "--musicbrainz", action="store_true", help="a MusicBrainz dump, not flat records"
    )
    ap.add_argument(
        "--releases", type=int, default=20_000, help="generated releases (--musicbrainz)"
    )
    ap.add_argument("--chunk", type=int, default=3_000, help="documents per unit (--musicbrainz)")
    ap.add_argument(
        "--reingest",
        action="store_true",
        help="then ingest a second input, two thirds the size, as the same source (flat: the "
        "first's keys with other values, in other units, and the tricky rows again)",
    )
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="lp-same-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    base_src = work / "base-src"
    base_src.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", args.base, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(base_src)], input=archive, check=True)
    sys.path.insert(0, str(ROOT / "src"))
    from longplay.testing.ingest_inputs import write_inputs
    from longplay.testing.musicbrainz_inputs import write_musicbrainz_inputs

    mode = "musicbrainz" if args.musicbrainz else "flat"
    if args.musicbrainz:
        picard = (
            next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()), Path())
            / "data/musicbrainz/picard"
        )
        groups = [
            write_musicbrainz_inputs(work / f"input{i}", n, picard if picard.is_dir() else None)
            for i, n in enumerate([args.releases] + [args.releases * 2 // 3] * args.reingest)
        ]
    else:
        groups = [
            write_inputs(work / f"input{i}", n, args.keys)
            for i, n in enumerate([args.tracks] + [args.tracks * 2 // 3] * args.reingest)
        ]
    t = time.perf_counter()
    old = _run(base_src / "src", work / "old", groups, mode, args.chunk)
    new = _run(ROOT / "src", work / "new", groups, mode, args.chunk)
    diff = {
        k: (old["digest"].get(k), v) for k, v in new["digest"].items() if old["digest"].get(k) != v
    }
    what = (
        f"{args.releases:,} releases + samples, fuzzed and broken documents (chunks of {args.chunk:,})"
        if args.musicbrainz
        else f"{args.tracks:,} tracks ({args.keys} keys) + tricky rows"
    )
    if args.reingest:
        what += (
            ", then re-ingested: a dump of two thirds the releases, some repeated"
            if args.musicbrainz
            else ", then re-ingested: two thirds of it with other values"
        )
    if args.musicbrainz and not picard.is_dir():
        what += " (no picard samples: shared data absent)"
    print(
        f"{what}: base {args.base} {old['cpu']:.1f} CPU-s, "
        f"working tree {new['cpu']:.1f} CPU-s ({time.perf_counter() - t:.0f} s, load {os.getloadavg()[0]:.1f})"
    )
    for table, (a, b) in sorted(diff.items()):
        print(f"  DIFFERENT {table}: base {a}, working tree {b}")
    if not diff:
        print(f"  same: {len(new['digest'])} tables and the rejects log")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
