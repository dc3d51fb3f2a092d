"""Search: Longplay's index against SQLite FTS5 and a DuckDB ILIKE scan, on the same data.

For each size: ingest a synthetic catalog (Zipf vocabulary, docs/sources.md), build Longplay's
index (timed: tracks/s, bytes per track), build an FTS5 table (`unicode61 remove_diacritics 2`,
prefix indexes 2 and 3, what Navidrome uses) over the same denormalized rows, then run one fixed
query mix through all three: common words, rare words, typos (one edit per word of 4+ letters),
prefixes, single letters (a-z, 0-9: the first key typed), field queries, ISRC lookups and an
empty query paged by key. Prints p50/p99 per class, the typo set's recall (the right track in
the top 10), and the time of a shuffle draw.

    .venv/bin/python bench/search.py --sizes 1000000 --dir /tmp/lp-bench-search
    .venv/bin/python bench/search.py --quick                      # 100k tracks, for development
    .venv/bin/python bench/search.py --sizes 1000000 --profile common   # cProfile of one class
    .venv/bin/python bench/search.py --sizes 10000000 --no-peers --reuse  # queries, no rebuild
    .venv/bin/python bench/search.py --sizes 1000000 --no-peers --reuse --untiered  # tier vs none
    .venv/bin/python bench/search.py --sizes 10000000 --no-peers --reuse --prefix-letters 4

Each line is printed as soon as it is measured; before the build, the feed floors
(bench/_search_floors.py) run on the build's own documents.
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

from _search_floors import floors  # (bench/ is the script's directory)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # one transposition


LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def _mix(
    con, n: int, rng: random.Random, letters: int = 3
) -> dict[str, list[tuple[str, str, int]]]:
    """class -> [(longplay query, fts5 match or '', expected track id or 0)]; a prefix query is
    a title's first word and its second cut to ``letters`` (a second word longer than that)."""
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
    out.update({k: [] for k in ("prefix", "letter", "field", "isrc", "empty")})
    for i, (tid, title, isrc, artist) in enumerate(rows):
        words = title.lower().split()
        rare = max(words, key=len)
        out["common"].append((common[i % len(common)], common[i % len(common)], 0))
        out["rare"].append((rare, rare, 0))
        typo = " ".join(_typo(w, rng) for w in words[:3])
        out["typo"].append((typo, typo, tid))
        if len(words) >= 2 and len(words[1]) > letters:
            cut = f"{words[0]} {words[1][:letters]}"
            out["prefix"].append((cut, cut + "*", 0))
        a = artist.split()[0].lower()
        letter = LETTERS[i % len(LETTERS)]  # the first key typed in a search box
        out["letter"].append((letter, letter + "*", 0))
        out["field"].append((f"artist:{a} title:{words[0]}", f"artists:{a} title:{words[0]}", 0))
        out["isrc"].append((f"isrc:{isrc}", isrc, tid))
        out["empty"].append(("", str(i * 20), 0))
    return out


def _fts_build(con, db: Path) -> float:
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
    args: list[object]
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


def _lp_query(index, cls: str, q: str, m: str):
    after = int(m) - 1 if cls == "empty" and int(m) else None
    return index.search(q, limit=20, kind="track", after=after)


BUILD_GOAL = 150_000  # tracks/s on 2 cores (issue 20)


