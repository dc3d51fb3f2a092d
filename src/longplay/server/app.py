"""The OpenSubsonic app: :func:`create_app` builds the Starlette application over one archive.

Routes: ``/rest/NAME`` and ``/rest/NAME.view`` by GET or form POST (the ``formPost``
extension), under the ``base_url`` setting; ``/metrics`` when the ``metrics`` setting is on;
the web player's pages and assets (``server/web/``) at ``/``.
Each request is authenticated, dispatched to its handler (in a worker thread: SQLite blocks) and
answered in XML, or JSON with ``f=json``; every failure becomes a Subsonic error envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from longplay import state
from longplay.archive import Archive
from longplay.errors import InputError, LongplayError, SettingsError
from longplay.server import accounts, convert, responses
from longplay.server.answers import Answer, AnswerCache, MarkIndex, item_ids, key_of, unmarked
from longplay.server.auth import Authenticator, WebCredential
from longplay.server.endpoints import ENDPOINTS, GONE, PUBLIC, SPEC_ENDPOINTS, Call
from longplay.server.errors import (
    SubsonicError,
    from_exception,
    gone,
    is_write_failure,
    not_implemented,
)
from longplay.server.holdings import Follower
from longplay.server.limits import BodyLimit, BodyTooLarge, body_too_large_handler
from longplay.server.observe import AccessLog, Metrics, Observe
from longplay.server.web.session import CSRF_FIELD, CSRF_HEADER, Sessions, same_origin

log = logging.getLogger("longplay.server")

# An <audio> or <img> element cannot send a header, so these read-only endpoints also take the
# session's CSRF token as a parameter; every other call must send it as a header.
MEDIA_ENDPOINTS = frozenset({"stream", "getCoverArt", "download"})
# Starlette's default of 1,000 would refuse a formPost playlist of 1,001 songs; the body's size
# (server_max_body) already bounds the memory a form takes.
MAX_FORM_FIELDS = 50_000
# Endpoints whose handlers may mark an answer as the same for every caller without marks on it.
SHAREABLE = frozenset(
    {"getAlbum", "getAlbumList", "getAlbumList2", "getArtist", "getArtists", "getSong", "search3"}
)

# Endpoints whose handlers touch neither SQLite nor the catalog: answered on the event loop
# (a thread hop cost ping more than the answer; bench/RESULTS.md, h-srv).
ON_LOOP = frozenset({"ping", "getLicense", "getMusicFolders"})

# Handler modules register their endpoints when imported.
HANDLER_MODULES = (
    "system",
    "browsing",
    "lists",
    "searching",
    "annotation",
    "playlists",
    "queue",
    "users",
    "scanning",
    "media",
)


def _check_peers(setting: str) -> None:
    """A bad ``peers`` setting stops the server at start, not every later request."""
    from longplay.mirror.session import parse_peer

    for text in setting.split(","):
        if text.strip():
            try:
                parse_peer(text.strip())
            except InputError:
                raise SettingsError(f"setting peers: {text.strip()!r} is not HOST:PORT") from None


class Server:
    """What handlers share: the archive, its settings, state connections, catalog, auth."""

    def __init__(self, archive: Archive, peers: tuple[tuple[str, int], ...] = ()):
        self.archive = archive
        self.peers = peers  # `serve --peer`: for the swarm of tracks not held
        self.settings = archive.settings
        _check_peers(self.settings.peers)
        self.follower = Follower(archive)
        self.metrics = Metrics()
        self.access_log = AccessLog()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        state.ensure(archive)
        self.sessions = Sessions(archive, base_path(archive) + "/")
        self.scan: dict[str, Any] = {"scanning": False, "count": 0}
        self.services: dict[str, Any] = {}  # lazily built media services (transcoder, ...)
        self.services_lock = threading.Lock()
        self._listing = str(archive.torrents_dir / "torrents.json")  # stat per cached answer
        self.marks = MarkIndex(lambda: state.open_connection(archive, any_thread=True))
        self.auth = Authenticator(
            self.state,
            accounts.cipher(archive),
            int(self.settings.auth_attempts_per_minute),
            self.marks.version,
        )
        self.answers = AnswerCache(int(self.settings.server_answer_cache))
        # Shareable answers being computed, by key (answers.key_of): touched on the loop only.
        self.flights: dict[tuple[Any, ...], asyncio.Future[None]] = {}
        self.services["answers"] = self.answers  # its size shows in /metrics

    def state(self) -> sqlite3.Connection:
        """This thread's connection to state.sqlite (WAL: readers never block the writer)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = state.open_connection(self.archive)
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def listing_stamp(self) -> float:
        """torrents.json's time: the swarm re-reads which torrents carry tracks when it moves."""
        try:
            return os.stat(self._listing).st_mtime
        except FileNotFoundError:
            return 0.0

    def close(self) -> None:
        self.marks.close()
        swarm = self.services.get("swarm")
        if swarm is not None:
            swarm.close()
        with self._lock:
            for con in self._connections:
                # A connection made in a thread that is gone may refuse: skip it.
                with contextlib.suppress(sqlite3.ProgrammingError):
                    con.close()
            self._connections.clear()


