"""Who is calling: Subsonic password, token and API-key authentication, with a failure limit.

Mechanisms (OpenSubsonic): ``u`` + ``p`` (clear or ``enc:`` hex), ``u`` + ``t`` + ``s`` where
``t = md5(password + salt)``, or ``apiKey`` alone (the ``apiKeyAuthentication`` extension: with
``u``/``p``/``t``/``s`` beside it the answer is 43, as it is for ``p`` with ``t``; an unknown
or revoked key is 44). Failed attempts are counted per user name and per client address over a
sliding minute; past the ``auth_attempts_per_minute`` setting further attempts are refused
without being checked, so a password cannot be guessed at request speed.

One more kind, for the web player only: a logged-in browser session (:class:`WebCredential`),
accepted when the signed session cookie, the session's CSRF token and a same-origin request all
hold, and no other credential is given. So the player's JavaScript never holds a password,
token or key, and another site cannot make a logged-in browser call the API.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.fernet import Fernet

from longplay.server import accounts
from longplay.server.errors import (
    CONFLICTING_MECHANISMS,
    INVALID_API_KEY,
    WRONG_CREDENTIALS,
    SubsonicError,
    missing,
)

# A password changed by `longplay user passwd` is seen within this, or at once: a cached
# credential outlives it only while state.sqlite's data version says nothing was committed since
# it was read. Expiring on time alone sent every request in flight for a user through a worker
# thread at once, every CACHE_S, the p99 tail of bench/RESULTS.md (issue 21, h-srv).
CACHE_S = 5.0
WINDOW_S = 60.0
MAX_KEYS = 100_000  # user names and addresses with recent failures kept at most


class RateLimiter:
    """Failures per key over a sliding window; thread-safe, memory bounded.

    Only keys with a failure in the window are kept: asking about a name adds nothing, and a key
    whose failures have aged out is dropped when next looked at. Past ``max_keys`` keys (a
    flood of made-up names from many addresses) the aged-out ones go first, then the oldest,
    so memory stays under ``max_keys * limit`` timestamps whatever arrives.
    """

    def __init__(self, limit: int, window_s: float = WINDOW_S, max_keys: int = MAX_KEYS):
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _count(self, key: str, now: float) -> int:
        q = self._failures.get(key)
        if q is None:
            return 0
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return len(q)

    def blocked(self, *keys: str) -> bool:
        if self.limit <= 0:
            return False
        now = time.monotonic()
        with self._lock:
            return any(self._count(k, now) >= self.limit for k in keys)

    def fail(self, *keys: str) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._count(k, now)
                q = self._failures.setdefault(k, deque(maxlen=self.limit))
                q.append(now)
            if len(self._failures) > self.max_keys:
                self._shrink(now)

    def _shrink(self, now: float) -> None:
        for k in list(self._failures):
            self._count(k, now)
        # Still too many live keys: forget the oldest (dicts keep insertion order), down to
        # three quarters, so the next flood pays this walk again only after max_keys/4 keys.
        for k in list(self._failures)[: len(self._failures) - self.max_keys * 3 // 4]:
            del self._failures[k]

    def __len__(self) -> int:
        return len(self._failures)


def decode_password(p: str) -> str:
    if p.startswith("enc:"):
        try:
            return bytes.fromhex(p[4:]).decode()
        except (ValueError, UnicodeDecodeError):
            raise SubsonicError(WRONG_CREDENTIALS) from None
    return p


@dataclass(frozen=True)
class WebCredential:
    """What a browser brought: the user of a valid session cookie, and the other two checks."""

    user: str | None
    csrf_ok: bool
    same_origin: bool
    stamp: str = ""  # the session's password stamp (accounts.password_stamp)


def _matches(password: str, p: str | None, t: str | None, s: str | None) -> bool:
    """Whether a password ``p`` (clear or ``enc:``), or else a token ``t`` of salt ``s``, is
    ``password``'s."""
    if p is not None:
        return hmac.compare_digest(decode_password(p).encode(), password.encode())
    want = hashlib.md5((password + (s or "")).encode()).hexdigest()
    return hmac.compare_digest(want, (t or "").lower())


