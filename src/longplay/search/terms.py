"""Tantivy queries over terms, in the forms that cost least: any of a set, all of a list, and a
regex of a word's one-edit spellings (``search.query`` builds every group's query from them).
"""

from __future__ import annotations

import re

import tantivy
from tantivy import Occur, Query

SMALL_SET = 32  # up to this many terms, a set is searched as term queries (``any_term``)


def any_term(schema: tantivy.Schema, name: str, terms: list) -> Query:
    """Documents holding any of ``terms`` in field ``name``, each scored 1, as a term set scores.

    Up to ``SMALL_SET`` terms, as term queries: a term set is an automaton, and its every
    segment fills a bitset as large as the segment with the documents it matches, 0.3-0.4 ms a
    query at 10M tracks whether it holds one term or 64 (against 0.02-0.04 ms as term
    queries), and growing with the index. More terms, the set: one walk of the term
    dictionary, not a look-up a term."""
    if len(terms) > SMALL_SET:
        return Query.term_set_query(schema, name, terms)
    if len(terms) == 1:
        return Query.const_score_query(Query.term_query(schema, name, terms[0]), 1.0)
    each = [(Occur.Should, Query.term_query(schema, name, t)) for t in terms]
    return Query.const_score_query(Query.boolean_query(each), 1.0)


def all_of(queries: list[Query]) -> Query:
    """Documents matching every one of ``queries`` (every document when there is none)."""
    if not queries:
        return Query.all_query()
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Must, q) for q in queries])


def one_edit_regex(term: str) -> str:
    """A regex of every spelling one edit from ``term`` (Damerau: a swap of neighbours is one)."""
    n, alts = len(term), {term}
    for i in range(n):
        alts.add(term[:i] + term[i + 1 :])
        alts.add(term[:i] + "." + term[i + 1 :])
    alts.update(term[:i] + "." + term[i:] for i in range(n + 1))
    alts.update(term[:i] + term[i + 1] + term[i] + term[i + 2 :] for i in range(n - 1))
    return "(" + "|".join(sorted(re.escape(a).replace("\\.", ".") for a in alts)) + ")"
