"""Where indexes live (``ARCHIVE/search/gen-NNNNNN/``) and removing those of gone generations.

An index directory is complete when it has ``counts.json`` and is not ``.partial``; it holds
``index/`` (Tantivy) and ``shuffle/`` (per-track columns). The catalog knows nothing of this
folder: after ``CatalogStore.gc`` the caller runs :func:`prune`, which removes every index whose
generation no longer exists. Pruning by what exists, rather than a hook told which generations gc
removed, also cleans indexes left behind by a crash or by a gc run from a process that never
loaded the search layer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from longplay.archive import Archive
from longplay.catalog.store import CatalogStore

PARTIAL = ".partial"
COUNTS = "counts.json"


def index_dir(archive: Archive, generation: str) -> Path:
    return archive.search_dir / generation


def is_complete(path: Path) -> bool:
    return not path.name.endswith(PARTIAL) and (path / COUNTS).is_file()


def read_counts(path: Path) -> dict[str, int]:
    return json.loads((path / COUNTS).read_text(encoding="utf-8"))


def write_counts(path: Path, counts: dict[str, int]) -> None:
    (path / COUNTS).write_text(json.dumps(counts, sort_keys=True), encoding="utf-8")


def prune(archive: Archive) -> list[str]:
    """Remove the indexes (finished or partial) of generations the catalog no longer has."""
    if not archive.search_dir.exists():
        return []
    alive = set(CatalogStore(archive).generations())
    removed = []
    for p in sorted(archive.search_dir.iterdir()):
        gen = p.name.removesuffix(PARTIAL)
        if p.is_dir() and gen.startswith("gen-") and gen not in alive:
            shutil.rmtree(p)
            removed.append(p.name)
    return removed
