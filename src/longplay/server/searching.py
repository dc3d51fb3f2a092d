"""Search endpoints: search2 and search3 (an empty query, or a literal ``""``, lists everything).

Free text goes through the current generation's search index (longplay.search: folded case and
diacritics, prefix on the last word, typo tolerance, popularity in the ranking) when it has been
built (`longplay index`). Without one, or for text the query language refuses (a quote still
open while someone types), matching falls back to name prefixes on the serving snapshot's sort
keys. Listing everything pages the snapshot by key.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

from longplay.catalog.browse import Album, Artist, Track
from longplay.server import convert
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint

KINDS = (("artist", "artist"), ("album", "album"), ("track", "song"))
# search3's kinds searched side by side (see _indexed); shared by every request
_KINDS_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=6, thread_name_prefix="search")


def _indexed(call: Call, query: str) -> tuple[list[Any], ...] | None:
    """Each kind's page through the search index; None without an index or for refused text."""
    from longplay.errors import InputError
    from longplay.search.engine import MAX_LIMIT, open_built

    index = open_built(call.server.archive, call.view.generation)
    if index is None:
        return None
    b, held = call.view.browse, call.held_only()
    lookup = {"artist": b.artist, "album": b.album, "track": b.track}
    asked = []
    for kind, prefix in KINDS:
        count = min(call.int(f"{prefix}Count", 20) or 0, MAX_LIMIT)
        offset = max(0, call.int(f"{prefix}Offset", 0) or 0)
        asked.append((kind, count, offset))

    def one(kind: str, count: int, offset: int) -> list[Any]:
        if count <= 0:
            return []
        page = index.search(query, limit=count, offset=offset, kind=kind, held_only=held)
        found = (lookup[kind](h.id) for h in page.hits)
        return [item for item in found if item is not None]

    # Alone, the kinds at once: Tantivy searches without the GIL (two threads measured 2.66 s
    # for twice the searches one thread did in 2.53 s), so one person's keystroke waits for
    # the slowest kind, not the sum (10M tracks, one typist: p99 18 -> 13.4 ms). Beside other
    # searches, one after the other: the cores are busy anyway, and the threads' overhead cost
    # 15 % of the throughput at 2 and 4 typists.
    with _searching:
        try:
            if _searching.alone():
                futures = [_KINDS_POOL.submit(one, *a) for a in asked]
                return tuple(f.result() for f in futures)
            return tuple(one(*a) for a in asked)
        except InputError:
            return None


class _InFlight:
    """How many search3 requests are searching at this moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    def __enter__(self) -> None:
        with self._lock:
            self._n += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._n -= 1

    def alone(self) -> bool:
        return self._n <= 1


_searching = _InFlight()


def _search(call: Call) -> tuple[list[Artist], list[Album], list[Track]]:
    query = call.get("query", "") or ""
    b, held = call.view.browse, call.held_only()
    if query.strip().strip('"'):
        indexed = _indexed(call, query)
        if indexed is not None:
            call.shared = True  # a generation's index never changes once built
            return indexed  # type: ignore[return-value]
    else:
        call.shared = True  # everything, paged by key

    def kind(name: str, prefix: str) -> list[Any]:
        count = call.int(f"{prefix}Count", 20)
        if not count:
            return []
        return b.search(query, name, count, call.int(f"{prefix}Offset", 0) or 0, held)

    return kind("artist", "artist"), kind("album", "album"), kind("track", "song")


@endpoint("search3")
def search3(call: Call) -> r.Payload:
    artists, albums, tracks = _search(call)
    con, uid = call.state, call.user.user_id
    return r.Payload(
        "searchResult3",
        {
            "artist": convert.artists(con, uid, artists),
            "album": convert.albums(con, uid, albums),
            "song": convert.songs(con, uid, tracks, call.view.analysis),
        },
    )


@endpoint("search2")
def search2(call: Call) -> r.Payload:
    artists, albums, tracks = _search(call)
    con, uid = call.state, call.user.user_id
    dirs = convert.album_dirs(con, uid, albums)
    return r.Payload(
        "searchResult2",
        {
            "artist": [{"id": r.wire_id(r.ARTIST, a.artist_id), "name": a.name} for a in artists],
            "album": dirs,
            "song": convert.songs(con, uid, tracks, call.view.analysis),
        },
    )
