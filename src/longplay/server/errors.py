"""Subsonic errors: the spec's codes, and the mapping of everything else onto them.

A handler raises :class:`SubsonicError`; the app renders it as a ``failed`` envelope with HTTP
200, as Subsonic clients expect. Longplay's own errors become code 10 (bad input) or 0, and any
other exception becomes a generic code 0 with no detail: a response never carries a stack trace
or a filesystem path (the log has them).
"""

from __future__ import annotations

import errno
import re
import sqlite3

from longplay.errors import InputError, LongplayError

GENERIC = 0
MISSING_PARAMETER = 10
CLIENT_TOO_OLD = 20
SERVER_TOO_OLD = 30
WRONG_CREDENTIALS = 40
TOKEN_NOT_SUPPORTED = 41
MECHANISM_NOT_SUPPORTED = 42
CONFLICTING_MECHANISMS = 43
INVALID_API_KEY = 44
NOT_AUTHORIZED = 50
NOT_FOUND = 70

MESSAGES = {
    GENERIC: "A generic error.",
    MISSING_PARAMETER: "Required parameter is missing.",
    CLIENT_TOO_OLD: "Incompatible Subsonic REST protocol version. Client must upgrade.",
    SERVER_TOO_OLD: "Incompatible Subsonic REST protocol version. Server must upgrade.",
    WRONG_CREDENTIALS: "Wrong username or password.",
    TOKEN_NOT_SUPPORTED: "Token authentication not supported.",
    MECHANISM_NOT_SUPPORTED: "Provided authentication mechanism not supported.",
    CONFLICTING_MECHANISMS: "Multiple conflicting authentication mechanisms provided.",
    INVALID_API_KEY: "Invalid API key.",
    NOT_AUTHORIZED: "User is not authorized for the given operation.",
    NOT_FOUND: "The requested data was not found.",
}

# Anything that looks like an absolute path: scrubbed from messages that leave the server.
_PATH = re.compile(r"(?:[A-Za-z]:)?/(?:[^\s'\"/]+/)+[^\s'\"]*")


class SubsonicError(Exception):
    def __init__(self, code: int, message: str | None = None):
        super().__init__(message or MESSAGES.get(code, MESSAGES[GENERIC]))
        self.code = code
        self.message = scrub(message or MESSAGES.get(code, MESSAGES[GENERIC]))


def scrub(message: str) -> str:
    return _PATH.sub("<path>", message)[:300]


def missing(name: str) -> SubsonicError:
    return SubsonicError(MISSING_PARAMETER, f"Required parameter '{name}' is missing.")


def not_found(what: str) -> SubsonicError:
    return SubsonicError(NOT_FOUND, f"{what} not found")


def not_implemented(endpoint: str) -> SubsonicError:
    return SubsonicError(GENERIC, f"{endpoint} is not implemented by this server")


def gone(endpoint: str, instead: str) -> SubsonicError:
    return SubsonicError(GENERIC, f"{endpoint} is gone from this server; use {instead}")


# What SQLite and the OS say when state.sqlite cannot be written: a full or read-only disk.
_WRITE_FAILURES = ("disk is full", "disk i/o error", "readonly database", "read-only file system")
WRITE_FAILED = (
    "the server cannot save changes right now (its state disk is full or read-only); "
    "browsing and playing still work"
)


def is_write_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a write the disk refused (reported and counted, not a bug)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(
        m in str(exc).lower() for m in _WRITE_FAILURES
    )


def from_exception(exc: BaseException) -> SubsonicError:
    """The error a client sees for ``exc``."""
    if isinstance(exc, SubsonicError):
        return exc
    if is_write_failure(exc):
        return SubsonicError(GENERIC, WRITE_FAILED)
    if isinstance(exc, InputError):
        return SubsonicError(MISSING_PARAMETER, str(exc))
    if isinstance(exc, LongplayError):
        return SubsonicError(GENERIC, str(exc))
    if isinstance(exc, PermissionError):
        return SubsonicError(NOT_AUTHORIZED)
    if isinstance(exc, LookupError):
        return SubsonicError(NOT_FOUND)
    return SubsonicError(GENERIC, "internal error")
