"""Play queue endpoints: by song ID (getPlayQueue, savePlayQueue) and by index (indexBasedQueue)."""

from __future__ import annotations

from longplay.server import convert
from longplay.server import library_state as ls
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint, parse_id
from longplay.server.errors import SubsonicError

MAX_QUEUE = 10_000


def _client(call: Call) -> str:
    return (call.get("c") or "unknown")[:100]


def _ids(call: Call) -> list[int]:
    ids = [parse_id(v, r.TRACK) for v in call.all("id")]
    if len(ids) > MAX_QUEUE:
        raise SubsonicError(0, f"a play queue holds at most {MAX_QUEUE} songs")
    return ids


def _queue(call: Call, by_index: bool) -> r.Payload:
    q = ls.queue(call.state, call.user.user_id)
    name = "playQueueByIndex" if by_index else "playQueue"
    if q is None:  # no saved queue: an empty one (the schema wants a user and a date)
        return r.Payload(name, r.PlayQueue(call.user.name, convert.EPOCH, ""))
    tracks = call.view.browse.tracks(list(q.track_ids))
    out = r.PlayQueue(
        username=call.user.name,
        changed=q.changed,
        changedBy=q.changed_by,
        position=q.position_ms,
        entry=convert.songs(call.state, call.user.user_id, tracks, call.view.analysis),
    )
    if q.current_index is not None:
        if by_index:
            out.currentIndex = q.current_index
        elif q.current_index < len(q.track_ids):
            out.current = r.wire_id(r.TRACK, q.track_ids[q.current_index])
    return r.Payload(name, out)


@endpoint("getPlayQueue")
def get_play_queue(call: Call) -> r.Payload:
    return _queue(call, by_index=False)


@endpoint("getPlayQueueByIndex")
def get_play_queue_by_index(call: Call) -> r.Payload:
    return _queue(call, by_index=True)


@endpoint("savePlayQueue")
def save_play_queue(call: Call) -> r.Payload:
    ids = _ids(call)
    current = call.get("current")
    index = None
    if current and ids:
        wanted = parse_id(current, r.TRACK)
        if wanted not in ids:
            raise SubsonicError(0, "current is not in the queue")
        index = ids.index(wanted)
    ls.save_queue(
        call.state, call.user.user_id, ids, index, call.int("position", 0) or 0, _client(call)
    )
    return r.Payload()


@endpoint("savePlayQueueByIndex")
def save_play_queue_by_index(call: Call) -> r.Payload:
    ids = _ids(call)
    index = call.int("currentIndex")
    if ids and index is None:
        index = 0
    ls.save_queue(
        call.state, call.user.user_id, ids, index, call.int("position", 0) or 0, _client(call)
    )
    return r.Payload()
