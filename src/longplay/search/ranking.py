"""Result order: text matches ranked by popularity in windows, the popular tier's first.

**Within one index.** A pass's matches are taken in text-score order (Tantivy's BM25 over the
boosted fields; ties by document address, fixed for a generation) and cut into windows of
``WINDOW``; inside each window they are reordered by ``score × log2(2 + popularity)``. The
whole order is fixed by the query, whatever page is asked, so pages never repeat or skip a hit
(a page deeper than the first window reads the windows before it). Reordering every match
instead (Tantivy's ``weight_by_field``) scores every match: for a word in 10 % of 1M tracks that
measured 19 ms against 5 ms, and among 1,000 candidates the top 5 were the exhaustive ranking's.

**Across the tiers** (an explicit tiered order, as large engines serve a head index first):
  1. *strong matches in the popular tier* (``search.tier``: each kind's top ~5 % by popularity):
     every free word (or quoted phrase) in the title or the artists, every field term as asked;
  2. *every other match*, from the whole index: the tail, and tier documents that matched only
     through album, album artists or genres.
Between them, for two or more words, the whole index's matches holding the words in the typed
order in the title or an artist's name; on a typo pass that group, and the tier's, come
before the tier's other strong matches (among near spellings the typed order tells the meant
track). The groups of each
pass: ``search.passes``. A group is searched only when a page reaches past the ones before it,
i.e. when they hold fewer matches than ``offset + limit``: a common word ("love", in 10 % of
the catalog) is answered from the tier alone; a rare word, a specific title, a typo or a field
query that few popular documents match goes on to the whole index, where its postings are
short. So the popular track whose title is the query comes first, a tail track is on the first
page when fewer than a page of popular documents strongly match (a specific title or a rare
word), and every document matching the query is in the order exactly once. An exact score bound between the tiers (BM25
<= idf·(k1+1)·boost per term × the tail's best popularity weight) was not used: the tier's
scores use the tier's statistics, tantivy-py cannot score with another index's, and the bound,
summed over five fields (boosts 8 against a title match's 3), is loose enough that the tail
could almost never be skipped.
Key lookups (``isrc:``, ``upc:``, ``mbid:``, ``id:``) skip the tier: a handful of documents.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import tantivy

WINDOW = 400  # text matches reordered by popularity together
FEW = 8  # up to this many matches, their numbers come from their stored documents
FEW_KEYS = 64  # up to this many tier documents among the whole index's hits, keys likewise

Scored = tuple[float, tantivy.DocAddress]


def cover(n: int) -> int:
    """Matches to take in text order so that whole windows hold the first ``n``."""
    return max(1, -(-n // WINDOW)) * WINDOW


@dataclass
class Source:
    """One index's searcher, with the stored documents read from it during one query."""

    searcher: tantivy.Searcher
    docs: dict[tuple[int, int], tantivy.Document] = field(default_factory=dict)

    def doc(self, a: tantivy.DocAddress) -> tantivy.Document:
        key = (a.segment_ord, a.doc)
        if key not in self.docs:
            self.docs[key] = self.searcher.doc(a)
        return self.docs[key]

    def numbers(self, name: str, hits: list[Scored], few: int = FEW) -> list[int]:
        """A small number of each hit: from the stored documents for up to ``few`` hits (each
        fast column read opens the column in every segment: an ISRC lookup at 1M tracks spent
        1.3 of its 4.2 ms profiled in two of them), else from the fast field."""
        if len(hits) <= few:
            got = [self.doc(a).get_first(name) for _, a in hits]
            if None not in got:  # (else an index from before stored numbers)
                return [int(v or 0) for v in got]
        values = self.searcher.fast_field_values(name, [a for _, a in hits])
        return [int(v or 0) for v in values]

    def search(self, q: tantivy.Query, k: int) -> list[Scored]:
        """The best ``k`` matches, best first, ties in document order."""
        hits = self.searcher.search(q, k, count=False).hits
        hits.sort(key=lambda h: (-h[0], h[1].segment_ord, h[1].doc))
        return hits


def top(
    src: Source, query: Callable[[bool], tantivy.Query], kind: int | None, k: int
) -> tuple[list[Scored], bool]:
    """The first ``k`` matches of ``kind`` in text order, and whether that is all of them.

    ``query(True)`` holds the kind as a filter, ``query(False)`` does not: the kind is first
    checked on the candidates (a kind term intersects with nearly every document: 24 ms against
    7 for a common word at 1M), and asked of Tantivy only when too few candidates have it.
    Both orders are the same (filters score 0), so either way gives the same prefix."""
    if kind is None:
        hits = src.search(query(False), k)
        return hits, len(hits) < k
    asked = k + k // 2
    hits = src.search(query(False), asked)
    kept = [h for h, c in zip(hits, src.numbers("kind", hits), strict=True) if c == kind]
    if len(hits) < asked or len(kept) >= k:
        return kept[:k], len(hits) < asked
    hits = src.search(query(True), k)
    return hits, len(hits) < k


def in_windows(hits: list[Scored], popularity: list[int]) -> list[Scored]:
    """``hits`` (text order) reordered by score × log2(2 + popularity) inside each window."""
    out: list[Scored] = []
    for i in range(0, len(hits), WINDOW):
        w = [
            (s * math.log2(2 + p), a)
            for (s, a), p in zip(hits[i : i + WINDOW], popularity[i : i + WINDOW], strict=True)
        ]
        w.sort(key=lambda x: (-x[0], x[1].segment_ord, x[1].doc))
        out.extend(w)
    return out


def keys(src: Source, hits: list[Scored], few: int = FEW) -> list[tuple[int, int]]:
    """(kind, ord) of each hit: the same document's key in the tier and in the whole index."""
    if not hits:
        return []
    kinds, ords = src.numbers("kind", hits, few), src.numbers("ord", hits, few)
    return list(zip(kinds, ords, strict=True))
