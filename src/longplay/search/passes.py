"""One pass of a query, as groups searched in order, each document listed once.

A pass (exact, or a typo pass) is a sequence of groups, each a query on one index (the popular
tier or the whole index); a page takes the groups' matches in order and stops at the group
that fills it (``search.ranking`` says why the groups come in this order):

- exact pass: the tier's strong matches; for two or more words, the whole index's titles that
  are the words and nothing more, then its matches with the words in the typed order in the
  title or an artist's name, the last one as a prefix; then every other match of the whole
  index;
- typo pass of two or more words: the tier's strong matches with the words' near spellings in
  the typed order in the title or an artist's name, the whole index's titles that are such
  spellings and nothing more, its other in-order matches, the tier's other strong matches; and
  only when those found nothing, every other match of the whole index (one word: the tier's
  strong matches, then the whole index's others).

A title that is the words comes before longer titles holding them (``fields.FULL_TITLE``),
after the popular tier: a popular "Bohemian Rhapsody (Live)" before an obscure cover titled
"Bohemian Rhapsody", but the obscure "Slashuse Gravu" before "Pluma Slashuse Gravu", a
little less obscure. Inside a group, text score times popularity decides, and a longer title's
small loss of score did not outweigh any popularity (three of ten typo misses at 10M tracks).

A typo pass is a guess at what was meant, run when nothing matched as typed: near spellings
in the typed order, or held strongly by a popular track, are the guesses worth showing, and the
tail's scattered near spellings of common words are noise that cost most (at 10M tracks the
last group was 11-16 ms of the slowest typo queries, for matches ranked after the meant one).

The in-order groups are a conjunction of ``pairs`` terms (``search.fields``), so they
cost little, and a query whose words are common is answered from them and the tier: at 10M
tracks a typo query of common words used to intersect their postings over the whole index
(30-40 ms) to find the one title that holds them in order, and "douglous hop" (a common word,
then a prefix with common completions) ~29 ms for its first page. Before, the typed order was
a bonus inside one whole-index query on the typo pass, and not asked on the exact pass.

A later group can match a document an earlier one listed: the tier's documents are also the
whole index's (same ``(kind, ord)`` key), and an in-order match is also a strong one. So each
group's hits are checked against what was listed: by address within one index, by key across
the two (read only for the documents the other index can hold).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import tantivy
from tantivy import Occur, Query

from longplay.search import ranking
from longplay.search.query import NEAR_FIELDS, Builder
from longplay.search.ranking import Source
from longplay.search.syntax import Parsed
from longplay.search.tier import Tier

COMPLETING = 2000  # documents the other words may match for a last word to be completed
READ_FEW = 64  # up to this many, completions are checked in the stored documents

Ranked = list[tuple[float, Source, tantivy.DocAddress]]
Make = Callable[[list[Query]], Query]  # filters -> the group's query


@dataclass
class Group:
    searcher: tantivy.Searcher
    make: Make
    in_tier: bool  # the popular tier (its documents are also the whole index's)
    in_order: bool = False  # the words in the typed order (title or an artist's name)
    fallback: bool = False  # searched only when the groups before it matched nothing


@dataclass
class Listed:
    """What a pass has listed so far: addresses per index, keys of the documents both hold."""

    tier: Tier | None
    kind: int | None  # the kind asked, or None for every kind
    addresses: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    tier_keys: set[tuple[int, int]] = field(default_factory=set)  # listed from the tier
    main_keys: set[tuple[int, int]] = field(default_factory=set)  # listed from the whole index

    def at(self, searcher: tantivy.Searcher) -> set[tuple[int, int]]:
        return self.addresses.setdefault(id(searcher), set())

    def again(self, g: Group) -> int:
        """How many listed documents ``g``'s matches may hold again (asked for in addition)."""
        return len(self.main_keys if g.in_tier else self.tier_keys) + len(self.at(g.searcher))

    def _kinds(self, src: Source, hits: list[ranking.Scored]) -> list[int]:
        return [self.kind] * len(hits) if self.kind is not None else src.numbers("kind", hits)

    def remember(self, src: Source, g: Group, hits: list[ranking.Scored], pops: list[int]) -> None:
        """Note a group's listed documents, with the keys the other index may list them by."""
        self.at(g.searcher).update((a.segment_ord, a.doc) for _, a in hits)
        if self.tier is None or not hits:
            return
        if g.in_tier:  # every tier document is also in the whole index
            self.tier_keys.update(ranking.keys(src, hits, ranking.FEW_KEYS))
            return
        kinds = self._kinds(src, hits)
        held = [h for h, c, p in zip(hits, kinds, pops, strict=True) if self.tier.holds(c, p)]
        self.main_keys.update(ranking.keys(src, held, ranking.FEW_KEYS))

    def unlisted(
        self, src: Source, g: Group, hits: list[ranking.Scored], pops: list[int]
    ) -> tuple[list[ranking.Scored], list[int]]:
        """``hits`` and their popularity without the documents listed already."""
        at = self.at(g.searcher)
        keep = [i for i, (_, a) in enumerate(hits) if (a.segment_ord, a.doc) not in at]
        other = self.main_keys if g.in_tier else self.tier_keys
        if other and self.tier is not None and keep:
            if g.in_tier:  # any tier document may have been listed from the whole index
                maybe = keep
            else:  # only documents the tier holds can have been listed from it
                kinds = self._kinds(src, hits)
                maybe = [i for i in keep if self.tier.holds(kinds[i], pops[i])]
            # Up to FEW_KEYS from their stored documents (a fast-column read costs ~1.2 ms a
            # call at 10M tracks whatever the number of hits; a stored document ~0.005 ms)
            found = ranking.keys(src, [hits[i] for i in maybe], ranking.FEW_KEYS)
            drop = {i for i, key in zip(maybe, found, strict=True) if key in other}
            keep = [i for i in keep if i not in drop]
        return [hits[i] for i in keep], [pops[i] for i in keep]


