"""`longplay search`: the library call the CLI, the server and the web player make.

Ranking: Tantivy's BM25 over the boosted fields, multiplied by ``log2(2 + popularity)`` inside
windows of 400 text matches, so among equally good text matches the popular track comes first
and the long tail still ranks by its text; the popular tier's strong matches come before the
whole index's others, and the whole index is read only when a page reaches past them (the
order, and why: ``search.ranking``; the tier: ``search.tier``). The order is fixed by the query
and the generation, so a query gives the same page every time and pages neither repeat nor skip
a hit. An empty query lists one kind in ID order, paged by key (``after`` = the last ``ord``
seen): each page is a range of the dense ``ord`` field, never an OFFSET scan.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Query

from longplay.archive import Archive
from longplay.catalog.store import CatalogStore
from longplay.errors import InputError, LongplayError
from longplay.search import fields, layout, passes
from longplay.search.features import TrackFeatures, key_name
from longplay.search.holdings import Holdings, NoHoldings
from longplay.search.lexicon import Lexicon
from longplay.search.passes import Ranked
from longplay.search.query import Builder
from longplay.search.syntax import parse
from longplay.search.terms import all_of
from longplay.search.tier import Tier

MAX_LIMIT = 500


@dataclass
class Hit:
    kind: str
    id: int
    ord: int
    title: str
    artists: str = ""
    album: str = ""
    year: int | None = None
    duration_ms: int | None = None
    popularity: int = 0
    isrcs: list[str] = field(default_factory=list)
    score: float = 0.0
    held: bool = False
    torrent: str | None = None
    path: str | None = None
    bpm: int | None = None  # from the analysis of the held file, as of the index build
    key: str | None = None


@dataclass
class Page:
    query: str
    total: int
    hits: list[Hit]
    next_after: int | None = None  # for an empty query: pass as ``after`` for the next page
    typo_pass: bool = False  # True when only the typo-tolerant pass matched
    total_exact: bool = True  # False: ``total`` matches were ranked and more exist (not counted)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SearchIndex:
    """One generation's index, opened once and shared by threads (searchers are thread-safe)."""

    def __init__(self, path: Path):
        self.path = path
        self.index = fields.open_index(str(path / "index"))
        self.schema = self.index.schema
        self.searcher = self.index.searcher()
        self.tier = Tier.open(path)  # None for an index built before the tier
        tier_schema = self.tier.schema if self.tier is not None else None
        self.builder = Builder(self.schema, self.searcher, Lexicon.open(path), tier_schema)
        self.counts = layout.read_counts(path)
        # Indexes built before tempo and key were fields have neither (rebuild to get them).
        self.numbers = tuple(n for n in _NUMBERS if fields.has_field(self.schema, n))

    def _kind_code(self, kind: str) -> int:
        if kind not in fields.KINDS:
            raise InputError(f"kind must be one of {', '.join(fields.KINDS)}, not {kind!r}")
        return fields.KINDS.index(kind)

    def _filters(self, kind: str | int | None, held_only: bool) -> list[Query]:
        """Filters that score 0, so a filtered query orders its matches as the bare one."""
        out = []
        if kind is not None:
            code = kind if isinstance(kind, int) else self._kind_code(kind)
            out.append(Query.const_score_query(Query.term_query(self.schema, "kind", code), 0.0))
        if held_only:
            out.append(Query.const_score_query(Query.term_query(self.schema, "held", 1), 0.0))
        return out

    def search(
        self,
        text: str,
        *,
        limit: int = 20,
        offset: int = 0,
        after: int | None = None,
        kind: str | None = None,
        held_only: bool = False,
        holdings: Holdings | None = None,
    ) -> Page:
        if not 0 < limit <= MAX_LIMIT:
            raise InputError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        if offset < 0:
            raise InputError(f"offset must not be negative, not {offset}")
        parsed = parse(text)
        holdings = holdings or NoHoldings()
        if parsed.empty:
            return self._list(text, kind or "track", limit, offset, after, held_only, holdings)
        code = None if kind is None else self._kind_code(kind)
        want = offset + limit
        # Exact, then the typo passes while nothing matches (when a word could be misspelled:
        # an ISRC, ID or range that matches nothing matches nothing with typos either).
        typos = self.builder.max_edits(parsed) if parsed.fuzzable else 0

        def filters(with_kind: bool) -> list[Query]:
            return self._filters(code if with_kind else None, held_only)

        for edits in range(typos + 1):
            groups = passes.groups(self.builder, parsed, edits, self.searcher, self.tier, code)
            ranked, exact, others = passes.run(groups, filters, code, want, self.tier)
            if edits == 0 and exact and not others:  # nothing, or only the in-order group
                ranked = passes.completed(
                    self.builder, parsed, filters(True), self.searcher, ranked
                )
            if ranked:
                break
        page = self._page(ranked[offset:want], holdings)
        return Page(text, len(ranked), page, typo_pass=edits > 0, total_exact=exact)

    def _list(
        self,
        text: str,
        kind: str,
        limit: int,
        offset: int,
        after: int | None,
        held_only: bool,
        holdings: Holdings,
    ) -> Page:
        """Everything of one kind in ``ord`` (ID) order: a key range per page."""
        start = (after + 1) if after is not None else offset
        filters = self._filters(kind, held_only)
        if held_only:  # (counting every document of a kind measured 22 ms at 1M tracks)
            total = self.searcher.search(all_of(filters), 1, count=True).count or 0  # type: ignore[attr-defined]
        else:
            total = self.counts.get(kind, 0)
        if held_only:  # sparse: the next ``limit`` held documents after the key
            rng = self.builder.range("ord", start, 2**63)
        else:  # dense per kind: the page is exactly this range
            rng = self.builder.range("ord", start, start + limit - 1)
        res = self.searcher.search(
            all_of([*filters, rng]), limit, order_by_field="ord", order=tantivy.Order.Asc
        )
        hits = self.hits([(0.0, addr) for _, addr in res.hits], holdings)
        nxt = hits[-1].ord if len(hits) == limit else None
        return Page(text, total, hits, next_after=nxt)

    def _page(self, items: Ranked, holdings: Holdings) -> list[Hit]:
        """The page's hits, each read from the index it was found in (the tier or the whole)."""
        if all(src.searcher is self.searcher for _, src, _ in items):
            read = items[0][1].docs if items else None
            return self.hits([(s, a) for s, _, a in items], holdings, read)
        docs = [src.doc(a) for _, src, a in items]  # (a tier is never older than stored numbers)
        nums = [{n: int(d.get_first(n) or 0) for n in _NUMBERS} for d in docs]
        return self._hits([s for s, _, _ in items], docs, nums, holdings)

    def hits(
        self,
        ranked: list[tuple[float, tantivy.DocAddress]],
        holdings: Holdings,
        read: dict[tuple[int, int], tantivy.Document] | None = None,
    ) -> list[Hit]:
        """The hits of documents of the whole index, each from its stored document (text, ID
        and small numbers; those in ``read`` were read already); an index built before the
        numbers were stored reads them from the fast fields."""
        read = read or {}
        docs = [read.get((a.segment_ord, a.doc)) or self.searcher.doc(a) for _, a in ranked]
        if docs and docs[0].get_first("ord") is None:
            addrs = [a for _, a in ranked]
            cols = {
                n: [int(v or 0) for v in self.searcher.fast_field_values(n, addrs)]
                for n in self.numbers
            }
            nums = [{n: c[i] for n, c in cols.items()} for i in range(len(docs))]
        else:
            nums = [{n: int(d.get_first(n) or 0) for n in _NUMBERS} for d in docs]
        return self._hits([s for s, _ in ranked], docs, nums, holdings)

    def _hits(
        self,
        scores: list[float],
        docs: list[tantivy.Document],
        nums: list[dict[str, int]],
        holdings: Holdings,
    ) -> list[Hit]:
        out = []
        for score, d, v in zip(scores, docs, nums, strict=True):
            kind = fields.KINDS[v["kind"]]
            hit = Hit(
                kind=kind,
                id=int(d.get_first("id") or 0),
                ord=v["ord"],
                title=d.get_first("title") or "",
                artists=d.get_first("artists") or "",
                album=d.get_first("album") or "",
                year=v["year"] or None,
                duration_ms=v["duration"] or None,
                popularity=v["popularity"],
                isrcs=list(d.get_all("isrc")),
                score=round(float(score), 4),
                held=bool(v["held"]),
                bpm=v.get("bpm") or None,
                key=key_name(v.get("key", 0)),
            )
            if kind == "track":
                hit.held = hit.held or holdings.is_held(hit.id)
                place = None if hit.held else holdings.where(hit.id)
                if place is not None:
                    hit.torrent, hit.path = place
            out.append(hit)
        return out


