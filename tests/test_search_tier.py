"""The popular tier (search.tier) and the tiered order (search.ranking), on real indexes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tantivy

from longplay.archive import Archive
from longplay.catalog.sources import ingest_flat, ingest_synthetic
from longplay.catalog.store import CatalogStore
from longplay.search import engine, fields, query, ranking, tier
from longplay.search.build import build_index
from longplay.search.holdings import StaticHoldings
from longplay.search.syntax import parse
from test_search import _record

# (key, title, artist, album, popularity): "zanquor" in titles and albums, popular and not.
SONGS = [
    ("z1", "Zanquor", "Star", "Gold", 97),
    ("z2", "Zanquor", "Unknown", "Basement", 0),
    ("z3", "Zanquor Nights", "Nobody", "Tapes", 1),
    ("z4", "Morning", "Star", "Zanquor Hits", 96),
    ("v1", "Vorplex Quintaran", "Nobody", "Tapes", 0),
    ("v2", "Vorplex Stravulent", "Nobody", "Tapes", 0),
]


def _ids(a: Archive, sql: str) -> list[int]:
    with CatalogStore(a).read() as con:
        return [r[0] for r in con.execute(sql).fetchall()]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    a = Archive.init(tmp_path_factory.mktemp("tier") / "a")
    ingest_synthetic(a, 4000, seed=5)
    flat = a.root.parent / "songs.jsonl"
    flat.write_text("\n".join(json.dumps(_record(*s)) for s in SONGS) + "\n")
    ingest_flat(a, [flat], "hand")
    # Held: every tenth track, popular or not, so held-only pages draw on both tiers.
    held = _ids(a, "SELECT track_id FROM tracks WHERE hash(track_id) % 10 = 0")
    build_index(a, workers=1, holdings=StaticHoldings(held))
    return a


def _titles(page: engine.Page) -> list[str]:
    return [h.title for h in page.hits]


def _in_tier(index: engine.SearchIndex, h: engine.Hit) -> bool:
    assert index.tier is not None
    return index.tier.holds(fields.KINDS.index(h.kind), h.popularity)


def _count(index: engine.SearchIndex, text: str, kind: str | None, held: bool) -> int:
    """Every document matching ``text`` in the whole index, counted by Tantivy."""
    q = index.builder.build(parse(text), edits=0, filters=index._filters(kind, held))
    return int(index.searcher.search(q, 1, count=True).count)  # type: ignore[attr-defined]


def test_tier_holds_the_popular_few(archive: Archive) -> None:
    index = engine.open_current(archive)
    assert index.tier is not None
    t = index.tier
    assert 0 < t.documents["track"] <= tier.FRACTION * index.counts["track"]
    assert t.searcher.num_docs == sum(t.documents.values())
    # The threshold is the cut: every track at or above it is in the tier, none below.
    pops = _ids(archive, "SELECT popularity FROM tracks")
    assert sum(p >= t.thresholds["track"] for p in pops) == t.documents["track"]
    assert sum(p >= t.thresholds["track"] - 1 for p in pops) > tier.FRACTION * len(pops)


def test_popular_exact_title_first_then_the_tail(archive: Archive) -> None:
    page = engine.search(archive, "zanquor", kind="track")
    got = [(h.title, h.artists) for h in page.hits]
    # The popular exact title first; the popular album-only match is not a strong match, so
    # it ranks with the whole index's others, after the tail's title matches.
    assert got[0] == ("Zanquor", "Star")
    assert set(got) == {
        ("Zanquor", "Star"),
        ("Zanquor", "Unknown"),
        ("Zanquor Nights", "Nobody"),
        ("Morning", "Star"),
    }
    assert page.total == 4 and page.total_exact


def test_specific_tail_title_on_page_one(archive: Archive) -> None:
    index = engine.open_current(archive)
    # A common word of the synthetic vocabulary: many popular tracks hold it strongly ...
    common = engine.search(archive, "shiviris", kind="track", limit=20)
    assert len(common.hits) == 20 and all(_in_tier(index, h) for h in common.hits)
    # ... yet a tail title is found at once when asked specifically, alone or with it.
    assert engine.search(archive, "vorplex quintaran").hits[0].title == "Vorplex Quintaran"
    assert engine.search(archive, "vorplex quin").hits[0].title == "Vorplex Quintaran"
    assert engine.search(archive, "vorplx quintaran").hits[0].title == "Vorplex Quintaran"
    assert engine.search(archive, "title:quintaran").hits[0].title == "Vorplex Quintaran"


@pytest.mark.parametrize("starts", [True, False])
def test_last_word_completed_from_the_other_words_matches(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, starts: bool
) -> None:
    """A word being typed that is not among its prefix's most frequent completions: found
    through its ``starts`` term, or (an index built before that field, and words of four or
    more letters) through the documents the other words match (before, the typo passes)."""
    index = engine.open_current(archive)
    monkeypatch.setattr(index.builder, "starts", starts)
    assert index.builder.lexicon is not None
    assert "stravulent" not in index.builder.lexicon.completions("st", query.PREFIX_TERMS)
    page = engine.search(archive, "vorplex st")
    assert _titles(page) == ["Vorplex Stravulent"] and not page.typo_pass
    assert _titles(engine.search(archive, "vorplex stravul")) == ["Vorplex Stravulent"]
    assert engine.search(archive, "vorplex stz").hits == []


def test_completions_from_tantivy_or_the_stored_documents_alike(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last word's completions among the other words' matches: checked in the stored
    documents when few, by a Tantivy query when many; the same documents either way. (A last
    word of two to four letters is completed by the exact pass itself: nothing to add.)"""
    from longplay.search import passes

    index = engine.open_current(archive)
    filters = index._filters("track", False)
    assert index.builder.started("stra") and not index.builder.started("strav")
    assert passes.completed(index.builder, parse("vorplex st"), filters, index.searcher) == []
    for text in ("shiviris fetan", "vorplex strav", "zanquor night", "vorplex stzzz"):
        p = parse(text)
        got = {}
        for few in (0, 10_000):
            monkeypatch.setattr(passes, "READ_FEW", few)
            ranked = passes.completed(index.builder, p, filters, index.searcher)
            got[few] = [(a.segment_ord, a.doc) for _, _, a in ranked]
        assert got[0] == got[10_000], text
        assert bool(got[0]) == (text != "vorplex stzzz"), text