def _params(request: Request, form: Any) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    if form is not None:
        for key, value in form.multi_items():
            if isinstance(value, str):
                params.setdefault(key, []).append(value)
    return params


def render(params: dict[str, list[str]], doc: dict[str, Any], status: int = 200) -> Response:
    fmt = (params.get("f") or ["xml"])[0]
    if fmt == "json":
        return Response(responses.to_json(doc), status, media_type="application/json")
    return Response(responses.to_xml(doc), status, media_type="application/xml")


def _error(params: dict[str, list[str]], err: SubsonicError, status: int = 200) -> Response:
    return render(params, responses.envelope(None, (err.code, err.message)), status)


def base_path(archive: Archive) -> str:
    """The ``base_url`` setting as a path prefix: ``""`` or ``/music``."""
    base = str(archive.settings.base_url).strip().rstrip("/")
    if base and not base.startswith("/"):
        base = "/" + base
    return base


def web_credential(server: Server, request: Request, name: str) -> WebCredential | None:
    """The browser session a call carries, if any (see auth.WebCredential)."""
    session = server.sessions.of(request)
    if session is None:
        return None
    token = request.headers.get(CSRF_HEADER)
    if token is None and name in MEDIA_ENDPOINTS:
        token = request.query_params.get(CSRF_FIELD)
    return WebCredential(
        session.user,
        server.sessions.csrf_ok(session, token),
        same_origin(request),
        session.stamp,
    )


def _from_cache(
    server: Server, name: str, params: dict[str, list[str]], address: str
) -> Response | None:
    """A kept answer (server/answers.py) if this call may have it; None: the full path."""
    if name not in SHAREABLE or server.answers.budget <= 0:
        return None
    view = server.follower.built()
    answer = server.answers.get(view, key_of(name, params)) if view is not None else None
    if answer is None or answer.listing != server.listing_stamp():
        return None
    user = server.auth.cached({k: v[0] for k, v in params.items() if v}, address)
    if user is None or not unmarked(server.marks.current(user.user_id), answer.ids):
        return None
    return Response(answer.body, media_type=answer.media_type)


def _rendered(
    server: Server, call: Call, name: str, payload: responses.Payload, at: tuple[int, float]
) -> Response:
    """The answer's response; kept for others when the handler says it may be (Call.shared)
    and this user has no marks on it, all as of state version and listing time ``at``."""
    doc = responses.envelope(payload)
    response = render(call.params, doc)
    if call.shared and at[0] >= 0 and convert.PLAYABLE.get() is None:
        ids = frozenset(item_ids(doc, set()))
        if unmarked(server.marks.load(call.state, call.user.user_id, at[0]), ids):
            answer = Answer(bytes(response.body), response.media_type or "", ids, at[1])
            server.answers.put(call.view, key_of(name, call.params), answer)
    return response


def _sync_call(server: Server, call: Call, name: str, address: str) -> Any:
    shareable = name in SHAREABLE and server.answers.budget > 0
    # Read before the handler: a star or a new torrent meanwhile keeps its answer from the cache.
    at = (server.marks.version(), server.listing_stamp()) if shareable else (-1, 0.0)
    if name not in PUBLIC:
        flat = {k: v[0] for k, v in call.params.items() if v}
        web = web_credential(server, call.request, name)
        call.user = server.auth.authenticate(flat, address, web)
    if name in GONE:
        raise gone(name, GONE[name])
    ep = ENDPOINTS.get(name)
    if ep is None:
        raise not_implemented(name)
    if ep.raw:
        return ep
    # Songs not held are marked playable when the swarm can deliver them (convert.song).
    from longplay.server import swarmstream

    convert.PLAYABLE.set(swarmstream.availability(server))
    result = ep.handler(call)
    if isinstance(result, responses.Payload):  # rendered here, off the event loop
        return _rendered(server, call, name, result, at)
    return result


