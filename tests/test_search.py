"""Search and shuffle on a real DuckDB catalog and a real Tantivy index."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import tantivy

from longplay.archive import Archive
from longplay.catalog.sources import ingest_flat, ingest_synthetic
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError
from longplay.search import engine, fields, layout, lexicon, shuffle
from longplay.search.build import build_index
from longplay.search.holdings import StaticHoldings
from longplay.search.lexicon import Lexicon
from longplay.search.syntax import parse

SONGS = [
    ("q1", "Bohemian Rhapsody", "Queen", "A Night at the Opera", 95, "GBUM71029604"),
    ("q2", "Bohemian Rhapsody", "Tribute Band", "Covers", 10, "USXXX0000001"),
    ("q3", "Bohemian Rhapsody (Live)", "Queen", "Live Killers", 60, "GBUM71029605"),
    ("b1", "Jóga", "Björk", "Homogenic", 70, "GBAAA9700001"),
    ("b2", "Halo", "Beyoncé", "I Am... Sasha Fierce", 80, "USSM10804554"),
    ("c1", "光の港", "山下達郎", "海の歌", 40, "JPAB00000001"),
    # The same words: in another order and popular, or in the typed order and obscure.
    ("o1", "Trumbelet Glorvaxin Quandisor", "Famous", "Hits", 99, "USZZZ0000002"),
    ("o2", "Glorvaxin Trumbelet Quandisor", "Nobody", "Deep Cuts", 1, "USZZZ0000001"),
    # A title that is the words, obscure; longer titles holding them in order, less obscure.
    ("w1", "Quorvel Tamsidrin", "Nobody", "Deep Cuts", 0, "USZZZ0000003"),
    ("w2", "Quorvel Tamsidrin Lights", "Someone", "Night", 3, "USZZZ0000004"),
    ("w3", "Old Quorvel Tamsidrin", "Another", "Day", 4, "USZZZ0000005"),
]


def _record(
    key: str, title: str, artist: str, album: str, pop: int, isrc: str | None = None
) -> dict:
    """A flat track record with one artist (test_search_tier.py's songs have no ISRC)."""
    return {
        "track_key": key,
        "title": title,
        "isrc": isrc,
        "popularity": pop,
        "duration_ms": 200_000,
        "genres": ["rock"],
        "artists": [{"key": artist, "name": artist, "mbid": None, "join_phrase": ""}],
        "album_key": album,
        "album_title": album,
        "release_date": "1975-10-31",
        "album_artists": [{"key": artist, "name": artist, "mbid": None, "join_phrase": ""}],
    }


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    a = Archive.init(tmp_path_factory.mktemp("search") / "a")
    ingest_synthetic(a, 3000, seed=5)
    flat = a.root.parent / "songs.jsonl"
    flat.write_text("\n".join(json.dumps(_record(*s)) for s in SONGS) + "\n")
    ingest_flat(a, [flat], "hand")
    build_index(a, workers=1)
    return a


def _titles(page: engine.Page) -> list[str]:
    return [h.title for h in page.hits]


def test_folding_cjk_prefix_and_typos(archive: Archive) -> None:
    assert "Jóga" in _titles(engine.search(archive, "Bjork"))
    assert "Halo" in _titles(engine.search(archive, "beyonce halo"))
    assert "光の港" in _titles(engine.search(archive, "港"))
    assert _titles(engine.search(archive, "bohemian rhaps"))[0] == "Bohemian Rhapsody"
    typo = engine.search(archive, "quen bohemain")
    assert typo.typo_pass and typo.hits[0].title == "Bohemian Rhapsody"
    assert typo.hits[0].artists == "Queen"
    # Every typo'd word matches both tracks alike; the words in order in the title decide.
    swapped = engine.search(archive, "glorvaxni turmbelet quandisro")
    assert swapped.typo_pass and [h.artists for h in swapped.hits] == ["Nobody", "Famous"]


def test_a_single_letter_lists_the_most_popular_words_it_starts(archive: Archive) -> None:
    """The first key typed in a search box: every popular title or artist with a word starting
    with it, most popular first (as its few most frequent completions it found none of these:
    the synthetic catalog's b-words outnumber "bohemian" and "beyoncé")."""
    page = engine.search(archive, "b", limit=5, kind="track")
    assert [(h.title, h.popularity) for h in page.hits[:4]] == [
        ("Bohemian Rhapsody", 95),
        ("Halo", 80),  # Beyoncé
        ("Jóga", 70),  # Björk: folded, "bjork" starts with b
        ("Bohemian Rhapsody (Live)", 60),
    ]
    every = engine.search(archive, "B", limit=40)
    assert len(every.hits) == 40
    fold = fields.analyzer().analyze
    for h in every.hits:
        assert any(t.startswith("b") for t in fold(f"{h.title} {h.artists} {h.album}")), h
    assert _titles(engine.search(archive, "q", limit=3, kind="track"))[:2] == [
        "Trumbelet Glorvaxin Quandisor",
        "Bohemian Rhapsody",  # Queen
    ]
    # The tier's letter term scores alike in every document (so Tantivy can stop at the first
    # k, which are the most popular: the tier's document order).
    tier = engine.open_current(archive).tier
    assert tier is not None
    term = tantivy.Query.term_query(tier.schema, fields.INITIALS, "0b")  # tracks
    scores = {round(s, 6) for s, _ in tier.searcher.search(term, 100).hits}
    assert len(scores) == 1
    # After other words a letter still keeps to the typed order (the in-order pairs).
    assert _titles(engine.search(archive, "bohemian r", limit=5)) == [
        "Bohemian Rhapsody",
        "Bohemian Rhapsody (Live)",
        "Bohemian Rhapsody",
    ]


def test_lexicon_expands_typos_and_prefixes(archive: Archive) -> None:
    index = engine.open_current(archive)
    lex = Lexicon.open(index.path)
    assert lex is not None
    assert "bohemian" in lex.near("bohemain")  # a transposition is one edit
    assert "queen" in lex.near("quen") and "queen" not in lex.near("queen")
    assert "rhapsody" in lex.completions("rhap", 8) and lex.completions("zzzq", 8) == ()
    assert "rhapsody" in lex.near_completions("rhpas", 8)  # a typo in the word being typed
    assert lex.frequency("bohemian") >= 3 and lex.frequency("bohemiann") == 0


def test_typo_passes_run_only_as_far_as_a_word_allows(archive: Archive) -> None:
    index = engine.open_current(archive)
    edits = index.builder.max_edits
    # Words of 4+ letters allow one edit, of 8+ two; CJK and quoted words none.
    assert edits(parse("the ni")) == 0 and edits(parse("港 abc")) == 0
    assert edits(parse("quen ni")) == 1 and edits(parse("bohemain")) == 2
    assert edits(parse("title:rhapsodie")) == 2 and edits(parse('title:"rhapsodie"')) == 0
    # A miss of short words ends after the exact pass (a typo pass would build the same query).
    miss = engine.search(archive, "qx zv", limit=5)
    assert miss.total == 0 and not miss.typo_pass
    # A word that can be misspelled still gets its typo pass.
    typo = engine.search(archive, "quen", limit=5, kind="artist")
    assert typo.typo_pass and typo.hits[0].title == "Queen"


def test_typo_pass_without_lexicon_answers_alike(archive: Archive, tmp_path: Path) -> None:
    """An index built before the lexicon falls back to Tantivy's automata, same answers."""
    path = engine.open_current(archive).path
    old = tmp_path / path.name
    shutil.copytree(path, old, ignore=shutil.ignore_patterns(lexicon.FILE))
    bare, full = engine.SearchIndex(old), engine.SearchIndex(path)
    assert bare.builder.lexicon is None and full.builder.lexicon is not None
    for q in ("quen bohemain", "glorvaxni turmbelet quandisro", "bohemian rhpas", "halo beyonec"):
        x, y = bare.search(q, limit=5), full.search(q, limit=5)
        assert x.typo_pass and y.typo_pass, q
        assert [h.id for h in x.hits[:2]] == [h.id for h in y.hits[:2]], q


def test_two_edits_from_the_lexicons_index_or_the_automaton_alike(
    archive: Archive, tmp_path: Path
) -> None:
    """Two edits in a word of 8+ letters: the lexicon's own index (``spell``) or, for a
    lexicon written before it, Tantivy's automaton over the whole index; same first hits."""
    path = engine.open_current(archive).path
    old = tmp_path / path.name
    shutil.copytree(path, old, ignore=shutil.ignore_patterns(lexicon.SPELL))
    bare, full = engine.SearchIndex(old), engine.SearchIndex(path)
    assert bare.builder.lexicon is not None and bare.builder.lexicon.spell is None
    assert full.builder.lexicon is not None and full.builder.lexicon.spell is not None
    assert "bohemian" in (full.builder.lexicon.within_two("bohmeain", False, 64) or ())
    for q in ("queen bohmeain", "bohmeain rhapsdoy", "queen bohmeian rhap"):
        x, y = bare.search(q, limit=5), full.search(q, limit=5)
        assert x.typo_pass and y.typo_pass, q
        assert y.hits and y.hits[0].title.startswith("Bohemian Rhapsody"), q
        assert [h.id for h in x.hits[:2]] == [h.id for h in y.hits[:2]], q


@pytest.mark.parametrize(
    "title",
    [
        "Björk's Ode — to STRAßE",
        "don't stop",
        "one",
        "",
        "光の港 x",
        "Hello,World!! 2001",
        "x" * 50 + " short words",
        "Ça va, ÉTÉ   naïve_café",
    ],
)
def test_pairs_and_full_title_split_as_the_analyzer(title: str) -> None:
    """DuckDB writes each document's neighbouring title words, and its title's words as one
    term; the query side pairs and joins the analyzer's words: both must give the same terms."""
    import duckdb

    from longplay.search import fields
    from longplay.search.texts import full_title_sql, pair_sql

    con = duckdb.connect()
    text, full = con.execute(
        f"SELECT {pair_sql('t')}, {full_title_sql('t')} FROM (SELECT ?::VARCHAR AS t)", [title]
    ).fetchone()
    indexed = fields.pair_analyzer().analyze(text) if text is not None else []
    words = fields.analyzer().analyze(title)
    assert indexed == [fields.pair(a, b) for a, b in itertools.pairwise(words)]
    indexed = fields.pair_analyzer().analyze(full) if full is not None else []
    assert indexed == ([fields.full_title(words)] if words else [])


def _folded_words(text: str) -> list[str]:
    """The analyzer's words of ``text`` without its length limit (``starts`` and ``initials``
    keep the start of a word of 40+ bytes, which the text fields drop)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
        .analyze(text)
    )


@pytest.mark.parametrize(
    "title",
    [
        "Björk's Ode — to STRAßE",
        "Ærø Œuvre þorn ßx",
        "a b",
        "",
        "光の港 x",
        "Hello,World!! 2001",
        "x" * 50 + " short words",
        "Ça va, ÉTÉ   naïve_café",
    ],
)
def test_starts_cut_from_the_analyzers_words(title: str) -> None:
    """DuckDB cuts each word to four characters and Tantivy to two, three and four; the query side
    cuts the analyzer's (folded) word: both must give the same terms, whatever the word folds
    to. (Words of 40+ bytes, which the text fields drop, keep their starts.)"""
    import duckdb

    from longplay.search import fields
    from longplay.search.texts import starts_sql

    con = duckdb.connect()
    (values,) = con.execute(
        f"SELECT {starts_sql('t', 't')} FROM (SELECT ?::VARCHAR AS t)", [title]
    ).fetchone()
    indexed = {t for v in values for t in fields.starts_analyzer().analyze(v)}
    words = _folded_words(title)
    assert indexed == {w[:n] for w in words if len(w) >= 2 for n in fields.STARTS_LENGTHS}


@pytest.mark.parametrize(
    ("title", "artists"),
    [
        ("Björk's Ode — to STRAßE", "Ærø, Œuvre"),
        ("þorn ßx", ""),
        ("a b", "Élan Vital"),
        ("光の港 x", "山下達郎"),
        ("Hello,World!! 2001", "x" * 50),
    ],
)
def test_initials_cut_from_the_analyzers_words(title: str, artists: str) -> None:
    """The popular tier's ``initials``: DuckDB cuts the title's and artists' words from the
    document's JSON after its kind code, Tantivy keeps the two; the query side takes the analyzer's
    one-letter word: both must give the same letter, whatever the word folds to."""
    import duckdb

    from longplay.search import fields
    from longplay.search.texts import initials_sql

    doc = json.dumps({"title": title, "artists": artists})
    con = duckdb.connect()
    (values,) = con.execute(
        f"SELECT {initials_sql('d', 'k')} FROM (SELECT ?::JSON AS d, 2 AS k)", [doc]
    ).fetchone()
    assert len(values) == fields.INITIALS_VALUES  # as many in every document: scores tie
    indexed = {t for v in values for t in fields.initials_analyzer().analyze(v)}
    indexed.discard(fields.INITIALS_FILLER)
    words = _folded_words(f"{title} {artists}")
    assert indexed == {f"2{w[0]}" for w in words}  # an artist's (kind 2) word's first letter


def test_last_word_of_two_or_three_letters_matches_every_completion(archive: Archive) -> None:
    """A last word being typed matches every word it starts, in any text field, not only
    its most frequent completions; a whole word typed still ranks its own matches first."""
    assert _titles(engine.search(archive, "queen bo", kind="track"))[0] == "Bohemian Rhapsody"
    assert "Jóga" in _titles(engine.search(archive, "homogenic bj"))  # folded, in the artist
    assert "Halo" in _titles(engine.search(archive, "fierce be", kind="track"))
    genre = engine.search(archive, "trumbelet roc", kind="track")  # the genre, "rock"
    assert {h.title for h in genre.hits} >= {"Trumbelet Glorvaxin Quandisor"}
    assert engine.search(archive, "queen zqx").hits == []


def test_in_order_by_pairs_or_by_regex_phrase_alike(archive: Archive) -> None:
    """The in-order groups of a typo pass from ``pairs`` or, for an index built before
    that field, from a regex phrase: the same tracks in the same order."""
    index = engine.open_current(archive)
    assert index.builder.pairs
    queries = [
        "glorvaxni turmbelet quandisro",
        "quen bohemain",
        "bohemain rhapsdoy",
        "trumbelt glorvaxn",
    ]
    with_pairs = [[h.id for h in index.search(q, limit=10).hits] for q in queries]
    index.builder.pairs = False
    try:
        without = [[h.id for h in index.search(q, limit=10).hits] for q in queries]
    finally:
        index.builder.pairs = True
    assert with_pairs == without and all(with_pairs)
    assert engine.search(archive, "bohemain rhapsdoy").hits[0].title.startswith("Bohemian Rhapsody")


def test_misspelled_artist_name_finds_the_artist_and_their_works(archive: Archive) -> None:
    """A two-word artist name with a typo: its words are in the typed order in the artists'
    names of the artist's albums and tracks too, so all of them are found (not only the
    artist, whose name is its title)."""
    page = engine.search(archive, "tribute bnad")
    assert page.typo_pass
    got = {(h.kind, h.title) for h in page.hits}
    assert got == {("artist", "Tribute Band"), ("album", "Covers"), ("track", "Bohemian Rhapsody")}


def test_a_title_that_is_the_words_comes_before_longer_ones(archive: Archive) -> None:
    """After the popular tier's matches, a title that is the typed words and nothing more
    comes first, typed whole, being typed or misspelt; longer titles holding the words in
    order follow, though more popular (score x popularity put the obscure one last)."""
    for q in ("quorvel tamsidrin", "quorvel tams", "qourvel tamsidrin", "quorvel tamsdirin"):
        page = engine.search(archive, q, kind="track")
        titles = _titles(page)
        assert titles[0] == "Quorvel Tamsidrin", q
        assert {"Quorvel Tamsidrin Lights", "Old Quorvel Tamsidrin"} <= set(titles), q
        assert page.typo_pass == (q[1] == "o" or "dirin" in q), q


def test_ranking_by_popularity_and_stability(archive: Archive) -> None:
    page = engine.search(archive, "bohemian rhapsody", kind="track")
    assert [(h.artists, h.popularity) for h in page.hits[:2]] == [("Queen", 95), ("Queen", 60)]
    assert page.hits[-1].artists == "Tribute Band"
    again = engine.search(archive, "bohemian rhapsody", kind="track")
    assert [h.id for h in again.hits] == [h.id for h in page.hits]
    kinds = {h.kind for h in engine.search(archive, "queen", limit=50).hits}
    assert kinds == {"track", "album", "artist"}


def test_field_syntax(archive: Archive) -> None:
    assert _titles(engine.search(archive, "isrc:GBUM71029604")) == ["Bohemian Rhapsody"]
    assert _titles(engine.search(archive, "isrc:gb-um7-10-29604")) == ["Bohemian Rhapsody"]
    page = engine.search(archive, 'artist:queen title:"bohemian rhapsody" kind', kind="track")
    assert page.total == 0  # "kind" is a free word no Queen track has
    page = engine.search(archive, 'artist:queen title:"bohemian rhapsody"', kind="track")
    assert {h.album for h in page.hits} == {"A Night at the Opera", "Live Killers"}
    page = engine.search(archive, "year:1975..1975 genre:rock", kind="track", limit=50)
    assert {h.title for h in page.hits} >= {"Halo", "Jóga"}
    assert all(h.year == 1975 for h in page.hits)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ('"unbalanced', "unbalanced quote"),
        ("colour:red", "unknown field colour:"),
        ("year:2005..2001", "empty range"),
        ("x" * 10_240, "10,240 characters"),
        ("abc\x07", "control character U+0007"),
        ("year:soon", "not a year"),
    ],
)
def test_bad_queries(archive: Archive, query: str, words: str) -> None:
    with pytest.raises(InputError, match=re.escape(words)) as info:
        engine.search(archive, query)
    assert "\n" not in str(info.value)


def test_empty_query_pages_by_key(archive: Archive) -> None:
    seen: list[int] = []
    after = None
    while True:
        page = engine.search(archive, "", kind="track", limit=500, after=after)
        seen.extend(h.id for h in page.hits)
        if page.next_after is None:
            break
        after = page.next_after
    assert len(seen) == len(set(seen)) == page.total == 3000 + len(SONGS)
    assert seen == sorted(seen)


def test_holdings_on_hits(archive: Archive) -> None:
    queen = engine.search(archive, "isrc:GBUM71029604").hits[0]
    tribute = engine.search(archive, "isrc:USXXX0000001").hits[0]
    h = StaticHoldings([queen.id], {tribute.id: ("longplay-t1", "Tribute Band/Covers/01.opus")})
    hits = {x.id: x for x in engine.search(archive, "bohemian rhapsody", holdings=h).hits}
    assert hits[queen.id].held and hits[queen.id].torrent is None
    assert not hits[tribute.id].held
    assert (hits[tribute.id].torrent, hits[tribute.id].path) == (
        "longplay-t1",
        "Tribute Band/Covers/01.opus",
    )


def test_permutation_is_a_bijection() -> None:
    for n in (1, 2, 7, 1000, 4097):
        p = shuffle.Permutation(n, seed=11)
        assert sorted(p(i) for i in range(n)) == list(range(n))


def test_shuffle_uniform_no_repeats_filters_spread(archive: Archive) -> None:
    index = engine.open_current(archive)
    # No repeats until every track has been drawn, then a fresh cycle.
    first = shuffle.draw(index, n=3006, seed=4)
    ids = [t.id for t in first.tracks]
    assert len(set(ids)) == 3006 and first.position == 3006
    # Uniform: the first draw over many seeds, chi-square over a 40-track filtered set.
    f = shuffle.Filters(min_popularity=40)
    matching = shuffle.draw(index, n=1, seed=0, filters=f).matching
    assert 5 < matching < 200
    counts = Counter(
        shuffle.draw(index, n=1, seed=s, filters=f).tracks[0].id for s in range(60 * matching)
    )
    assert len(counts) == matching
    chi2 = sum((c - 60) ** 2 / 60 for c in counts.values())
    dof = matching - 1
    assert chi2 < dof + 4 * (2 * dof) ** 0.5  # about p > 0.001
    # Filters hold for every draw; the session continues where it stopped.
    page = shuffle.draw(index, n=matching, seed=9, filters=f)
    assert all(t.popularity >= 40 for t in page.tracks)
    assert len({t.id for t in page.tracks}) == matching
    a = shuffle.draw(index, n=5, seed=9, filters=f)
    b = shuffle.draw(index, n=5, seed=9, position=a.position, filters=f)
    ten = shuffle.draw(index, n=10, seed=9, filters=f)
    assert [t.id for t in a.tracks + b.tracks] == [t.id for t in ten.tracks]
    # Spread: same tracks, no two neighbours by one artist where avoidable.
    plain = shuffle.draw(index, n=200, seed=2)
    spread = shuffle.draw(index, n=200, seed=2, spread=True)
    assert sorted(t.id for t in plain.tracks) == sorted(t.id for t in spread.tracks)
    same = sum(
        x.artists == y.artists for x, y in zip(spread.tracks, spread.tracks[1:], strict=False)
    )
    assert same <= sum(
        x.artists == y.artists for x, y in zip(plain.tracks, plain.tracks[1:], strict=False)
    )
    with pytest.raises(InputError, match="no genre"):
        shuffle.draw(index, n=1, filters=shuffle.Filters(genre="polka-trance"))


def test_resume_after_kill_and_prune(tmp_path: Path) -> None:
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    a = Archive.init(tmp_path / "a")
    ingest_synthetic(a, 30_000, seed=2)
    code = (
        "import os; os.environ['LONGPLAY_NO_PROGRESS'] = '1'\n"
        "from pathlib import Path\n"
        "from longplay.archive import Archive\n"
        "from longplay.search import build\n"
        "build.ROW_GROUP = 2000\n"
        f"build.build_index(Archive.open(Path({str(a.root)!r})), workers=2, commit_rows=2000)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    partial = a.search_dir / "gen-000001.partial"
    deadline = time.time() + 60
    while time.time() < deadline and not list(partial.glob("shard-*/meta.json")):
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert partial.exists()
    report = build_index(a, workers=2)
    assert report.documents["track"] == 30_000
    # Shards committing every 2,000 documents made ~17 segments, merged as they went and at the
    # end by Tantivy's log merge policy (the only merge tantivy-py offers), which leaves a size
    # level of fewer than 8 segments alone: 4 to 7 here, depending on where the kill fell.
    resumed = engine.open_current(a)
    assert resumed.searcher.num_segments <= 7, resumed.searcher.num_segments
    # and removed the merged-away segments' files (Tantivy does not: the shards made them)
    meta = json.loads((resumed.path / "index" / "meta.json").read_text(encoding="utf-8"))
    live = {s["segment_id"].replace("-", "") for s in meta["segments"]}
    files = {f.name.split(".")[0] for f in (resumed.path / "index").iterdir()}
    assert files - {"meta", ""} == live
    assert resumed.builder.lexicon is not None
    fresh = Archive.init(tmp_path / "b")
    ingest_synthetic(fresh, 30_000, seed=2)
    build_index(fresh, workers=1)
    x, y = engine.search(a, "", limit=50), engine.search(fresh, "", limit=50)
    assert x.total == y.total == 30_000 and [h.id for h in x.hits] == [h.id for h in y.hits]
    # The same first page, compared by score (equal scores may come out in another order across
    # segments); every match when the total is exact. Deeper, popularity reorders windows of
    # text matches whose edge is a tie, so the two builds may differ there.
    for q in ("shiviris", "fetan dugr", "year:2001..2002", "clakodrt"):
        x = engine.search(a, q, limit=20)
        assert 0 < x.total <= 5_000, (q, x.total)
        x = engine.search(a, q, limit=x.total)
        y = engine.search(fresh, q, limit=x.total)
        assert (x.total, x.total_exact) == (y.total, y.total_exact), q
        assert len(x.hits) == len(y.hits) == x.total, q
        top = [round(h.score, 3) for h in x.hits[:20]]
        assert top == [round(h.score, 3) for h in y.hits[:20]], q
        if x.total_exact:
            assert sorted(h.id for h in x.hits) == sorted(h.id for h in y.hits), q
    # gc of the catalog, then prune: the old generation's index goes, the current one stays.
    ingest_synthetic(a, 1000, seed=3)
    build_index(a, workers=1)
    store = CatalogStore(a)
    assert store.gc(keep=1) == ["gen-000001"]
    assert layout.prune(a) == ["gen-000001"]
    assert layout.is_complete(a.search_dir / "gen-000002")
