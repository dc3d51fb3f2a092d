"""A parsed query (``search.syntax``) as Tantivy queries: one per group of a pass.

Every word must match (AND); a word matches a term in any text field, weighted by ``BOOSTS``.
The last free word also matches as a prefix (search as you type). Two to four letters long,
it is one ``starts`` term (``search.fields``): every word it starts, in any text field; longer,
it is expanded to the ``PREFIX_TERMS`` most frequent completions in the index's lexicon
(``search.lexicon``; the terms of title, artists and album), searched in those three fields (an
unbounded prefix over all five fields measured 33 ms for "slo" at 1M tracks, the bounded one
about 4; when those match nothing, the engine completes the word from the few documents the
other words match, ``passes.completed``). One letter typed alone is every word it starts in
the popular tier's titles and artists (``Builder._initial``), elsewhere its completions; after
other words, only the in-order group's pairs complete it. Typo tolerance
runs only when the exact pass finds nothing: first one edit (Damerau: a transposition is one) in
words of 4+ letters, as the exact terms the lexicon holds one edit away, then, still nothing,
two edits in words of 8+ through Tantivy's automaton; both in title, artists and album only.
Exact first keeps the common case cheap and ranks exact spellings above near ones.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import tantivy
from tantivy import Occur, Query

from longplay.errors import InputError, LongplayError
from longplay.search import fields
from longplay.search.lexicon import Lexicon
from longplay.search.order import Ordered, distance
from longplay.search.syntax import Parsed
from longplay.search.terms import all_of, any_term

PREFIX_TERMS = 8  # completions of the last word, per field, by document frequency
COMPLETE_WORD = 4000  # documents holding a typed word for its completions to be left out
NEAR_FIELDS = ("title", "artists", "album")
STRONG_FIELDS = ("title", "artists")  # where a popular tier's match ranks first (search.ranking)
TWO_EDITS = 64  # most frequent spellings two edits away, per word (see _typo)


class Builder(Ordered):
    """Turns a parsed query into Tantivy queries (exact pass, typo pass)."""

    def __init__(
        self,
        schema: tantivy.Schema,
        searcher: tantivy.Searcher | None = None,
        lexicon: Lexicon | None = None,
        tier: tantivy.Schema | None = None,
    ):
        self.schema = schema
        self.searcher = searcher  # for prefix expansion; without it, prefixes are not expanded
        self.lexicon = lexicon  # typo and prefix expansion; without it, Tantivy's automata
        self.analyzer = fields.analyzer()
        self.pairs = fields.has_field(schema, fields.PAIRS)  # (indexes built before it: not)
        self.starts = fields.has_field(schema, fields.STARTS)  # (likewise)
        self.full_titles = fields.has_field(schema, fields.FULL_TITLE)  # (likewise)
        # The popular tier's schema when it has ``initials`` (``_initial``), else None
        self.initials_schema = (
            tier if tier is not None and fields.has_field(tier, fields.INITIALS) else None
        )

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (one Builder per open index, kept open)
    def _completions(self, term: str) -> tuple[str, ...]:
        """The most frequent titles' terms starting with ``term`` (search as you type).

        Read from ``title`` alone and used in every near field: each walk of a term dictionary
        measured ~3 ms for a 3-letter prefix at 1M tracks."""
        if self.lexicon is not None:
            return self.lexicon.completions(term, PREFIX_TERMS)
        assert self.searcher is not None
        found = self.searcher.terms_with_prefix("title", term, limit=PREFIX_TERMS)
        return tuple(t for t, _ in found if t != term)

    def max_edits(self, p: Parsed) -> int:
        """The most edits a typo pass can allow any word of ``p`` (words of 4+ letters one, of
        8+ two): a pass allowing more builds the same query as the pass before, so it cannot
        match what that one did not ("the ni" at 10M: two such passes, ~40 ms CPU per kind)."""
        text = (v for n, v, quoted in p.fielded if n in fields.TEXT_FIELDS and not quoted)
        terms = self._ordered_terms([*p.words, *(w for v in text for w in v.split())])
        return max((distance(t, 2) for t in terms), default=0)

    def _prefix(self, name: str, term: str) -> Query | None:
        if self.searcher is None:
            return None
        # A word typed in full that many documents hold: the best text matches are its own
        # (a completion counts half), so its completions would only add postings to walk
        # (a common word at 10M: 42 → 30 ms CPU p50 without them).
        if self.lexicon is not None and self.lexicon.frequency(term) >= COMPLETE_WORD:
            return None
        terms = self._completions(term)
        return any_term(self.schema, name, list(terms)) if terms else None

    def _word(
        self,
        word: str,
        names: tuple[str, ...],
        prefix: bool,
        edits: int,
        within: str = "",
        alone: bool = False,
        kind: int | None = None,
    ) -> Query | None:
        """``word`` in any of ``names`` (and near spellings on a typo pass; the last word also as
        a prefix); ``within``: the ``starts`` term each field's match must also hold (``_host``).
        ``alone``: the only free word, so that a single letter is completed too (after other
        words it is left to the in-order group's pairs, which keep the typed order): in the
        popular tier as every word it starts (``_initial``, of ``kind`` when one is asked),
        elsewhere as its completions."""
        if fields.has_cjk(word):
            terms = fields.cjk_terms(word)
            return all_of([Query.term_query(self.schema, "cjk", t) for t in terms])
        terms = self.analyzer.analyze(word)
        if not terms:
            return None
        clauses = []
        for i, t in enumerate(terms):
            last = prefix and i == len(terms) - 1
            if last and not edits and self.started(t, names):
                clauses.append(self._started(t, names))
                continue
            initial = names == STRONG_FIELDS and self.initials_schema is not None
            if last and alone and len(t) == 1 and initial:
                clauses.append(self._initial(t, kind))
                continue
            alts = []
            for name in names:
                boost = fields.BOOSTS.get(name, 1.0)
                alt = self._term(name, t, boost)
                if within:
                    alt = Query.boolean_query(
                        [(Occur.Must, alt), (Occur.Must, self._starts(within, 0.0))]
                    )
                alts.append(alt)
                near = len(names) == 1 or name in NEAR_FIELDS
                grown = len(t) >= 2 or alone
                if last and grown and near and (q := self._prefix(name, t)) is not None:
                    alts.append(Query.boost_query(q, boost * 0.5))
                d = distance(t, edits)
                if d and near:
                    alts.extend(self._typo(name, t, d, last, boost * 0.3))
            clauses.append(Query.boolean_query([(Occur.Should, a) for a in alts]))
        return all_of(clauses)

    def started(self, term: str, names: tuple[str, ...] = fields.TEXT_FIELDS) -> bool:
        """Whether ``term``, the last word being typed, is completed by its ``starts`` term
        (``search.fields``) when searched in ``names``: two to four letters, in every text
        field (the popular tier's strong matches keep their own fields, title and artists)."""
        return self.starts and names == fields.TEXT_FIELDS and len(term) in fields.STARTS_LENGTHS

    def _started(self, term: str, names: tuple[str, ...]) -> Query:
        """Every document with a word starting with ``term``: its one ``starts`` term, scored
        1 like a completion of any word, plus the word's own matches where it is typed whole.

        Required, Tantivy skips through the term's postings; the completions it replaces were
        a union of term sets that reads every posting of every completion (at 10M tracks
        "krocund fe" 23 ms, "weim fle" 12; see the fields' docstring)."""
        return Query.boolean_query(
            [
                (Occur.Must, self._starts(term, 1.0)),
                *((Occur.Should, q) for q in self._whole(term, names)),
            ]
        )

    def _initial(self, letter: str, kind: int | None) -> Query:
        """Every tier document with a title or artist word starting with ``letter``, all scored
        alike: the first key typed, asked of the popular tier's strong matches as its one
        ``initials`` term (``search.fields``), whose postings come most popular first; a word
        that is the letter scores no more (popularity alone orders them). Built with the tier's
        schema: the whole index has no such field (it is cut from ``STRONG_FIELDS``).

        For one ``kind``, a bare term of that kind ("0s"): the first search of ``ranking.top``
        then holds only that kind and is the only one (one term for every kind, with the kind
        a filter, took a second search that read every posting of the intersection: "s"
        7.9-8.7 ms at 10M tracks, growing with the tier; now 1.9). Not const-scored: every tier
        document holds as many ``initials`` tokens, so the term scores alike in all, and
        Tantivy's top-k may skip blocks that cannot beat the first ``k`` (the tracks' "s" term
        alone 1.22 ms against 1.85 const-scored). For every kind, the three kinds' terms,
        const-scored (their scores differ by kind)."""
        assert self.initials_schema is not None
        schema = self.initials_schema
        terms = [
            f"{k}{letter}" for k in ((kind,) if kind is not None else range(len(fields.KINDS)))
        ]
        if len(terms) == 1:
            return Query.term_query(schema, fields.INITIALS, terms[0])
        each = [(Occur.Should, Query.term_query(schema, fields.INITIALS, t)) for t in terms]
        return Query.const_score_query(Query.boolean_query(each), 1.0)

    def _starts(self, term: str, score: float) -> Query:
        return Query.const_score_query(Query.term_query(self.schema, fields.STARTS, term), score)

    def _whole(self, term: str, names: tuple[str, ...]) -> list[Query]:
        """``term`` as a whole word in each of ``names``, weighted by the field's boost."""
        return [self._term(n, term, fields.BOOSTS.get(n, 1.0)) for n in names]

    def _term(self, name: str, term: str, boost: float) -> Query:
        return Query.boost_query(Query.term_query(self.schema, name, term), boost)

    def _single(self, word: str) -> str | None:
        """The one term of a free word (None for a CJK word or one the analyzer splits)."""
        terms = [] if fields.has_cjk(word) else self.analyzer.analyze(word)
        return terms[0] if len(terms) == 1 else None

    def _host(
        self, p: Parsed, names: tuple[str, ...], edits: int, prefix: bool
    ) -> tuple[int, str] | None:
        """For a last word being typed that ``starts`` completes, after other words: the other
        word whose field matches carry its ``starts`` term (the rarest, by the lexicon), and
        that term; else None.

        A required word is a union over the text fields, and Tantivy seeks a union that follows
        in an intersection by refilling a 4,096-document window of every field's postings: at
        10M tracks "douglous hop" (a word in 161k documents, then one ``starts`` term in 12k)
        took 8-30 ms as two required clauses. Each field's match holding the term is an
        intersection of two postings lists that skip to each other, and the union of those is
        only read, never sought: 3.2 ms. The same documents match, scored alike (the term
        scores 0: every match of the group holds it)."""
        if edits or not prefix or len(p.words) < 2:
            return None
        last = self._single(p.words[-1])
        if last is None or not self.started(last, names):
            return None
        others = [(i, t) for i, w in enumerate(p.words[:-1]) if (t := self._single(w)) is not None]
        if not others:
            return None
        lex = self.lexicon
        i, _ = min(others, key=lambda o: (lex.frequency(o[1]) if lex is not None else 0, o[0]))
        return i, last

    def _typo(self, name: str, term: str, d: int, last: bool, boost: float) -> list[Query]:
        """Spellings of ``term`` within ``d`` edits in field ``name`` (for the last word, also
        the completions of such spellings): exact terms from the lexicon (for two edits, its
        ``TWO_EDITS`` most frequent, found by the lexicon's own index), else Tantivy's
        Levenshtein automaton (an index without a lexicon, or one written before ``spell``)."""
        lex = self.lexicon
        if d > 1 and lex is not None and lex.covers(term):
            two = lex.within_two(term, last, TWO_EDITS)
            if two is not None:
                return [self._term(name, t, boost) for t in two]
        if d > 1 or lex is None or not lex.covers(term):
            q = Query.fuzzy_term_query(self.schema, name, term, distance=d, prefix=last)
            return [Query.boost_query(q, boost)]
        near = lex.near(term)
        out = [self._term(name, t, boost) for t in near]
        # A word being typed with a typo in it: the completions of its near spellings, only
        # when it has no near spelling of its own (they are the most frequent terms of their
        # prefixes: always adding them doubled the pass's CPU p50 at 10M, 14 → 31 ms).
        if last and not near and (more := lex.near_completions(term, PREFIX_TERMS)):
            q = any_term(self.schema, name, list(more))
            out.append(Query.boost_query(q, boost))
        return out

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

    def build(
        self,
        p: Parsed,
        *,
        edits: int,
        filters: list[Query],
        strong: bool = False,
        prefix: bool = True,
        in_order: bool = False,
        full_title: bool = False,
        kind: int | None = None,
    ) -> Query:
        """The query of one group of a pass (``search.passes``): ``edits`` 0 is exact, 1 and 2
        the typo passes. ``strong``: free words and phrases in title or artists only (the
        popular tier's strong matches, ``search.ranking``). ``in_order``: on a typo pass, the
        free words' spellings in the typed order in the title or an artist's name.
        ``full_title``: the free words (or their spellings) are the whole title, scored alike
        (popularity orders them). ``prefix``: the last free word also matches as a prefix
        (search as you type). ``kind``: the kind asked (code), when one is (``_initial``)."""
        names: tuple[str, ...] = STRONG_FIELDS if strong else fields.TEXT_FIELDS
        must: list[Query] = list(filters)
        if full_title:
            must.append(self._full_title(p.words, edits, prefix))
            p = replace(p, words=[])
        scoring: list[Query] = []  # clauses that only score (Should), when the pairs match
        # On a typo pass the in-order group's pairs match and its words only score, in title
        # and artists (as required clauses, their near spellings' unions cost 4.8 of a 10 ms
        # typo query at 10M; without them, popularity alone ordered the in-order matches: typo
        # recall 94.5 %, 95.0 with them). CJK words are not in the pairs: required as ever.
        words_score = in_order and edits > 0
        # On the exact pass the in-order group's last word is the prefix of its last pair.
        words = p.words[:-1] if in_order and not edits and prefix else p.words
        optional: list[Query] = []  # clauses that only score, whatever else
        host = None if in_order else self._host(p, names, edits, prefix)
        for i, w in enumerate(words):
            if host is not None and i == len(p.words) - 1:  # required within the host word
                optional.extend(self._whole(host[1], names))
                continue
            within = host[1] if host is not None and i == host[0] else ""
            last = prefix and i == len(p.words) - 1
            q = self._word(w, names, last, edits, within, alone=len(p.words) == 1, kind=kind)
            if q is not None:
                (scoring if words_score and not fields.has_cjk(w) else must).append(q)
        for phrase in p.phrases:
            where = [n for n in ("title", "artists", "album") if n in names]
            alts = [self._phrase(phrase, n) for n in where]
            must.append(Query.boolean_query([(Occur.Should, a) for a in alts if a is not None]))
        for name, value, quoted in p.fielded:
            if name in fields.EXACT_FIELDS or name == "id":
                must.append(self._exact(name, value))
            elif quoted:
                q = self._phrase(value, name)
                must.append(q if q is not None else Query.empty_query())
            else:
                for w in value.split():
                    q = self._word(w, (name,), False, edits)
                    must.append(q if q is not None else Query.empty_query())
        if p.year is not None:
            lo, hi = p.year
            must.append(self.range("year", lo, hi))
        if p.bpm is not None:
            must.append(self.range("bpm", *p.bpm))
        if p.key is not None:
            must.append(self._feature_term("key", p.key))
        order = self._in_order(p.words, edits, prefix) if in_order else None
        if order is not None:
            must.append(order)
        else:  # (no order to match: the words are required after all)
            must, scoring = must + scoring, []
        if not must:
            return Query.all_query()
        if scoring or optional:
            should = [*scoring, *optional]
            clauses = [(Occur.Must, q) for q in must] + [(Occur.Should, q) for q in should]
            return Query.boolean_query(clauses)
        return all_of(must)

    def range(self, name: str, lo: int, hi: int) -> Query:
        try:
            return Query.range_query(
                self.schema, name, tantivy.FieldType.Unsigned, lo, hi, use_inverted_index=True
            )
        except ValueError:  # an index built before the field existed
            raise _stale(name) from None

    def _feature_term(self, name: str, value: int) -> Query:
        try:
            return Query.term_query(self.schema, name, value)
        except ValueError:
            raise _stale(name) from None


def _stale(name: str) -> LongplayError:
    return LongplayError(
        f"this search index has no {name}: field (built by an older Longplay); "
        "remove ARCHIVE/search and run `longplay index` to rebuild it"
    )