def groups(
    builder: Builder,
    parsed: Parsed,
    edits: int,
    main: tantivy.Searcher,
    tier: Tier | None,
    kind: int | None = None,
) -> list[Group]:
    """The groups of one pass, in order (see the module docstring); ``kind``: the kind asked."""
    if tier is not None and parsed.key_lookup:
        tier = None  # a handful of documents: the whole index at once

    def query(strong: bool, in_order: bool) -> Make:
        return lambda f: builder.build(
            parsed, edits=edits, filters=f, strong=strong, in_order=in_order, kind=kind
        )

    def titled(f: list[Query]) -> Query:
        return builder.build(parsed, edits=edits, filters=f, full_title=True)

    ordered = builder.orders(parsed, edits)
    full = [Group(main, titled, False, True)] if builder.titles(parsed) else []
    tier_strong = [Group(tier.searcher, query(True, False), True)] if tier is not None else []
    main_in_order = [Group(main, query(True, True), False, True)] if ordered else []
    if not edits:
        return [*tier_strong, *full, *main_in_order, Group(main, query(False, False), False)]
    in_order = [Group(tier.searcher, query(True, True), True, True)] if ordered and tier else []
    rest = Group(main, query(False, False), False, fallback=ordered)
    return [*in_order, *full, *main_in_order, *tier_strong, rest]