_NUMBERS = ("kind", "ord", "year", "duration", "popularity", "held", "bpm", "key")


_open: dict[Path, SearchIndex] = {}
_lock = threading.Lock()


def open_current(
    archive: Archive, holdings: Holdings | None = None, features: TrackFeatures | None = None
) -> SearchIndex:
    """The current generation's index; built first when missing (``ingest`` leaves it to us)."""
    gen = CatalogStore(archive).current_name()
    if gen is None:
        raise LongplayError(f"the archive {archive.root} has no catalog yet; nothing to search")
    path = layout.index_dir(archive, gen)
    with _lock:
        if path not in _open:
            if not layout.is_complete(path):
                from longplay.search.build import build_index

                build_index(archive, holdings=holdings, features=features)
            _open[path] = SearchIndex(path)
        return _open[path]


def open_built(archive: Archive, generation: str) -> SearchIndex | None:
    """``generation``'s index when it has been built, else None: never builds (a server must
    not stall a request on an index build; ``longplay index`` or first CLI use builds it)."""
    path = layout.index_dir(archive, generation)
    with _lock:
        if path not in _open:
            if not layout.is_complete(path):
                return None
            _open[path] = SearchIndex(path)
        return _open[path]


def search(
    archive: Archive,
    text: str,
    *,
    limit: int = 20,
    offset: int = 0,
    after: int | None = None,
    kind: str | None = None,
    held_only: bool = False,
    holdings: Holdings | None = None,
    features: TrackFeatures | None = None,
) -> Page:
    """Search the current generation (see the module docstring and docs/search.md);
    ``features`` are used only when the index has to be built first."""
    index = open_current(archive, holdings, features)
    return index.search(
        text,
        limit=limit,
        offset=offset,
        after=after,
        kind=kind,
        held_only=held_only,
        holdings=holdings,
    )


def format_page(page: Page) -> str:
    """Text for a terminal: one line per hit, then where missing tracks can be fetched."""
    if not page.hits:
        return f"no results for {page.query!r}"
    lines = []
    for h in page.hits:
        year = f" ({h.year})" if h.year else ""
        mark = "●" if h.held else "○"
        who = f" — {h.artists}" if h.artists and h.kind != "artist" else ""
        on = f" — {h.album}" if h.album else ""
        tags = "".join(f", {v}" for v in (h.bpm and f"{h.bpm} bpm", h.key) if v)
        lines.append(
            f"{mark} {h.kind:<6} {h.title}{who}{on}{year}  [id {h.id}, pop {h.popularity}{tags}]"
        )
        if h.torrent:
            lines.append(f"         in torrent {h.torrent}: {h.path}")
    more = f"; next page: --after {page.next_after}" if page.next_after is not None else ""
    typo = " (near spellings)" if page.typo_pass else ""
    total = f"{page.total:,}" + ("" if page.total_exact else "+")
    lines.append(f"{len(page.hits)} of {total} results{typo}{more}")
    return "\n".join(lines)
