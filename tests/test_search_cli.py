"""`longplay index`, `search`, `shuffle` and gc's index pruning, through the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from longplay.archive import Archive
from longplay.catalog.sources import ingest_synthetic
from longplay.catalog.store import CatalogStore


def run(env: dict[str, str], root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longplay", "--archive", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    archive = Archive.init(tmp_path / "a")
    ingest_synthetic(archive, 2000, seed=3)
    return archive.root


def test_index_search_shuffle_and_gc(root: Path, cli_env: dict[str, str]) -> None:
    r = run(cli_env, root, "index", "--workers", "1")
    assert r.returncode == 0 and "indexed gen-" in r.stdout, r.stderr
    assert "up to date" in run(cli_env, root, "index").stdout

    with CatalogStore(Archive.open(root)).read() as con:
        tid, title = con.execute("SELECT track_id, title FROM tracks ORDER BY track_id").fetchone()
    r = run(cli_env, root, "search", title, "--json", "--kind", "track", "--limit", "5")
    assert r.returncode == 0, r.stderr
    page = json.loads(r.stdout)
    assert tid in [h["id"] for h in page["hits"]] and page["total"] >= 1
    assert title in run(cli_env, root, "search", title).stdout

    r = run(cli_env, root, "search", 'title:"unbalanced')
    assert r.returncode == 1 and "unbalanced quote" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr

    args = ("shuffle", "--n", "5", "--seed", "9", "--json")
    first, again = run(cli_env, root, *args), run(cli_env, root, *args)
    assert first.returncode == 0, first.stderr
    ids = [t["id"] for t in json.loads(first.stdout)["tracks"]]
    assert len(set(ids)) == 5 and ids == [t["id"] for t in json.loads(again.stdout)["tracks"]]
    nxt = json.loads(run(cli_env, root, *args, "--position", "5").stdout)["tracks"]
    assert not set(ids) & {t["id"] for t in nxt}
    r = run(cli_env, root, "shuffle", "--year", "2005..2001")
    assert r.returncode == 1 and "empty range" in r.stderr

    old = CatalogStore(Archive.open(root)).current_name()
    ingest_synthetic(Archive.open(root), 500, seed=4)  # a new generation; the old index remains
    assert (root / "search" / old).is_dir()
    r = run(cli_env, root, "gc", "--keep", "1")
    assert r.returncode == 0, r.stderr
    assert f"removed 1 search index(es): {old}" in r.stdout
    assert not (root / "search" / old).exists()
