"""Signed session cookies for the web player, with a CSRF token derived from each session.

A session is ``base64(json).signature`` in one cookie (HttpOnly, SameSite=Strict, Secure over
https), signed with HMAC-SHA256 under a key kept in ``ARCHIVE/web.key`` (0600, created on first
use, separate from ``secret.key`` so rotating one does not touch the other). Nothing is stored
server-side: the session carries a random nonce, and its CSRF token is HMAC(key, nonce), so the
server can check a token without remembering it. Logging in mints a new nonce, so a session
fixed before login is worthless after it; the session also carries a stamp of the user's
password hash (``accounts.password_stamp``), so a new password ends every browser session. A visitor who is not logged in gets an anonymous
session (user ``None``) so that the login form itself carries a CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from longplay.archive import Archive

COOKIE = "longplay_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
KEY_FILE = "web.key"
LIFETIME_S = 14 * 24 * 3600  # a browser stays logged in two weeks, then logs in again


@dataclass(frozen=True)
class Session:
    user: str | None
    nonce: str
    issued: int
    stamp: str = ""  # accounts.password_stamp at login ("" for an anonymous session)


def _load_key(path: Path) -> bytes:
    try:
        # O_EXCL: two servers starting at once cannot both create it and disagree.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
        fh.flush()
        os.fsync(fh.fileno())
    return bytes.fromhex(path.read_text().strip())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Mint, read and check sessions and their CSRF tokens under one archive's key."""

    def __init__(self, archive: Archive, base_path: str = "/"):
        self._key = _load_key(archive.root / KEY_FILE)
        self.base_path = base_path or "/"

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def encode(self, session: Session) -> str:
        fields = [session.user, session.nonce, session.issued, session.stamp]
        body = _b64(json.dumps(fields).encode())
        return f"{body}.{self._sign(body)}"

    def decode(self, value: str | None) -> Session | None:
        """The session in a cookie value, or None when it is forged, malformed or expired."""
        if not value or len(value) > 4096 or "." not in value:
            return None
        body, sig = value.rsplit(".", 1)
        if not hmac.compare_digest(sig, self._sign(body)):
            return None
        try:
            user, nonce, issued, stamp = json.loads(_unb64(body))
        except (ValueError, TypeError):
            return None
        if not isinstance(nonce, str) or not isinstance(issued, int) or not isinstance(stamp, str):
            return None
        if user is not None and not isinstance(user, str):
            return None
        if issued + LIFETIME_S < time.time():
            return None
        return Session(user, nonce, issued, stamp)

    def new(self, user: str | None, stamp: str = "") -> Session:
        return Session(user, secrets.token_urlsafe(18), int(time.time()), stamp)

    def csrf(self, session: Session) -> str:
        return self._sign("csrf:" + session.nonce)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf(session))

    def of(self, request: Request) -> Session | None:
        return self.decode(request.cookies.get(COOKIE))

    def set_cookie(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.encode(session),
            max_age=LIFETIME_S,
            path=self.base_path,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
        )

    def clear_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE, path=self.base_path, httponly=True, samesite="strict", secure=is_https(request)
        )


def is_https(request: Request) -> bool:
    # Behind a reverse proxy uvicorn's --proxy-headers sets the scheme from X-Forwarded-Proto.
    return request.url.scheme == "https"


def same_origin(request: Request) -> bool:
    """Whether the browser says the call comes from our own pages.

    Browsers send ``Sec-Fetch-Site`` on every request and ``Origin`` on state-changing ones; a
    client that sends neither is not a browser driven by another site, and still needs the
    cookie and the CSRF token.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")
    return origin is None