async def dispatch(request: Request) -> Response:
    server: Server = request.app.state.server
    name = request.path_params["name"].removesuffix(".view")
    form = None
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:  # the body's size is bounded by BodyLimit; its field count here
                form = await request.form(max_fields=MAX_FORM_FIELDS)
            except HTTPException as exc:  # too many fields or parts, a malformed body
                params = _params(request, None)
                return _error(params, SubsonicError(0, f"Bad form body: {exc.detail}"), 400)
    params = _params(request, form)
    request.state.endpoint = name if name in SPEC_ENDPOINTS else "unknown"
    if name not in SPEC_ENDPOINTS:
        return _error(params, SubsonicError(0, f"unknown endpoint {name[:60]!r}"), 404)
    address = request.client.host if request.client else "?"
    kept = _from_cache(server, name, params, address)
    if kept is not None:
        return kept
    if name not in SHAREABLE or server.answers.budget <= 0:
        return await _answer(server, request, name, params, address)
    # One computation per shareable answer at a time: callers asking for it meanwhile wait for
    # it and take the kept copy (a cold answer under 256 connections was computed 256 times
    # at once in the thread pool, seconds of queue; bench/RESULTS.md, h-srv).
    key = key_of(name, params)
    pending = server.flights.get(key)
    if pending is not None:
        await asyncio.wait((pending,))  # not shielded: a waiter's cancellation stays its own
        kept = _from_cache(server, name, params, address)
        if kept is not None:
            return kept
        return await _answer(server, request, name, params, address)
    flight: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    server.flights[key] = flight
    try:
        return await _answer(server, request, name, params, address)
    finally:
        del server.flights[key]
        flight.set_result(None)


async def _answer(
    server: Server, request: Request, name: str, params: dict[str, list[str]], address: str
) -> Response:
    """The full path: credentials, handler (in a worker thread unless it needs none), render."""
    call = Call(request, params, server)
    try:
        ep = ENDPOINTS.get(name)
        if ep is not None and (ep.raw or name in ON_LOOP) and name not in PUBLIC:
            # Streams and answers without I/O: no thread hop when the credentials are cached.
            user = server.auth.cached({k: v[0] for k, v in params.items() if v}, address)
            if user is not None:
                call.user = user
                if not ep.raw:
                    return render(params, responses.envelope(ep.handler(call)))
                response: Response = await ep.handler(call)
                return response
        result = await run_in_threadpool(_sync_call, server, call, name, address)
        if isinstance(result, Response):
            return result
        response = await result.handler(call)
        return response
    except Exception as exc:  # every failure is an envelope, never a trace
        if isinstance(exc, LongplayError):  # bad input, said in one line: no trace to log
            log.warning("%s failed: %s", name, exc)
        elif is_write_failure(exc):  # a full state disk: reads go on, each failed write counted
            server.metrics.count("state_write_failures")
            log.error("%s could not save to state.sqlite: %s", name, exc)
        elif not isinstance(exc, SubsonicError):
            log.exception("%s failed", name)
        return _error(params, from_exception(exc))


async def metrics_endpoint(request: Request) -> Response:
    server: Server = request.app.state.server
    return PlainTextResponse(server.metrics.render(server), media_type="text/plain; version=0.0.4")


def create_app(archive: Archive, peers: tuple[tuple[str, int], ...] = ()) -> Starlette:
    """The ASGI app serving ``archive`` (its catalog view is built on the first request)."""
    import importlib

    from longplay.server.web.headers import SecurityHeaders
    from longplay.server.web.routes import web_routes

    for module in HANDLER_MODULES:
        importlib.import_module(f"longplay.server.{module}")
    server = Server(archive, peers)
    routes: list[Any] = [
        Route("/rest/{name:str}", dispatch, methods=["GET", "POST", "HEAD"]),
    ]
    if archive.settings.metrics:
        routes.append(Route("/metrics", metrics_endpoint))
    routes += web_routes(server)
    base = base_path(archive)
    if base:
        routes = [Mount(base, routes=routes)]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        server.access_log.flush()
        server.close()

    max_body = int(archive.settings.server_max_body)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={BodyTooLarge: body_too_large_handler(max_body)},
    )
    app.state.server = server
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_body=max_body)
    app.add_middleware(Observe, metrics=server.metrics, log=server.access_log)
    return app