def test_words_in_typed_order_group_before_the_whole_indexs_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Popular tracks hold both words (title and artist), enough to fill a page from the tier;
    tail tracks too; one obscure title has them in the typed order. A typo query puts that one
    first (the typed order tells the meant track among near spellings), an exact one after the
    tier's strong matches and before the tail's other matches (search.passes)."""
    a = Archive.init(tmp_path / "a")
    ingest_synthetic(a, 1000, seed=9)
    songs = [(f"p{i}", "Quorvane", "Velistra", f"Album {i}", 99) for i in range(30)]
    songs += [(f"t{i}", "Quorvane", "Velistra", f"Tape {i}", 0) for i in range(5)]
    songs.append(("o1", "Velistra Quorvane", "Nobody", "Tapes", 0))
    flat = tmp_path / "songs.jsonl"
    flat.write_text("\n".join(json.dumps(_record(*s)) for s in songs) + "\n")
    ingest_flat(a, [flat], "hand")
    build_index(a, workers=1)
    index = engine.open_current(a)
    popular = [_in_tier(index, h) for h in index.search("velistra", limit=50, kind="track").hits]
    assert sum(popular) == 30
    pair = tantivy.Query.term_query(index.schema, fields.PAIRS, "velistra_quorvane")
    assert index.searcher.search(pair, 10).hits and index.builder.pairs  # the title's pair

    def who(hits: list[engine.Hit]) -> list[tuple[str, int]]:
        return [(h.artists, h.popularity) for h in hits]

    typo = index.search("velitsra quorvnae", limit=20, kind="track")
    assert typo.typo_pass and who(typo.hits) == [("Nobody", 0)] + [("Velistra", 99)] * 19
    rest = index.search("velitsra quorvnae", limit=20, offset=20, kind="track")
    assert who(rest.hits) == [("Velistra", 99)] * 11 and rest.total == 31 and rest.total_exact
    ids = [h.id for h in typo.hits + rest.hits]
    assert len(ids) == len(set(ids)) == 31
    # The tail's near spellings in another order are shown only when nothing better is found.
    # ("tapse": the albums "Tapes" and "Tape N", not in any title)
    alone = index.search("velitsra quorvnae tapse", kind="track")
    assert alone.typo_pass and sorted(who(alone.hits)) == [("Nobody", 0)] + [("Velistra", 0)] * 5
    exact = index.search("velistra quor", limit=50, kind="track")
    assert not exact.typo_pass
    assert who(exact.hits) == [("Velistra", 99)] * 30 + [("Nobody", 0)] + [("Velistra", 0)] * 5
    # A last word whose completions are not asked (none here; at 10M, a word 4,000+ documents
    # hold): the in-order group completes it after the other words, and the documents holding
    # a completion elsewhere follow (search.passes.completed), each once.
    monkeypatch.setattr(query, "PREFIX_TERMS", 0)
    typed = index.search("velistra quorv", limit=50, kind="track")  # (not asked above: cached)
    assert who(typed.hits) == [("Nobody", 0)] + [("Velistra", 99)] * 30 + [("Velistra", 0)] * 5


@pytest.mark.parametrize(("kind", "held"), [(None, False), ("track", False), ("track", True)])
def test_pages_span_tier_and_tail_without_gaps(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, kind: str | None, held: bool
) -> None:
    """Small windows, so the pages cross windows and the tier's end; the pages together are
    the one long page, and that is every match exactly once."""
    monkeypatch.setattr(ranking, "WINDOW", 16)
    index = engine.open_current(archive)
    query = "shiviris"
    whole = index.search(query, limit=500, kind=kind, held_only=held)
    pages: list[engine.Hit] = []
    while True:
        page = index.search(query, limit=7, offset=len(pages), kind=kind, held_only=held)
        pages.extend(page.hits)
        if len(page.hits) < 7:
            break
    ids = [(h.kind, h.id) for h in pages]
    assert ids[:500] == [(h.kind, h.id) for h in whole.hits]
    assert len(set(ids)) == len(ids) == _count(index, query, kind, held)
    tiers = [_in_tier(index, h) for h in pages]
    assert tiers[0] and not all(tiers)  # both tiers are in it, the tier's strong ones first
    if kind is not None:
        assert {h.kind for h in pages} == {kind}
    if held:
        assert all(h.held for h in pages) and any(tiers) and not all(tiers)
    # Stable: the same query, the same page.
    again = index.search(query, limit=7, offset=21, kind=kind, held_only=held)
    assert [h.id for h in again.hits] == [h.id for h in pages[21:28]]


def test_kinds_from_both_tiers(archive: Archive) -> None:
    index = engine.open_current(archive)
    for kind in fields.KINDS:
        page = index.search("shiviris", kind=kind, limit=200)
        assert page.hits and {h.kind for h in page.hits} == {kind}, kind
        every = _count(index, "shiviris", kind, False)
        assert page.total <= every and (page.total == every) == page.total_exact, kind


def test_tier_resumes_after_kill(archive: Archive, tmp_path: Path) -> None:
    """A kill -9 while the tier is written: the rerun writes it whole, and every answer is
    the uninterrupted build's."""
    a = Archive.init(tmp_path / "a")
    ingest_synthetic(a, 4000, seed=5)
    flat = tmp_path / "songs.jsonl"
    flat.write_text("\n".join(json.dumps(_record(*s)) for s in SONGS) + "\n")
    ingest_flat(a, [flat], "hand")
    held = _ids(a, "SELECT track_id FROM tracks WHERE hash(track_id) % 10 = 0")
    code = f"""
import os, signal, duckdb
os.environ['LONGPLAY_NO_PROGRESS'] = '1'
from pathlib import Path
from longplay.archive import Archive
from longplay.search import build, tier
from longplay.search.holdings import StaticHoldings
tier.BATCH = 20
real = duckdb.connect
class Con:  # the third batch of the tier's documents is never fed: killed mid-way
    def __init__(self):
        self.c, self.n = real(), 0
    def execute(self, sql, *args):
        r = self.c.execute(sql, *args)
        return self if 'ORDER BY popularity' in sql else r
    def fetchmany(self, n):
        self.n += 1
        if self.n == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return self.c.fetchmany(n)
    def close(self):
        self.c.close()
tier.duckdb = type('D', (), {{'connect': staticmethod(Con)}})
build.build_index(Archive.open(Path({str(a.root)!r})), workers=1,
                  holdings=StaticHoldings({held!r}))
"""
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    partial = a.search_dir / "gen-000002.partial"
    assert (partial / (tier.DIR + ".tmp")).is_dir() and not (partial / tier.DIR).exists()
    build_index(a, workers=1, holdings=StaticHoldings(held))
    x, y = engine.open_current(a), engine.open_current(archive)
    assert x.tier is not None and y.tier is not None
    assert (x.tier.thresholds, x.tier.documents) == (y.tier.thresholds, y.tier.documents)
    assert not (x.path / (tier.DIR + ".tmp")).exists()
    for q in ("shiviris", "zanquor", "vorplex quin", "fetan dugr", "quen"):
        for held_only in (False, True):
            p, r = (
                x.search(q, limit=50, held_only=held_only),
                y.search(q, limit=50, held_only=held_only),
            )
            assert [h.id for h in p.hits] == [h.id for h in r.hits], q
            assert p.total == r.total, q


