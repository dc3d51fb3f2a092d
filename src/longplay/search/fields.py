"""The index schema: one Tantivy document per track, album and artist, and the text analyzer.

Text fields are tokenized on non-alphanumerics, lower-cased and ASCII-folded ("Björk" and
"Bjork" are one term). CJK text is not split by that tokenizer ("光の港" would be one token), so
every document also carries ``cjk``: its text with a space around each Han, kana and Hangul
character, written by DuckDB at build time (a regex tokenizer doing the same in Tantivy measured
15.6k docs/s against 42k/s for the simple one here, so the split happens once in SQL).

``pairs`` holds each two neighbouring words of the title, and of the artists' names, as one
term ("fetan_gravu", "pink_floyd"), also written by DuckDB (``texts.pair_sql``) and folded by
Tantivy as the analyzer folds words: the shingles Elasticsearch's ``search_as_you_type``
indexes, for the same reason. A query's words in the typed order are a conjunction of pair
terms, whose postings are short even when the words' own are not: at 10M tracks a typo query of three common words had to intersect postings of
1.3M, 0.4M and 2.8M documents per field (30-40 ms) to learn which few titles hold them in order.

``starts`` holds the first two, three and four characters of every word of the five text
fields ("Fleglin Hop" has fl, fle, fleg, ho, hop), cut by DuckDB (``texts.starts_sql``) and by
Tantivy's n-gram tokenizer, and folded by Tantivy: the edge n-grams Elasticsearch's
``search_as_you_type`` indexes as ``_index_prefix``. A last word of two to four letters being typed is then one term whose
postings Tantivy can skip through, where its completions were hundreds of terms: at 10M tracks
"weim fle" completed the word among 777 terms (a term set over three fields and six segments,
11 ms) and "krocund fe" took 23 ms.

``full_title`` holds a document's title as one term, its words joined ("slashuse_gravu"; an album's
title, an artist's name), written by DuckDB (``texts.full_title_sql``) and folded as ``pairs`` are:
the title that is the typed words and nothing more. For two or more words those matches come
right after the popular tier's (``search.passes``): at 10M tracks "slashuse gravu" listed eight popular tracks holding
the words in title and artist, or in a longer title, before the one titled so (popularity 0),
and three of the bench's ten typo misses were such a track.

``initials``, in the popular tier only, holds the first character of every word of the title and
the artists, after the document's kind code ("0b": a track with a b-word; ``texts.initials_sql``):
one letter typed alone is one term there for a kind, whose postings come in the tier's document
order, which is popularity order (``search.tier``), so its first matches are the most popular
documents with a word starting with it; every document holds as many of these tokens, so the
term scores alike in all and their order stays popularity order. At 10M tracks the same
matches as a regex over the tier's title and artists terms cost 7 ms p50 and 30 ms p99 (the
automaton and a bitset of every match); as the letter's eight most frequent completions, 2 ms,
but only documents holding those words ("b" missed a "Bohemian Rhapsody" of popularity 95).
The whole index has no such field: a letter there is a union of ~10 % of its postings.
"""

from __future__ import annotations

import re

import tantivy

ANALYZER = "lp"
PAIRS = "pairs"  # neighbouring words of the title and the artists, "a_b" (module docstring)
PAIR_ANALYZER = "lp_pairs"
PAIR_JOIN = "_"  # never inside a word: the simple tokenizer splits on it
FULL_TITLE = "full_title"  # the title's words as one term, "a_b_c" (module docstring)
STARTS = "starts"  # each word's first two, three and four characters (module docstring)
STARTS_LENGTHS = (2, 3, 4)  # a last word this long is completed by one ``starts`` term
STARTS_ANALYZER = "lp_starts"
INITIALS = "initials"  # the tier's: kind code and first character of each title/artist word
INITIALS_ANALYZER = "lp_initials"
INITIALS_VALUES = 32  # tokens every tier document holds in ``initials`` (texts.initials_sql)
INITIALS_FILLER = "__"  # the token that pads them: never a query's (the analyzer drops "_")
KINDS = ("track", "album", "artist")
TEXT_FIELDS = ("title", "artists", "album", "album_artists", "genres")
EXACT_FIELDS = ("isrc", "upc", "mbid")
# Fast and indexed; a track's ``bpm`` (whole) and ``key`` (search.features codes) come from the
# analysis of its held file and are absent when it has none.
NUMBERS = ("popularity", "year", "duration", "held", "bpm", "key")
# Per field, how much a match counts against a match elsewhere in the document.
BOOSTS = {"title": 3.0, "artists": 2.0, "album_artists": 1.5, "album": 1.0, "genres": 0.5}
CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
_CJK_RE = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)


