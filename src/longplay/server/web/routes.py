"""The web routes: log in and out, the player shell, the archive's pages and the static assets.

Every page needs a logged-in session (else a redirect to ``/login``); every form POST needs the
session's CSRF token in its ``csrf`` field. Logins are rate limited by the same limiter as the
API (per user name and per client address), and checked against the argon2 hash.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from longplay.server import accounts
from longplay.server.web.session import CSRF_FIELD, CSRF_HEADER, Session, same_origin

if TYPE_CHECKING:
    from longplay.server.app import Server

log = logging.getLogger("longplay.server")
HERE = Path(__file__).parent
MAX_FORM_FIELD = 512


@cache
def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def server_of(request: Request) -> Server:
    server: Server = request.app.state.server
    return server


def base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def page(
    request: Request,
    name: str,
    session: Session,
    status: int = 200,
    user: accounts.User | None = None,
    **context: Any,
) -> HTMLResponse:
    sessions = server_of(request).sessions
    html = (
        templates()
        .get_template(name)
        .render(base=base(request), csrf=sessions.csrf(session), user=user, **context)
    )
    response = HTMLResponse(html, status)
    response.headers["cache-control"] = "no-store"  # pages carry the CSRF token
    return response


async def current_user(request: Request) -> tuple[Session, accounts.User] | None:
    """The logged-in session and its user, or None (no session, or the user is gone)."""
    server = server_of(request)
    session = server.sessions.of(request)
    if session is None or session.user is None:
        return None
    name = session.user

    def lookup() -> accounts.User | None:
        con = server.state()
        if accounts.password_stamp(con, name) != session.stamp:  # a new password since login
            return None
        return accounts.find_user(con, name)

    user = await run_in_threadpool(lookup)
    return (session, user) if user is not None else None


def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(base(request) + "/login", 303)


async def form_of(request: Request, session: Session) -> dict[str, str] | None:
    """The posted form's text fields when its CSRF token is the session's, else None."""
    form = await request.form(max_files=0, max_fields=50)
    fields = {k: v[:MAX_FORM_FIELD] for k, v in form.items() if isinstance(v, str)}
    if not server_of(request).sessions.csrf_ok(session, fields.get(CSRF_FIELD)):
        return None
    return fields


def refused(request: Request, session: Session) -> HTMLResponse:
    return page(
        request,
        "message.html",
        session,
        403,
        title="Refused",
        message="The form was missing its security token or it expired; reload the page and try again.",
    )


# -- login and logout -------------------------------------------------------------------------
async def login_page(request: Request) -> Response:
    server = server_of(request)
    if await current_user(request) is not None:
        return RedirectResponse(base(request) + "/", 303)
    session = server.sessions.of(request) or server.sessions.new(None)
    response = page(request, "login.html", session)
    server.sessions.set_cookie(request, response, session)
    return response


async def login(request: Request) -> Response:
    server = server_of(request)
    session = server.sessions.of(request)
    if session is None:  # no anonymous session: the form was not ours, or cookies are off
        session = server.sessions.new(None)
        response = refused(request, session)
        server.sessions.set_cookie(request, response, session)
        return response
    fields = await form_of(request, session)
    if fields is None:
        return refused(request, session)
    name = fields.get("username", "").strip()
    password = fields.get("password", "")
    address = request.client.host if request.client else "?"
    keys = (f"user:{name.lower()}", f"addr:{address}")
    limiter = server.auth.limiter
    if limiter.blocked(*keys):
        error = "Too many failed logins; wait a minute and try again."
        return page(request, "login.html", session, 429, error=error, username=name)

    def check() -> str | None:
        con = server.state()
        if not accounts.verify_web_password(con, name, password):
            return None
        return accounts.password_stamp(con, name)

    stamp = await run_in_threadpool(check) if name else None
    if stamp is None:
        limiter.fail(*keys)
        error = "Wrong user name or password."
        return page(request, "login.html", session, 401, error=error, username=name)
    done = RedirectResponse(base(request) + "/", 303)
    # A fresh nonce: a session planted before login is not the one that is logged in.
    server.sessions.set_cookie(request, done, server.sessions.new(name, stamp))
    return done


async def logout(request: Request) -> Response:
    server = server_of(request)
    session = server.sessions.of(request)
    if session is None:
        return to_login(request)
    if await form_of(request, session) is None:
        return refused(request, session)
    response = to_login(request)
    server.sessions.clear_cookie(request, response)
    return response


# -- the player -------------------------------------------------------------------------------
async def player(request: Request) -> Response:
    who = await current_user(request)
    if who is None:
        return to_login(request)
    session, user = who
    return page(request, "player.html", session, user=user)


async def carriers(request: Request) -> Response:
    """``{"tr-1": "longplay-t2-0003"}``: the torrents carrying the songs asked for (JSON)."""
    from longplay.server.web.carriers import Carriers

    server = server_of(request)
    who = await current_user(request)
    token = request.headers.get(CSRF_HEADER)
    if who is None or not server.sessions.csrf_ok(who[0], token) or not same_origin(request):
        return JSONResponse({"error": "not logged in"}, 403)
    ids: dict[int, str] = {}
    for wid in request.query_params.getlist("id")[:500]:
        digits = wid.removeprefix("tr-")
        if digits.isdigit() and len(digits) <= 20:
            ids[int(digits)] = wid
    index = server.services.setdefault("carriers", Carriers(server.archive))
    found = await run_in_threadpool(index.lookup, list(ids))
    return JSONResponse({ids[t]: name for t, name in found.items()})


def web_routes(server: Server) -> list[Any]:
    from longplay.server.web import pages

    return [
        Route("/", player),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/carriers", carriers),
        *pages.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
