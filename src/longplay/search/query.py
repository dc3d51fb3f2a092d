"""The query language: free text, ``field:value``, quoted phrases, ``year:A..B``; parsed to Tantivy.

Every word must match (AND); a word matches a term in any text field, weighted by ``BOOSTS``.
The last free word also matches as a prefix (search as you type). Typo tolerance is a second
pass, run only when the exact pass finds nothing: one edit for words of 4–7 letters, two from 8
(Damerau, a transposition is one edit). Exact first keeps the common case cheap and ranks exact
spellings above near ones. Bad input raises ``InputError`` naming the problem.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import tantivy
from tantivy import Occur, Query

from longplay.errors import InputError
from longplay.search import fields

MAX_LENGTH = 1000
FIELD_ALIASES = {
    "title": "title",
    "artist": "artists",
    "album": "album",
    "albumartist": "album_artists",
    "genre": "genres",
    "isrc": "isrc",
    "upc": "upc",
    "mbid": "mbid",
    "id": "id",
    "year": "year",
}
_TOKEN = re.compile(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))')


@dataclass
class Parsed:
    words: list[str] = field(default_factory=list)  # free words, in order
    phrases: list[str] = field(default_factory=list)  # free quoted phrases
    fielded: list[tuple[str, str, bool]] = field(default_factory=list)  # field, text, quoted
    year: tuple[int, int] | None = None

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.fielded or self.year)


def parse(text: str) -> Parsed:
    if len(text) > MAX_LENGTH:
        raise InputError(f"query is {len(text):,} characters long; at most {MAX_LENGTH:,}")
    for ch in text:
        if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r":
            raise InputError(f"query contains the control character U+{ord(ch):04X}")
    if text.count('"') % 2:
        raise InputError('query has an unbalanced quote (")')
    out = Parsed()
    for m in _TOKEN.finditer(text):
        name, quoted, bare = m.group(1), m.group(2), m.group(3)
        value = quoted if quoted is not None else bare
        if name is None:
            (out.phrases if quoted is not None else out.words).append(value)
            continue
        key = FIELD_ALIASES.get(name.lower())
        if key is None:
            known = ", ".join(f"{k}:" for k in FIELD_ALIASES)
            raise InputError(f"unknown field {name}: in the query (known: {known})")
        if not value:
            raise InputError(f"{name}: needs a value")
        if key == "year":
            out.year = year_range(value)
        else:
            out.fielded.append((key, value, quoted is not None))
    return out


def year_range(value: str) -> tuple[int, int]:
    """``2001``, ``2001..2005``, ``..1980`` or ``1990..`` as (first, last) year."""
    lo, sep, hi = value.partition("..")
    try:
        a = int(lo) if lo else 0
        b = int(hi) if sep and hi else (int(lo) if not sep else 9999)
    except ValueError:
        raise InputError(f"year:{value} is not a year or a range like year:2001..2005") from None
    if a > b:
        raise InputError(f"year:{value} is an empty range ({a} is after {b})")
    return a, b


def _distance(term: str) -> int:
    return 2 if len(term) >= 8 else 1 if len(term) >= 4 else 0


class Builder:
    """Turns a parsed query into Tantivy queries (exact pass, typo pass)."""

    def __init__(self, schema: tantivy.Schema):
        self.schema = schema
        self.analyzer = fields.analyzer()

    def _word(self, word: str, names: tuple[str, ...], prefix: bool, fuzzy: bool) -> Query | None:
        if fields.has_cjk(word):
            terms = fields.cjk_terms(word)
            return _all([Query.term_query(self.schema, "cjk", t) for t in terms])
        terms = self.analyzer.analyze(word)
        if not terms:
            return None
        clauses = []
        for i, t in enumerate(terms):
            last = prefix and i == len(terms) - 1
            alts = []
            for name in names:
                boost = fields.BOOSTS.get(name, 1.0)
                alts.append(Query.boost_query(Query.term_query(self.schema, name, t), boost))
                if last and len(t) >= 2:
                    q = Query.fuzzy_term_query(self.schema, name, t, distance=0, prefix=True)
                    alts.append(Query.boost_query(q, boost * 0.5))
                d = _distance(t)
                if fuzzy and d:
                    q = Query.fuzzy_term_query(self.schema, name, t, distance=d, prefix=last)
                    alts.append(Query.boost_query(q, boost * 0.3))
            clauses.append(Query.boolean_query([(Occur.Should, a) for a in alts]))
        return _all(clauses)

    def _phrase(self, text: str, name: str) -> Query | None:
        if fields.has_cjk(text):
            terms = fields.cjk_terms(text)
            name = "cjk"
        else:
            terms = self.analyzer.analyze(text)
        if not terms:
            return None
        if len(terms) == 1:
            return Query.term_query(self.schema, name, terms[0])
        return Query.phrase_query(self.schema, name, list[str | tuple[int, str]](terms))

    def _exact(self, name: str, value: str) -> Query:
        if name == "id":
            try:
                return Query.term_query(self.schema, "id", int(value))
            except ValueError:
                raise InputError(f"id:{value} is not a Longplay ID (an integer)") from None
        if name == "isrc":
            value = value.replace("-", "").upper()
        elif name == "mbid":
            value = value.lower()
        return Query.term_query(self.schema, name, value)

    def build(self, p: Parsed, *, fuzzy: bool, filters: list[Query]) -> Query:
        must: list[Query] = list(filters)
        for i, w in enumerate(p.words):
            q = self._word(w, fields.TEXT_FIELDS, i == len(p.words) - 1, fuzzy)
            if q is not None:
                must.append(q)
        for phrase in p.phrases:
            alts = [self._phrase(phrase, n) for n in ("title", "artists", "album")]
            must.append(Query.boolean_query([(Occur.Should, a) for a in alts if a is not None]))
        for name, value, quoted in p.fielded:
            if name in fields.EXACT_FIELDS or name == "id":
                must.append(self._exact(name, value))
            elif quoted:
                q = self._phrase(value, name)
                must.append(q if q is not None else Query.empty_query())
            else:
                for w in value.split():
                    q = self._word(w, (name,), False, fuzzy)
                    must.append(q if q is not None else Query.empty_query())
        if p.year is not None:
            lo, hi = p.year
            must.append(self.range("year", lo, hi))
        if not must:
            return Query.all_query()
        return _all(must)

    def range(self, name: str, lo: int, hi: int) -> Query:
        return Query.range_query(
            self.schema, name, tantivy.FieldType.Unsigned, lo, hi, use_inverted_index=True
        )


def _all(queries: list[Query]) -> Query:
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Must, q) for q in queries])