# Stored: the text a hit shows, its ID, and its small numbers (kind, ord, NUMBERS), so a page
# reads one stored document per hit and no fast column: each ``fast_field_values`` call opens
# the column in every segment, ~0.36 ms a call against ~0.13 ms a document at 1M tracks
# (profiled under load), and a page read six of them. Fast fields stay for filters, ranking
# (popularity of the candidates) and listings (``ord``).
#
# Before that: stored only the text a hit shows and its ID. Small numbers are read from the fast fields for the
# page's hits (0.1 ms a call at 1M tracks); storing nothing else measured 11.6k against 9.5k
# docs/s fed by one process (bench floors). ``id`` is stored, not fast: reading its 64-bit fast
# column measured 2.4 ms a call, reading it with the stored text costs nothing more.
STORED = ("title", "artists", "album", "isrc")


def schema(starts: bool = True) -> tantivy.Schema:
    """The index's fields; ``starts`` False for the popular tier, whose strong matches complete
    a last word from the lexicon (``query.Builder.started``): its documents' ``starts`` values
    are then ignored, not indexed."""
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("kind", indexed=True, fast=True, stored=True)
    sb.add_integer_field("id", indexed=True, stored=True)
    # Dense per kind, in ID order: the key of paging without a query and of the shuffle.
    sb.add_unsigned_field("ord", indexed=True, fast=True, stored=True)
    for name in TEXT_FIELDS:
        sb.add_text_field(name, stored=name in STORED, tokenizer_name=ANALYZER)
    sb.add_text_field("cjk", tokenizer_name=ANALYZER)
    sb.add_text_field(PAIRS, tokenizer_name=PAIR_ANALYZER, index_option="basic")
    sb.add_text_field(FULL_TITLE, tokenizer_name=PAIR_ANALYZER, index_option="basic")
    for name in EXACT_FIELDS:
        sb.add_text_field(name, stored=name in STORED, tokenizer_name="raw", index_option="basic")
    for name in NUMBERS:
        sb.add_unsigned_field(name, indexed=True, fast=True, stored=True)
    # Last: a query names fields by their number in the schema it was built with (the whole
    # index's), so the tier's schema must number every other field alike. The tier's own last
    # field takes the number of ``starts``: only a query built with the tier's schema names it.
    if starts:
        sb.add_text_field(STARTS, tokenizer_name=STARTS_ANALYZER, index_option="basic")
    else:
        sb.add_text_field(INITIALS, tokenizer_name=INITIALS_ANALYZER, index_option="basic")
    return sb.build()


def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def pair_analyzer() -> tantivy.TextAnalyzer:
    """Pairs (and a whole title) arrive joined and space-separated; folded as ``analyzer``
    folds their words."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _leading(shortest: int, longest: int) -> tantivy.TextAnalyzer:
    """Each value's first ``shortest`` to ``longest`` characters, folded as ``analyzer`` folds
    words (the value is one word, or a word's start, cut in SQL: ``search.texts``)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(shortest, longest, prefix_only=True))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def starts_analyzer() -> tantivy.TextAnalyzer:
    """Each ``starts`` value (a word's first four characters, ``texts.starts_sql``) as its
    first two, three and four characters."""
    return _leading(min(STARTS_LENGTHS), max(STARTS_LENGTHS))


def initials_analyzer() -> tantivy.TextAnalyzer:
    """Each ``initials`` value (a kind code and a word's first character, ``texts.initials_sql``)
    as one term."""
    return _leading(2, 2)


def pair(first: str, second: str) -> str:
    """The ``pairs`` term of two neighbouring (analyzed) words."""
    return first + PAIR_JOIN + second


def full_title(terms: tuple[str, ...] | list[str]) -> str:
    """The ``full_title`` term of a title whose (analyzed) words are ``terms``."""
    return PAIR_JOIN.join(terms)


def register(index: tantivy.Index) -> tantivy.Index:
    """Give ``index`` the analyzers its schema names."""
    index.register_tokenizer(ANALYZER, analyzer())
    index.register_tokenizer(PAIR_ANALYZER, pair_analyzer())
    index.register_tokenizer(STARTS_ANALYZER, starts_analyzer())
    index.register_tokenizer(INITIALS_ANALYZER, initials_analyzer())
    return index


def open_index(path: str) -> tantivy.Index:
    return register(tantivy.Index.open(path))


def create_index(path: str, starts: bool = True) -> tantivy.Index:
    return register(tantivy.Index(schema(starts), path=path))


def has_field(schema: tantivy.Schema, name: str) -> bool:
    """Whether ``schema`` defines ``name`` (the binding lists no fields; a query tells: an
    undefined field raises, a value of the wrong type for a defined one raises otherwise)."""
    try:
        tantivy.Query.term_query(schema, name, 0)
    except ValueError as e:
        return "not defined" not in str(e)
    return True


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def cjk_terms(text: str) -> list[str]:
    """The CJK characters of ``text``, each a term of the ``cjk`` field (lower-cased others)."""
    spaced = _CJK_RE.sub(lambda m: f" {m.group(0)} ", text)
    return analyzer().analyze(spaced)
