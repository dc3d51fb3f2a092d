"""Users and API keys in state.sqlite: hashed web passwords, encrypted Subsonic passwords, keys.

Subsonic's token auth (``t = md5(password + salt)``) needs the password itself, so besides the
argon2 hash (for web logins) each user's password is stored encrypted with a Fernet key kept in
``ARCHIVE/secret.key`` (mode 0600, created on first use). API keys are random strings shown once;
only their SHA-256 is stored, and a revoked key stays in the table so its error can say so.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from longplay import state
from longplay.archive import Archive
from longplay.errors import InputError, LongplayError

KEY_FILE = "secret.key"
ADMIN = "admin"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    is_admin: bool
    created: str


@dataclass(frozen=True)
class ApiKey:
    key_id: int
    user: str
    name: str
    created: str
    revoked: str | None


def key_path(archive: Archive) -> Path:
    return archive.root / KEY_FILE


def cipher(archive: Archive) -> Fernet:
    """The archive's Fernet key, created with mode 0600 the first time it is needed."""
    path = key_path(archive)
    try:
        # O_EXCL: two processes creating it at once cannot both win and disagree on the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Fernet(path.read_bytes().strip())
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key())
        fh.flush()
        os.fsync(fh.fileno())
    return Fernet(path.read_bytes().strip())


def new_password() -> str:
    return secrets.token_urlsafe(12)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or any(c in name for c in "\x00\r\n\t"):
        raise InputError(f"{name!r} is not a user name (1-64 printable characters)")
    return name


def _row(row: tuple[int, str, int, str]) -> User:
    return User(row[0], row[1], bool(row[2]), row[3])


def add_user(
    archive: Archive, name: str, password: str | None = None, *, admin: bool = False
) -> str:
    """Create a user; the password (generated when not given), to show once."""
    name = _check_name(name)
    password = password or new_password()
    enc = cipher(archive).encrypt(password.encode())
    try:
        with state.writing(archive) as con:
            con.execute(
                "INSERT INTO users (name, password_hash, password_enc, is_admin) VALUES (?,?,?,?)",
                (name, _hasher.hash(password), enc, int(admin)),
            )
    except sqlite3.IntegrityError:
        raise InputError(f"user {name!r} already exists") from None
    return password


def set_password(archive: Archive, name: str, password: str | None = None) -> str:
    password = password or new_password()
    enc = cipher(archive).encrypt(password.encode())
    with state.writing(archive) as con:
        cur = con.execute(
            "UPDATE users SET password_hash = ?, password_enc = ? WHERE name = ?",
            (_hasher.hash(password), enc, name),
        )
        if cur.rowcount == 0:
            raise InputError(f"no user {name!r} (see `longplay user list`)")
    return password


def delete_user(archive: Archive, name: str) -> None:
    with state.writing(archive) as con:
        if con.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
            raise InputError(f"no user {name!r} (see `longplay user list`)")


def list_users(con: sqlite3.Connection) -> list[User]:
    rows = con.execute("SELECT user_id, name, is_admin, created FROM users ORDER BY name")
    return [_row(r) for r in rows]


def find_user(con: sqlite3.Connection, name: str) -> User | None:
    row = con.execute(
        "SELECT user_id, name, is_admin, created FROM users WHERE name = ?", (name,)
    ).fetchone()
    return _row(row) if row else None


def password_of(con: sqlite3.Connection, key: Fernet, name: str) -> str | None:
    """The user's clear password (for token auth), or None when there is no such user."""
    row = con.execute("SELECT password_enc FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    try:
        return key.decrypt(bytes(row[0])).decode()
    except InvalidToken:
        raise LongplayError(
            f"the stored password of {name!r} does not decrypt with {KEY_FILE}; "
            f"set a new one with `longplay user passwd {name}`"
        ) from None


def verify_web_password(con: sqlite3.Connection, name: str, password: str) -> bool:
    """Check a password against the argon2 hash (slow on purpose: web logins only)."""
    row = con.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        return False
    try:
        return bool(_hasher.verify(row[0], password))
    except (VerificationError, InvalidHashError):
        return False


def password_stamp(con: sqlite3.Connection, name: str) -> str | None:
    """A short digest of the user's password hash, which changes with every new password: web
    sessions carry it, so a new password ends every browser session. None: no such user."""
    row = con.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
    return hashlib.sha256(str(row[0]).encode()).hexdigest()[:16] if row else None


def ensure_admin(archive: Archive) -> str | None:
    """Create the ``admin`` user when the archive has no user; its password, else None."""
    with state.connection(archive) as con:
        if con.execute("SELECT count(*) FROM users").fetchone()[0]:
            return None
    try:
        return add_user(archive, ADMIN, admin=True)
    except InputError:  # created meanwhile by another process
        return None


# -- API keys (OpenSubsonic apiKeyAuthentication) ----------------------------------------------
def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(archive: Archive, user: str, name: str = "") -> tuple[int, str]:
    """A new key for ``user``: its id and the key itself (shown once, stored hashed)."""
    key = "lp_" + secrets.token_urlsafe(24)
    with state.writing(archive) as con:
        found = find_user(con, user)
        if found is None:
            raise InputError(f"no user {user!r} (see `longplay user list`)")
        cur = con.execute(
            "INSERT INTO api_keys (user_id, name, key_sha256) VALUES (?,?,?)",
            (found.user_id, name or "key", _digest(key)),
        )
        key_id = int(cur.lastrowid or 0)
    return key_id, key


def revoke_api_key(archive: Archive, user: str, key_id: int) -> None:
    with state.writing(archive) as con:
        cur = con.execute(
            "UPDATE api_keys SET revoked = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
            "WHERE key_id = ? AND revoked IS NULL "
            "AND user_id = (SELECT user_id FROM users WHERE name = ?)",
            (key_id, user),
        )
        if cur.rowcount == 0:
            raise InputError(f"{user!r} has no live API key {key_id}")


def api_keys(con: sqlite3.Connection, user: str) -> list[ApiKey]:
    rows = con.execute(
        "SELECT k.key_id, u.name, k.name, k.created, k.revoked FROM api_keys k "
        "JOIN users u USING (user_id) WHERE u.name = ? ORDER BY k.key_id",
        (user,),
    )
    return [ApiKey(*r) for r in rows]


def user_for_api_key(con: sqlite3.Connection, key: str) -> tuple[User | None, bool]:
    """The key's user and whether the key was revoked; (None, False) for an unknown key."""
    row = con.execute(
        "SELECT u.user_id, u.name, u.is_admin, u.created, k.revoked FROM api_keys k "
        "JOIN users u USING (user_id) WHERE k.key_sha256 = ?",
        (_digest(key),),
    ).fetchone()
    if row is None:
        return None, False
    return _row(row[:4]), row[4] is not None