class Authenticator:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        key: Fernet,
        limit: int,
        version: Callable[[], int] | None = None,
    ):
        self._connect = connect
        self._key = key
        self._version = version  # state.sqlite's data version (answers.MarkIndex.version)
        self.limiter = RateLimiter(limit)
        # name -> (expiry, user, clear password, data version it was read at)
        self._cache: dict[str, tuple[float, accounts.User | None, str | None, int]] = {}
        self._lock = threading.Lock()

    def _fresh(self, hit: tuple[float, accounts.User | None, str | None, int]) -> bool:
        if hit[0] > time.monotonic():
            return True
        return self._version is not None and hit[3] >= 0 and hit[3] == self._version()

    def _user(self, name: str) -> tuple[accounts.User | None, str | None]:
        with self._lock:
            hit = self._cache.get(name)
        if hit and self._fresh(hit):
            return hit[1], hit[2]
        version = self._version() if self._version is not None else -1  # before the read
        con = self._connect()
        user = accounts.find_user(con, name)
        password = accounts.password_of(con, self._key, name) if user else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[name] = (time.monotonic() + CACHE_S, user, password, version)
        return user, password

    def cached(self, params: Mapping[str, str], address: str) -> accounts.User | None:
        """The user of a ``u`` with ``p`` or ``t`` + ``s`` whose password is in the cache and
        matches; None for anything else (the caller takes :meth:`authenticate`'s full path,
        which also counts failures). No SQLite: cheap enough for the event loop."""
        u = params.get("u")
        p, t, s = params.get("p"), params.get("t"), params.get("s")
        if (
            not u
            or "apiKey" in params
            or (p is None) == (t is None)
            or (t is not None and s is None)
        ):
            return None
        with self._lock:
            hit = self._cache.get(u)
        if hit is None or hit[1] is None or hit[2] is None or not self._fresh(hit):
            return None
        if self.limiter.blocked(f"user:{u.lower()}", f"addr:{address}"):
            return None
        if p is not None and p.startswith("enc:"):
            return None  # decoding and its errors: the full path
        return hit[1] if _matches(hit[2], p, t, s) else None

    def forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)

    def authenticate(
        self, params: Mapping[str, str], address: str, web: WebCredential | None = None
    ) -> accounts.User:
        """The calling user, or a SubsonicError with the spec's code."""
        api_key = params.get("apiKey")
        u = params.get("u")
        if web is not None and api_key is None and not u:
            return self._by_session(web)
        if api_key is not None:
            if any(params.get(k) is not None for k in ("u", "p", "t", "s")):
                raise SubsonicError(CONFLICTING_MECHANISMS)
            return self._by_key(api_key, address)
        if not u:
            raise missing("u")
        if params.get("p") is not None and params.get("t") is not None:
            raise SubsonicError(CONFLICTING_MECHANISMS, "Give either p or t and s, not both.")
        keys = (f"user:{u.lower()}", f"addr:{address}")
        if self.limiter.blocked(*keys):
            raise SubsonicError(
                WRONG_CREDENTIALS, "Too many failed authentications; try again in a minute."
            )
        p, t, s = params.get("p"), params.get("t"), params.get("s")
        if p is None and (t is None or s is None):
            raise missing("p" if t is None and s is None else ("s" if s is None else "t"))
        user, password = self._user(u)
        if user is None or password is None or not _matches(password, p, t, s):
            self.limiter.fail(*keys)
            raise SubsonicError(WRONG_CREDENTIALS)
        return user

    def _by_key(self, api_key: str, address: str) -> accounts.User:
        keys = (f"addr:{address}",)
        if self.limiter.blocked(*keys):
            raise SubsonicError(INVALID_API_KEY, "Too many failed authentications; wait a minute.")
        user, revoked = accounts.user_for_api_key(self._connect(), api_key)
        if user is None or revoked:
            self.limiter.fail(*keys)
            raise SubsonicError(INVALID_API_KEY, "API key revoked." if revoked else None)
        return user

    def _by_session(self, web: WebCredential) -> accounts.User:
        # All three or nothing: a cookie alone is what a cross-site request would carry.
        if web.user is None or not web.csrf_ok or not web.same_origin:
            raise SubsonicError(WRONG_CREDENTIALS, "Not logged in, or the CSRF token is missing.")
        # A new password (or a deleted user) since login ends the session: one indexed lookup.
        if accounts.password_stamp(self._connect(), web.user) != web.stamp:
            raise SubsonicError(WRONG_CREDENTIALS, "Logged out: the password changed.")
        user, _ = self._user(web.user)
        if user is None:
            raise SubsonicError(WRONG_CREDENTIALS)
        return user
