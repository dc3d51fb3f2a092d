"""Annotation endpoints: star and unstar (idempotent), setRating, scrobble (a play; stream is not)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from longplay.server import library_state as ls
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint, parse_id
from longplay.server.errors import missing, not_found


def _items(call: Call) -> list[str]:
    items = []
    for value in call.all("id"):
        prefix = value[:3]
        if prefix not in (r.TRACK, r.ALBUM, r.ARTIST):
            raise not_found(f"item {value[:40]!r}")
        parse_id(value, prefix)
        items.append(value)
    for value in call.all("albumId"):
        items.append(r.wire_id(r.ALBUM, parse_id(value, r.ALBUM)))
    for value in call.all("artistId"):
        items.append(r.wire_id(r.ARTIST, parse_id(value, r.ARTIST)))
    if not items:
        raise missing("id")
    return items


@endpoint("star")
def star(call: Call) -> r.Payload:
    ls.star(call.state, call.user.user_id, _items(call))
    return r.Payload()


@endpoint("unstar")
def unstar(call: Call) -> r.Payload:
    ls.unstar(call.state, call.user.user_id, _items(call))
    return r.Payload()


@endpoint("setRating")
def set_rating(call: Call) -> r.Payload:
    item = call.require("id")
    prefix = item[:3]
    parse_id(item, prefix if prefix in (r.TRACK, r.ALBUM, r.ARTIST) else r.TRACK)
    rating = call.int("rating")
    if rating is None:
        raise missing("rating")
    ls.set_rating(call.state, call.user.user_id, item, rating)
    return r.Payload()


@endpoint("scrobble")
def scrobble(call: Call) -> r.Payload:
    """Record plays (``submission=false`` is a "now playing" notice and records nothing)."""
    ids = call.all("id")
    if not ids:
        raise missing("id")
    if call.flag("submission") is False:
        return r.Payload()
    times = call.all("time")
    b = call.view.browse
    for i, value in enumerate(ids):
        track = b.track(parse_id(value, r.TRACK))
        if track is None:
            raise not_found("song")
        ms = int(times[i]) if i < len(times) and times[i].isdigit() else int(time.time() * 1000)
        when = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        ls.scrobble(call.state, call.user.user_id, track.track_id, track.album_id, when)
    return r.Payload()