def test_index_without_tier_answers_from_the_whole(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index built before the tier: the same matches, one group, pages without gaps."""
    monkeypatch.setattr(ranking, "WINDOW", 16)
    path = engine.open_current(archive).path
    old = tmp_path / path.name
    shutil.copytree(path, old, ignore=shutil.ignore_patterns(tier.DIR))
    bare, full = engine.SearchIndex(old), engine.SearchIndex(path)
    assert bare.tier is None and full.tier is not None

    def every_page(index: engine.SearchIndex) -> list[int]:
        out: list[int] = []
        while hits := index.search("shiviris", limit=9, offset=len(out), kind="track").hits:
            out.extend(h.id for h in hits)
        return out

    pages, tiered = every_page(bare), every_page(full)
    assert len(pages) == len(set(pages)) == _count(bare, "shiviris", "track", False)
    assert set(pages) == set(tiered) and pages != tiered  # the same matches, another order


def test_a_started_last_word_hosted_by_the_rarest_other_word_matches_alike(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A last word of two to four letters after other words: its ``starts`` term required
    within each field match of the rarest other word (``Builder._host``) matches the same
    documents in the same order as the same term required beside the words."""
    index = engine.open_current(archive)
    builder = index.builder

    def ranked(text: str) -> list[tuple[float, tuple[int, int]]]:
        q = builder.build(parse(text), edits=0, filters=[])
        hits = index.searcher.search(q, 5000).hits
        return sorted((-s, (a.segment_ord, a.doc)) for s, a in hits)

    texts = (
        "shiviris st",
        "zanquor ni",
        "vorplex st",
        "shiviris fe",
        "star zan",
        "star zanquor mo",
    )
    hosted = {t: ranked(t) for t in texts}
    assert builder._host(parse("shiviris st"), fields.TEXT_FIELDS, 0, True) is not None
    monkeypatch.setattr(builder, "_host", lambda *a: None)
    for text in texts:
        plain = ranked(text)
        assert hosted[text], text
        assert [a for _, a in hosted[text]] == [a for _, a in plain], text
        # The required term scores 1 beside the words, 0 inside them: the order is the same.
        pairs = zip(hosted[text], plain, strict=True)
        assert all(abs((y - x) + 1.0) < 1e-3 for (x, _), (y, _) in pairs), text
