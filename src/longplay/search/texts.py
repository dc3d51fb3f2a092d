"""The text a document derives from its catalog row, written by DuckDB in the document's JSON.

Each is cut in SQL once per word at build time, where a Tantivy tokenizer doing the same cost
more per document (``search.fields`` says what each field holds and why): CJK characters set
apart (``cjk``), neighbouring words joined (``pairs``), the title as one term (``full_title``),
each word's first characters (``starts``), and, for the popular tier, each title and artist
word's first character (``initials``). Words are split as the analyzer splits them.
"""

from __future__ import annotations

from longplay.search import fields


def spaced_sql(expr: str) -> str:
    """CJK characters of ``expr`` set apart by spaces (NULL when it has none)."""
    cls = f"[{fields.CJK_CLASS}]"
    return (
        f"CASE WHEN regexp_matches({expr}, '{cls}') "
        f"THEN regexp_replace({expr}, '({cls})', ' \\1 ', 'g') END"
    )


# What separates words, as the analyzer's tokenizer splits them (runs of letters and digits)
_WORD_SPLIT = "[^\\p{L}\\p{N}]+"


def _words(expr: str) -> str:
    """The words of ``expr`` as the analyzer keeps them (runs of letters and digits, under 40
    bytes), as a list."""
    return (
        f"list_filter(regexp_split_to_array({expr}, '{_WORD_SPLIT}'), "
        "lambda x: x <> '' AND strlen(x) < 40)"
    )


def full_title_sql(expr: str) -> str:
    """The ``full_title`` term of ``expr``: its words joined (NULL without a word); Tantivy folds it
    as it folds ``pairs``."""
    return f"nullif(array_to_string({_words(expr)}, '{fields.PAIR_JOIN}'), '')"


def pair_sql(expr: str) -> str:
    """The ``pairs`` text of ``expr``: each two neighbouring words joined, space-separated
    (NULL under two words). Words as the analyzer splits them (runs of letters and digits, under
    40 bytes); Tantivy folds case and diacritics. Rust's alphanumerics and RE2's ``\\p{L}\\p{N}``
    differ only in a few combining marks: a title split differently there misses the in-order
    group and is still found by the words themselves (``search.passes``)."""
    words = _words(expr)
    pairs = f"list_transform(range(1, len(w)), lambda i: w[i] || '{fields.PAIR_JOIN}' || w[i + 1])"
    return (
        f"list_transform([{words}], "
        f"lambda w: CASE WHEN len(w) >= 2 THEN array_to_string({pairs}, ' ') END)[1]"
    )


# Letters the analyzer's ASCII folding makes two of: expanded before a word is cut to its first
# characters, so that its ``starts`` terms are the first characters of the folded word.
_EXPANDS = (("æ", "ae"), ("œ", "oe"), ("ß", "ss"), ("þ", "th"), ("ĳ", "ij"))


def starts_sql(*exprs: str) -> str:
    """The ``starts`` values of the words of ``exprs``: each word's first four characters,
    lower-cased with the letters folding makes two of expanded (Tantivy's analyzer for the
    field cuts each to two, three and four and folds the rest). Words are split as ``pair_sql``
    splits them; a one-letter word gives no term.

    Cut here, once per word, rather than in Tantivy: the one-letter-to-two-letters expansion
    must come first, and shorter values are less JSON to write and parse. Cutting to two as
    well, and keeping each cut once, in SQL measured 4.8 CPU-s per 1M titles, this 1.6-2.0."""
    folded = "lower(concat_ws(' ', " + ", ".join(exprs) + "))"
    for a, b in _EXPANDS:
        folded = f"replace({folded}, '{a}', '{b}')"
    words = f"regexp_split_to_array({folded}, '{_WORD_SPLIT}')"
    return f"list_transform({words}, lambda w: substring(w, 1, {max(fields.STARTS_LENGTHS)}))"


def pairs_sql(title: str, artists: str) -> str:
    """The ``pairs`` of a title and of its artists' names (NULL when neither has two words)."""
    return f"nullif(concat_ws(' ', {pair_sql(title)}, {pair_sql(artists)}), '')"


# A track's album artists when they are not its artists (most often they are: their words would
# be cut again for the same ``starts`` terms)
OTHER_ALBUM_ARTISTS = (
    "CASE WHEN album_artists <> artists THEN array_to_string(album_artists, ' ') END"
)


def initials_sql(doc: str, kind: str) -> str:
    """The ``initials`` values of the JSON document ``doc`` of kind code ``kind``: that code
    and the first character of a word of its title and artists ("0b": a track with a word
    starting with b; lower-cased and expanded as ``starts_sql`` does, Tantivy folds it), each
    once, then ``fields.INITIALS_FILLER`` up to ``fields.INITIALS_VALUES`` values in all.

    Every document then holds as many tokens in the field, so a term scores alike in all of
    them (``Builder._initial``). A document with more distinct first characters keeps the
    first in sort order."""
    n = fields.INITIALS_VALUES
    cut = starts_sql(f"({doc}->>'title')", f"({doc}->>'artists')")
    words = f"list_filter({cut}, lambda w: w <> '')"
    first = f"list_transform({words}, lambda w: {kind}::VARCHAR || substring(w, 1, 1))"
    firsts = f"list_sort(list_distinct({first}))"
    pad = f"list_transform(range({n} - len(x)), lambda i: '{fields.INITIALS_FILLER}')"
    return f"list_transform([list_slice({firsts}, 1, {n})], lambda x: list_concat(x, {pad}))[1]"