def _build(archive, n: int, scratch: Path, floor_docs: int) -> None:
    from longplay.search import build

    shutil.rmtree(archive.search_dir, ignore_errors=True)
    archive.search_dir.mkdir()
    print(f"load average at the build: {os.getloadavg()[0]:.1f}", flush=True)
    engine: dict[str, float] = {}
    if floor_docs:  # the build's stage 1 alone, then the feed floors on its documents
        stage = scratch / "floors"
        shutil.rmtree(stage, ignore_errors=True)
        t = time.perf_counter()
        build._stage_docs(archive, stage, build.NoHoldings(), build.NoFeatures())
        print(
            f"  stage 1 (DuckDB -> JSON docs, shuffle columns): {n / (time.perf_counter() - t):,.0f} tracks/s",
            flush=True,
        )
        engine = floors(stage / "docs" / "track.parquet", floor_docs, scratch)
        shutil.rmtree(stage, ignore_errors=True)
    cpu0 = _cpu()
    report = build.build_index(archive)
    cpu = _cpu() - cpu0
    size = sum(f.stat().st_size for f in archive.search_dir.rglob("*") if f.is_file())
    print(
        f"{n:>11,} tracks  index build {report.seconds:7.1f} s  {n / report.seconds:>9,.0f} tracks/s "
        f"({sum(report.documents.values()) / report.seconds:,.0f} docs/s)  "
        f"{size / n:6.0f} bytes/track  -> 256M: {256e6 / (n / report.seconds) / 60:,.0f} min, "
        f"{size / n * 256e6 / 1e9:,.0f} GB",
        flush=True,
    )
    docs = sum(report.documents.values())
    for which, rate in engine.items():  # the most any build of these documents could do here
        tracks = rate * n / docs  # (an index of n tracks holds its albums and artists too)
        print(
            f"{'':>11}  Tantivy alone, {which}, every core: {tracks:,.0f} tracks/s; this build "
            f"{n / report.seconds / tracks:.2f} of it; the goal {BUILD_GOAL:,} tracks/s "
            f"{BUILD_GOAL / tracks:.2f} x it",
            flush=True,
        )
    t = report.path / "tier"
    tier_bytes = sum(f.stat().st_size for f in t.rglob("*") if f.is_file())
    meta = (t / "tier.json").read_text() if (t / "tier.json").exists() else "(none)"
    print(
        f"{'':>11}  popular tier {report.tier_seconds:6.1f} s of it, {tier_bytes / 1e6:,.0f} MB: {meta}",
        flush=True,
    )
    print(
        f"{'':>11}  build CPU {cpu:7.1f} s (this process and its shards): "
        f"{cpu / docs * 1e6:.1f} us/doc; load average after: {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (the shards)."""
    import resource

    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(
    n: int,
    scratch: Path,
    queries: int,
    floor_docs: int,
    profile: str | None,
    peers: bool,
    reuse: bool = False,
    untiered: bool = False,
    letters: int = 3,
) -> None:
    from longplay.archive import Archive
    from longplay.catalog.sources import ingest_synthetic
    from longplay.catalog.store import CatalogStore
    from longplay.search import engine, layout
    from longplay.search.build import build_index

    root = scratch / f"archive-{n}"
    if not (root / "catalog" / "CURRENT").exists():
        shutil.rmtree(root, ignore_errors=True)
        t = time.perf_counter()
        ingest_synthetic(Archive.init(root), n, seed=1)
        print(f"{n:>11,} tracks  catalog generated in {time.perf_counter() - t:.0f} s", flush=True)
    archive = Archive.open(root)
    gen = CatalogStore(archive).current_name()
    if not (reuse or profile) or not layout.is_complete(layout.index_dir(archive, gen or "")):
        _build(archive, n, scratch, floor_docs)
    else:
        build_index(archive)
    with CatalogStore(archive).read() as con:
        mix = _mix(con, queries, random.Random(7), letters)
        index = engine.open_current(archive)
        if profile is not None:
            _profile(index, profile, mix[profile])
            return
        print(
            f"{'engine':>8} {'class':>8} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'cpu p50':>8} {'cpu p99':>8}",
            flush=True,
        )
        tier = index.tier
        ours: dict[str, float] = {}
        for label in ("longplay", "no-tier") if untiered and tier is not None else ("longplay",):
            index.tier = tier if label == "longplay" else None  # the same index, tier unused
            ours = ours or _longplay(index, mix, label)
        index.tier = tier
        if peers:
            theirs = _peers(con, n, scratch, mix)
            _key_goal(ours, theirs, _answer_floors(index))
        _shuffle(index)


def _longplay(index, mix: dict, label: str) -> dict[str, float]:
    """The query mix through Longplay's library call: p50/p99 per class (p99s returned), typo
    recall.

    The lexicon's and the builder's caches are emptied first, so a second run over the same
    queries does not find their one-edit spellings and completions computed (the index's pages,
    though, are warm for it)."""
    from longplay.search.lexicon import Lexicon
    from longplay.search.query import Builder

    for cached in (Lexicon.near, Lexicon.completions, Lexicon.near_completions):
        cached.cache_clear()
    Builder._completions.cache_clear()
    hits: dict[str, list[list[int]]] = {}
    p99: dict[str, float] = {}
    for cls, items in mix.items():
        times, cpu, hits[cls] = [], [], []
        for q, m, _ in items:
            t, c = time.perf_counter(), time.process_time()
            page = _lp_query(index, cls, q, m)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            hits[cls].append([h.id for h in page.hits])
        p99[cls] = _line(label, cls, times, cpu)
    want = [w for _, _, w in mix["typo"]]
    got = sum(w in h[:10] for w, h in zip(want, hits["typo"], strict=True))
    print(
        f"typo recall (right track in top 10): {label} {got / len(want):.1%} of {len(want)}",
        flush=True,
    )
    return p99


def _peers(con, n: int, scratch: Path, mix: dict) -> dict[str, float]:
    """FTS5 (built here, timed) and a DuckDB ILIKE scan on the same queries; typo recall.
    Returns FTS5's p99 ms by class."""
    fts_db = scratch / f"fts-{n}.sqlite"
    fts_s = _fts_build(con, fts_db)
    print(
        f"{'':>11}  FTS5 build {fts_s:7.1f} s  {n / fts_s:>9,.0f} tracks/s  "
        f"{fts_db.stat().st_size / n:6.0f} bytes/track",
        flush=True,
    )
    s = sqlite3.connect(fts_db)
    fts_hits: list[list[int]] = []
    p99: dict[str, float] = {}
    for cls, items in mix.items():
        times = []
        for _q, m, _ in items:
            t = time.perf_counter()
            got = _fts_query(s, cls, m)
            times.append(time.perf_counter() - t)
            if cls == "typo":
                fts_hits.append(got)
        p99[cls] = _line("fts5", cls, times)
    s.close()
    for cls, items in mix.items():  # the naive scan: a few queries are enough to see it
        times = []
        for q, _m, _ in items[:5]:
            word = q.split()[0].split(":")[-1] if q else ""
            t = time.perf_counter()
            con.execute(
                "SELECT track_id, title FROM tracks WHERE title ILIKE ? OR isrc = ? LIMIT 20",
                [f"%{word}%", word.upper()],
            ).fetchall()
            times.append(time.perf_counter() - t)
        _line("ilike", cls, times)
    want = [w for _, _, w in mix["typo"]]
    fts = sum(w in h[:10] for w, h in zip(want, fts_hits, strict=True))
    print(f"typo recall (right track in top 10): FTS5 {fts / len(want):.1%}", flush=True)
    return p99


def _key_goal(ours: dict[str, float], theirs: dict[str, float], floor: dict[str, float]) -> None:
    """Each class against the goal (10 x faster than FTS5 at p99); for the key classes, the
    goal's p99 against the least Longplay's answer can cost (``_answer_floors``)."""
    for cls in ours:
        if cls == "typo":  # (FTS5 has no typo tolerance: it finds none of them)
            print(f"  vs FTS5 {cls:>8}: no peer (see the recall above)", flush=True)
            continue
        line = f"  vs FTS5 {cls:>8}: {theirs[cls] / ours[cls]:7.1f} x faster at p99 (goal 10)"
        if cls in floor:
            goal = theirs[cls] / 10
            line += (
                f"; the goal's p99 {goal:.3f} ms, the floor of an answer {floor[cls]:.3f} ms "
                f"({floor[cls] / goal:.1f} x the goal)"
            )
        print(line, flush=True)


def _shuffle(index) -> None:
    from longplay.search import shuffle

    for label, f in (
        ("all", None),
        ("genre rock", shuffle.Filters(genre="rock")),
        ("pop >= 60", shuffle.Filters(min_popularity=60)),
    ):
        shuffle.draw(index, n=1, seed=1, filters=f)  # (the filter's mask, once a session)
        t = time.perf_counter()
        page = shuffle.draw(index, n=1000, seed=1, position=1, filters=f)
        per = (time.perf_counter() - t) / 1000
        print(
            f"shuffle draw ({label}, {page.matching:,} tracks): {per * 1000:.3f} ms/draw",
            flush=True,
        )
    _shuffle_parts(index)


def _shuffle_parts(index) -> None:
    """Where a draw's time goes: the permutation (constant time whatever the size) against
    the page's stored documents, and the floor of those: one random track's document by ID."""
    from tantivy import Query

    from longplay.search import shuffle
    from longplay.search.holdings import NoHoldings

    perm = shuffle.Permutation(index.counts["track"], 1)
    t = time.perf_counter()
    ords = [perm(k) for k in range(1, 10_001)]
    per_perm = (time.perf_counter() - t) / len(ords)
    track_id = shuffle._columns(index.path).track_id
    ids = [int(track_id[o]) for o in ords[:1000]]
    t = time.perf_counter()
    shuffle._tracks(index, ids, NoHoldings())
    per_doc = (time.perf_counter() - t) / len(ids)
    picks = [int(track_id[o]) for o in ords[5000:5500]]
    t = time.perf_counter()
    for i in picks:
        index.searcher.doc(
            index.searcher.search(Query.term_query(index.schema, "id", i), 1).hits[0][1]
        )
    per_floor = (time.perf_counter() - t) / len(picks)
    print(
        f"shuffle parts at {index.counts['track']:,} tracks: permutation {per_perm * 1e6:.1f} "
        f"us/draw; the page's documents {per_doc * 1e6:.1f} us/track; floor, one random "
        f"track's document by ID {per_floor * 1e6:.1f} us",
        flush=True,
    )


def _line(engine: str, cls: str, times: list[float], cpu: list[float] | None = None) -> float:
    """Wall-clock p50/p99 (returned, ms); for Longplay also the process's CPU time (the machine
    is shared)."""
    own = f" {_pct(cpu, 0.5):>8.2f} {_pct(cpu, 0.99):>8.2f}" if cpu else ""
    print(
        f"{engine:>8} {cls:>8} {len(times):>4} {_pct(times, 0.5):>8.2f} {_pct(times, 0.99):>8.2f}"
        + own,
        flush=True,
    )
    return _pct(times, 0.99)


def _answer_floors(index, n: int = 1000) -> dict[str, float]:
    """p99 ms of the least an answer of the key classes costs in this process: an ISRC's one
    stored document, read by an address in hand, and a listing page's 20 ``Hit`` objects made
    from values in hand (nothing read). FTS5 answers both with a B-tree probe in C."""
    from tantivy import Query

    from longplay.search import shuffle
    from longplay.search.engine import Hit

    perm = shuffle.Permutation(index.counts["track"], 2)
    track_id = shuffle._columns(index.path).track_id
    addrs = [
        index.searcher.search(Query.term_query(index.schema, "id", int(track_id[perm(k)])), 1).hits[
            0
        ][1]
        for k in range(1, n + 1)
    ]
    reads = []
    for a in addrs:
        t = time.perf_counter()
        index.searcher.doc(a)
        reads.append(time.perf_counter() - t)
    values = {"kind": "track", "id": 1, "ord": 1, "title": "t", "artists": "a", "album": "b"}
    pages = []
    for _ in range(n):
        t = time.perf_counter()
        [Hit(**values, year=2001, isrcs=["X"], popularity=1) for _ in range(20)]
        pages.append(time.perf_counter() - t)
    return {"isrc": _pct(reads, 0.99), "empty": _pct(pages, 0.99)}


def _profile(index, cls: str, items: list[tuple[str, str, int]]) -> None:
    """cProfile over one class's Longplay queries: where the time of the slow class goes."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for q, m, _ in items:
        _lp_query(index, cls, q, m)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--quick", action="store_true", help="100k tracks, 50 queries a class")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--floors", type=int, default=50_000, help="documents for the feed floors")
    ap.add_argument(
        "--profile",
        choices=["common", "rare", "typo", "prefix", "letter", "field", "isrc", "empty"],
    )
    ap.add_argument("--dir", default="/tmp/lp-bench-search")
    ap.add_argument("--no-peers", action="store_true", help="Longplay only: no FTS5 or ILIKE")
    ap.add_argument("--reuse", action="store_true", help="Query an index already built")
    ap.add_argument(
        "--untiered", action="store_true", help="Also run the mix without the popular tier"
    )
    ap.add_argument(
        "--prefix-letters", type=int, default=3, help="letters of a prefix query's last word"
    )
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.queries = "100000", 50
    scratch = Path(args.dir)
    scratch.mkdir(parents=True, exist_ok=True)
    print(
        "vocabulary: 120,000 generated words, Zipf rank^-1 (offset 2.7); titles 1-6 words; "
        "10% diacritics, 3% CJK (catalog/sources/vocabulary.py)",
        flush=True,
    )
    for n in (int(x) for x in args.sizes.split(",")):
        run(
            n,
            scratch,
            args.queries,
            args.floors,
            args.profile,
            not args.no_peers,
            args.reuse,
            args.untiered,
            args.prefix_letters,
        )


if __name__ == "__main__":
    main()
