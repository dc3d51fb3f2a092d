"""The typed order of a query's free words, as Tantivy queries: a title that is the words and
nothing more (``full_title``), and the words in order in the title or an artist's name
(``pairs``); ``search.passes`` says which groups ask them and why, ``search.fields`` what the
two fields hold. ``Builder`` (``search.query``) has these as a base class.
"""

from __future__ import annotations

import itertools
import re

import tantivy
from tantivy import Query

from longplay.search import fields
from longplay.search.lexicon import Lexicon
from longplay.search.syntax import Parsed
from longplay.search.terms import SMALL_SET, all_of, any_term, one_edit_regex

SPELLINGS = 64  # per word in an in-order step (see _spellings)
FULL_TITLES = 64  # most spellings of a whole title on a typo pass (see _full_title)


def distance(term: str, edits: int) -> int:
    """Edits allowed in ``term`` on a typo pass allowing at most ``edits``."""
    return min(edits, 2 if len(term) >= 8 else 1 if len(term) >= 4 else 0)


class Ordered:
    """The in-order and full-title queries of a ``Builder`` (the attributes it sets)."""

    schema: tantivy.Schema
    searcher: tantivy.Searcher | None
    lexicon: Lexicon | None
    analyzer: tantivy.TextAnalyzer
    pairs: bool
    full_titles: bool

    def _completions(self, term: str) -> tuple[str, ...]:
        raise NotImplementedError  # (``Builder._completions``)

    def _ordered_terms(self, words: list[str]) -> list[str]:
        return [t for w in words if not fields.has_cjk(w) for t in self.analyzer.analyze(w)]

    def titles(self, p: Parsed) -> bool:
        """Whether a pass has a full-title group (``search.passes``): 2+ free words, none CJK,
        on an index with the ``full_title`` field."""
        words = p.words
        return (
            self.full_titles
            and len(self._ordered_terms(words)) >= 2
            and not any(fields.has_cjk(w) for w in words)
        )

    def _full_title(self, words: list[str], edits: int, prefix: bool) -> Query:
        """Titles that are ``words`` and nothing more (``search.fields``), scored 1: as typed,
        the last word also completed to its ``PREFIX_TERMS`` most frequent completions (a
        regex is an automaton, whose per-segment bitsets cost ~0.4 ms a query at 10M tracks:
        ``search.terms``); on a typo pass, each word as typed or one of its most frequent
        one-edit spellings, at most ``FULL_TITLES`` titles in all."""
        terms = self._ordered_terms(words)
        if not edits:
            ends = [terms[-1], *(self._completions(terms[-1]) if prefix else ())]
            spellings = [*([t] for t in terms[:-1]), ends]
        else:
            each = max(1, int(FULL_TITLES ** (1 / len(terms))))
            spellings = [list(self._spellings(t)[:each]) for t in terms]
        titles = [fields.full_title(c) for c in itertools.product(*spellings)]
        return any_term(self.schema, fields.FULL_TITLE, titles)

    def orders(self, p: Parsed, edits: int) -> bool:
        """Whether a pass has in-order groups (``search.passes``): 2+ free words, on a typo
        pass, or on the exact pass of an index with ``pairs`` and no CJK word."""
        if len(self._ordered_terms(p.words)) < 2:
            return False
        return edits > 0 or (self.pairs and not any(fields.has_cjk(w) for w in p.words))

    def _in_order(self, words: list[str], edits: int, prefix: bool) -> Query | None:
        """The free words in the query's order in the title or an artist's name, scored 1 (the
        words' text score adds to it): on the exact pass as typed, the last word as the prefix
        of the last pair (search as you type); on a typo pass, each as typed or one edit away.

        Tantivy scores every fuzzy match alike, so among the many tracks that contain a near
        spelling of each word somewhere (common words have many neighbours), popularity alone
        would decide; the track whose title has them as typed, in order, is the likelier one
        (bench: it was most typo misses). One edit only (from the lexicon): such words still
        match with two through the fuzzy clauses. Neighbouring words are ``pairs`` terms
        (``search.fields``); an index built before that field matches them as a regex phrase."""
        terms = self._ordered_terms(words)
        if len(terms) < 2:
            return None
        if self.pairs and (not edits or self.lexicon is not None):
            spellings = [self._spellings(t) if edits else (t,) for t in terms]
            steps = [
                any_term(self.schema, fields.PAIRS, [fields.pair(a, b) for a in one for b in two])
                for one, two in itertools.pairwise(spellings)
            ]
            if not edits and prefix:
                steps[-1] = self._starting(fields.PAIRS, fields.pair(terms[-2], terms[-1]))
            return Query.const_score_query(all_of(steps), 1.0)
        # a long term's one-edit regex outgrows Tantivy's 1000-state limit (ValueError); such
        # words still match through the fuzzy clauses
        pattern = [self._near(t) if 4 <= len(t) <= 12 else re.escape(t) for t in terms]
        q = Query.regex_phrase_query(self.schema, "title", list[str | tuple[int, str]](pattern))
        return Query.const_score_query(q, 1.0)

    def _starting(self, name: str, start: str) -> Query:
        """Every term of ``name`` that starts with ``start``, scored 1: the terms themselves
        when the index holds at most ``SMALL_SET`` of them (most pairs: at 10M tracks half of
        the bench's prefix pairs have one to four), else a regex. A regex is an automaton, whose
        bitsets cost a query 0.42-0.48 ms at 10M and grow with the index (``any_term``); the
        look-up and the terms' search 0.06."""
        if self.searcher is not None:
            found = self.searcher.terms_with_prefix(name, start, limit=SMALL_SET + 1)
            if len(found) <= SMALL_SET:
                terms = [t for t, _ in found]
                return any_term(self.schema, name, terms) if terms else Query.empty_query()
        return Query.regex_query(self.schema, name, re.escape(start) + ".*")

    def _spellings(self, term: str) -> tuple[str, ...]:
        """``term`` and, for words a typo pass may correct, its one-edit spellings in the index
        (the ``SPELLINGS`` most frequent: a pair step holds at most their square)."""
        if distance(term, 1) == 0 or self.lexicon is None or not self.lexicon.covers(term):
            return (term,)
        return (term, *self.lexicon.near(term)[: SPELLINGS - 1])

    def _near(self, term: str) -> str:
        """A regex of ``term``'s one-edit spellings: only those in the index when the lexicon
        says which (a short alternation is a small automaton), else every one."""
        if self.lexicon is None or not self.lexicon.covers(term):
            return one_edit_regex(term)
        alts = sorted({term, *self.lexicon.near(term)})
        return "(" + "|".join(re.escape(a) for a in alts) + ")"