def run(
    groups: list[Group],
    filters: Callable[[bool], list[Query]],
    kind: int | None,
    want: int,
    tier: Tier | None,
) -> tuple[Ranked, bool, bool]:
    """The first ``want`` matches of the groups in order (more when whole windows hold more),
    whether they are all the matches, and whether any group but the in-order ones matched.
    ``filters(True)`` holds the kind, ``filters(False)`` not (``ranking.top``). Not counted:
    counting every match measured 21 ms against 7 for the top 400 at 1M tracks (a word in
    10 % of them)."""
    out: Ranked = []
    others = False
    listed = Listed(tier, kind)
    for i, g in enumerate(groups):
        if g.fallback and out:
            return out, True, others
        src = Source(g.searcher)
        k = ranking.cover(want - len(out))
        again = listed.again(g)
        hits, done = ranking.top(src, functools.partial(_query, g.make, filters), kind, k + again)
        pops = src.numbers("popularity", hits)
        if again:
            hits, pops = listed.unlisted(src, g, hits, pops)
        if not done:  # whole windows only: the next page's windows start where these end
            hits, pops = hits[:k], pops[:k]
        ranked = ranking.in_windows(hits, pops)
        out.extend((s, src, a) for s, a in ranked)
        others = others or (bool(ranked) and not g.in_order)
        last = i == len(groups) - 1
        if not done or (len(out) >= want and not last):
            return out, False, True
        if not last:
            listed.remember(src, g, hits, pops)
    return out, True, others


def _query(make: Make, filters: Callable[[bool], list[Query]], with_kind: bool) -> Query:
    return make(filters(with_kind))


def completed(
    builder: Builder,
    parsed: Parsed,
    filters: list[Query],
    main: tantivy.Searcher,
    listed: Ranked | None = None,
) -> Ranked:
    """Search as you type when the last word's ``PREFIX_TERMS`` most frequent completions (or,
    for a word many documents hold, the word itself) matched nothing: the documents the other
    words match, when at most ``COMPLETING`` do, whose title, artists or album holds a word
    starting with the last one. Ranked by the other words' text score and popularity, after
    and without ``listed`` (the exact pass's in-order matches, when only they matched: the
    last word completed right after the others, see ``search.passes``).

    Before this, such a query ("gliroshi kra" for a title whose word is a rarer "kra…") went on
    to the typo passes: 12 % of the bench's prefix queries at 10M tracks, each ~32 ms of CPU.
    The completions are checked in the stored documents when few match the other words, else
    by Tantivy (the lexicon's every completion of the word, in the near fields): reading 1,800
    stored documents for "cranort pro" at 10M measured 30 ms, the query 6-9 ms."""
    listed = listed or []
    terms = builder.analyzer.analyze(parsed.words[-1]) if parsed.words else []
    if len(parsed.words) < 2 or len(terms) != 1 or len(terms[0]) < 2:
        return list(listed)
    prefix = terms[0]
    if builder.started(prefix):  # the exact pass matched every completion already
        return list(listed)
    words = builder.lexicon.starting(prefix) if builder.lexicon is not None else None
    if words == ():  # no term of the index starts with it: nothing to complete, and the
        return list(listed)  # other words' search is spared ("vax fro prmo": 8-20 ms at 10M)
    rest = builder.build(
        replace(parsed, words=parsed.words[:-1]), edits=0, filters=filters, prefix=False
    )
    src = Source(main)
    hits = src.search(rest, COMPLETING + 1)
    if len(hits) > COMPLETING or not hits:  # the other words are not selective
        return list(listed)
    if len(hits) <= READ_FEW or words is None:
        kept = [h for h in hits if _completes(builder, src.doc(h[1]), prefix)]
    else:
        sets = [Query.term_set_query(builder.schema, n, list(words)) for n in NEAR_FIELDS]
        any_field = Query.boolean_query([(Occur.Should, q) for q in sets])
        q = Query.boolean_query(
            [(Occur.Must, rest), (Occur.Must, Query.const_score_query(any_field, 0.0))]
        )
        kept = src.search(q, COMPLETING)
    seen = {(a.segment_ord, a.doc) for _, _, a in listed}
    kept = [h for h in kept if (h[1].segment_ord, h[1].doc) not in seen]
    pops = src.numbers("popularity", kept)
    return [*listed, *((s, src, a) for s, a in ranking.in_windows(kept, pops))]


def _completes(builder: Builder, doc: tantivy.Document, prefix: str) -> bool:
    text = " ".join(doc.get_first(n) or "" for n in NEAR_FIELDS)
    return any(t.startswith(prefix) for t in builder.analyzer.analyze(text))
