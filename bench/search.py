"""Search: Longplay's index against SQLite FTS5 and a DuckDB ILIKE scan, on the same data.

For each size: ingest a synthetic catalog (Zipf vocabulary, docs/sources.md), build Longplay's
index (timed: tracks/s, bytes per track), build an FTS5 table (`unicode61 remove_diacritics 2`,
prefix indexes 2 and 3, what Navidrome uses) over the same denormalized rows, then run one fixed
query mix through all three: common words, rare words, typos (one edit per word of 4+ letters),
prefixes, field queries, ISRC lookups and an empty query paged by key. Prints p50/p99 per class,
the typo set's recall (the right track in the top 10), and the time of a shuffle draw.

    .venv/bin/python bench/search.py --sizes 1000000 --dir /tmp/lp-bench-search
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import time
from pathlib import Path

os.environ.setdefault("LONGPLAY_NO_PROGRESS", "1")


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # one transposition


def _mix(con, n: int, rng: random.Random) -> dict[str, list[tuple[str, str, int]]]:  # type: ignore[no-untyped-def]
    """class -> [(longplay query, fts5 match or '', expected track id or 0)]"""
    rows = con.execute(
        "SELECT t.track_id, t.title, t.isrc, ar.name FROM tracks t "
        "JOIN track_artists x ON x.track_id = t.track_id AND x.position = 1 "
        "JOIN artists ar USING (artist_id) "
        "WHERE t.track_id % 997 = 0 AND regexp_matches(t.title, '^[A-Za-z ]+$') "
        "AND length(t.title) > 12 ORDER BY t.track_id LIMIT ?",
        [n],
    ).fetchall()
    common = ["shiviris", "fetan", "gravu", "fleglin", "wailort", "slounor", "prom", "neipo"]
    out: dict[str, list[tuple[str, str, int]]] = {k: [] for k in ("common", "rare", "typo")}
    out.update({k: [] for k in ("prefix", "field", "isrc", "empty")})
    for i, (tid, title, isrc, artist) in enumerate(rows):
        words = title.lower().split()
        rare = max(words, key=len)
        out["common"].append((common[i % len(common)], common[i % len(common)], 0))
        out["rare"].append((rare, rare, 0))
        typo = " ".join(_typo(w, rng) for w in words[:3])
        out["typo"].append((typo, typo, tid))
        if len(words) >= 2 and len(words[1]) >= 4:
            out["prefix"].append((f"{words[0]} {words[1][:3]}", f"{words[0]} {words[1][:3]}*", 0))
        a = artist.split()[0].lower()
        out["field"].append((f"artist:{a} title:{words[0]}", f"artists:{a} title:{words[0]}", 0))
        out["isrc"].append((f"isrc:{isrc}", isrc, tid))
        out["empty"].append(("", str(i * 20), 0))
    return out


def _fts_build(con, db: Path) -> float:  # type: ignore[no-untyped-def]
    from longplay.catalog.views import TRACK_ROWS

    db.unlink(missing_ok=True)
    s = sqlite3.connect(db)
    s.execute("PRAGMA journal_mode=OFF")
    s.execute("PRAGMA synchronous=OFF")
    s.execute(
        "CREATE TABLE tracks (id INTEGER PRIMARY KEY, track_id INTEGER, title TEXT, "
        "artists TEXT, album TEXT, isrc TEXT, popularity INTEGER)"
    )
    s.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(title, artists, album, content='tracks', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
    )
    t = time.perf_counter()
    rel = con.execute(
        f"SELECT track_id, title, array_to_string(artists, ' '), album, isrcs[1], popularity "
        f"FROM ({TRACK_ROWS}) ORDER BY track_id"
    )
    i = 0
    while batch := rel.fetchmany(100_000):
        s.executemany(
            "INSERT INTO tracks VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i + k, *r) for k, r in enumerate(batch)],
        )
        i += len(batch)
    s.execute("INSERT INTO fts(fts) VALUES ('rebuild')")
    s.execute("CREATE INDEX tracks_isrc ON tracks(isrc)")
    s.commit()
    s.close()
    return time.perf_counter() - t


def _fts_query(s: sqlite3.Connection, cls: str, match: str) -> list[int]:
    if cls == "isrc":
        sql, args = "SELECT track_id FROM tracks WHERE isrc = ? LIMIT 20", [match]
    elif cls == "empty":
        sql = "SELECT track_id, title FROM tracks WHERE id > ? ORDER BY id LIMIT 20"
        args = [int(match)]
    else:
        sql = (
            "SELECT t.track_id, t.title, t.artists FROM fts JOIN tracks t ON t.id = fts.rowid "
            "WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT 20"
        )
        args = [
            " ".join(
                f'"{w[:-1]}"*' if w.endswith("*") else f'"{w}"' if ":" not in w else w
                for w in match.split()
            )
        ]
    return [r[0] for r in s.execute(sql, args).fetchall()]


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def run(n: int, scratch: Path, queries: int) -> None:
    from longplay.archive import Archive
    from longplay.catalog.sources import ingest_synthetic
    from longplay.catalog.store import CatalogStore
    from longplay.search import engine, shuffle
    from longplay.search.build import build_index

    root = scratch / f"archive-{n}"
    if not (root / "catalog" / "CURRENT").exists():
        shutil.rmtree(root, ignore_errors=True)
        ingest_synthetic(Archive.init(root), n, seed=1)
    archive = Archive.open(root)
    shutil.rmtree(archive.search_dir, ignore_errors=True)
    archive.search_dir.mkdir()
    report = build_index(archive)
    size = sum(f.stat().st_size for f in archive.search_dir.rglob("*") if f.is_file())
    print(
        f"{n:>11,} tracks  index build {report.seconds:7.1f} s  {n / report.seconds:>9,.0f} tracks/s "
        f"({sum(report.documents.values()) / report.seconds:,.0f} docs/s)  "
        f"{size / n:6.0f} bytes/track  -> 256M: {256e6 / (n / report.seconds) / 60:,.0f} min, "
        f"{size / n * 256e6 / 1e9:,.0f} GB",
        flush=True,
    )
    with CatalogStore(archive).read() as con:
        mix = _mix(con, queries, random.Random(7))
        fts_db = scratch / f"fts-{n}.sqlite"
        fts_s = _fts_build(con, fts_db)
        print(
            f"{'':>11}  FTS5 build {fts_s:7.1f} s  {n / fts_s:>9,.0f} tracks/s  "
            f"{fts_db.stat().st_size / n:6.0f} bytes/track",
            flush=True,
        )
        s = sqlite3.connect(fts_db)
        index = engine.open_current(archive)
        print(
            f"{'class':>8} {'n':>4} {'lp p50':>8} {'lp p99':>8} {'fts p50':>8} {'fts p99':>8} "
            f"{'ilike p50':>9} {'ilike p99':>9}  (ms)"
        )
        recall = {"lp": 0, "fts": 0}
        for cls, items in mix.items():
            lp, fts, ilike = [], [], []
            for q, m, want in items:
                after = int(m) - 1 if cls == "empty" and int(m) else None
                t = time.perf_counter()
                page = index.search(q, limit=20, kind="track", after=after)
                lp.append(time.perf_counter() - t)
                t = time.perf_counter()
                got = _fts_query(s, cls, m)
                fts.append(time.perf_counter() - t)
                if cls == "typo":
                    recall["lp"] += want in [h.id for h in page.hits[:10]]
                    recall["fts"] += want in got[:10]
            for q, _m, _ in items[:5]:  # the naive scan: a few queries are enough to see it
                word = q.split()[0].split(":")[-1] if q else ""
                t = time.perf_counter()
                con.execute(
                    "SELECT track_id, title FROM tracks WHERE title ILIKE ? OR isrc = ? LIMIT 20",
                    [f"%{word}%", word.upper()],
                ).fetchall()
                ilike.append(time.perf_counter() - t)
            print(
                f"{cls:>8} {len(items):>4} {_pct(lp, 0.5):>8.2f} {_pct(lp, 0.99):>8.2f} "
                f"{_pct(fts, 0.5):>8.2f} {_pct(fts, 0.99):>8.2f} {_pct(ilike, 0.5):>9.1f} "
                f"{_pct(ilike, 0.99):>9.1f}",
                flush=True,
            )
        typos = len(mix["typo"])
        print(
            f"typo recall (right track in top 10): longplay {recall['lp'] / typos:.1%}, "
            f"FTS5 {recall['fts'] / typos:.1%} of {typos}"
        )
        for label, f in (
            ("all", None),
            ("genre rock", shuffle.Filters(genre="rock")),
            ("pop >= 60", shuffle.Filters(min_popularity=60)),
        ):
            shuffle.draw(index, n=1, seed=1, filters=f)  # (the filter's mask, once a session)
            t = time.perf_counter()
            page = shuffle.draw(index, n=1000, seed=1, position=1, filters=f)
            per = (time.perf_counter() - t) / 1000
            print(f"shuffle draw ({label}, {page.matching:,} tracks): {per * 1000:.3f} ms/draw")
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dir", default="/tmp/lp-bench-search")
    args = ap.parse_args()
    scratch = Path(args.dir)
    scratch.mkdir(parents=True, exist_ok=True)
    print(
        "vocabulary: 120,000 generated words, Zipf rank^-1 (offset 2.7); titles 1-6 words; "
        "10% diacritics, 3% CJK (catalog/sources/vocabulary.py)"
    )
    for n in (int(x) for x in args.sizes.split(",")):
        run(n, scratch, args.queries)


if __name__ == "__main__":
    main()
