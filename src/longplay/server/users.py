"""User endpoints: getUser, getUsers (admins only) and tokenInfo (apiKeyAuthentication)."""

from __future__ import annotations

from longplay.server import accounts
from longplay.server import responses as r
from longplay.server.endpoints import Call, endpoint
from longplay.server.errors import NOT_AUTHORIZED, SubsonicError, not_found


def _user(u: accounts.User) -> r.User:
    return r.User(username=u.name, adminRole=u.is_admin, settingsRole=u.is_admin)


@endpoint("getUser")
def get_user(call: Call) -> r.Payload:
    name = call.get("username") or call.user.name
    if name.lower() != call.user.name.lower() and not call.user.is_admin:
        raise SubsonicError(NOT_AUTHORIZED, "only admins may read other users")
    found = accounts.find_user(call.state, name)
    if found is None:
        raise not_found("user")
    return r.Payload("user", _user(found))


@endpoint("getUsers")
def get_users(call: Call) -> r.Payload:
    if not call.user.is_admin:
        raise SubsonicError(NOT_AUTHORIZED, "only admins may list users")
    return r.Payload("users", {"user": [_user(u) for u in accounts.list_users(call.state)]})


@endpoint("tokenInfo")
def token_info(call: Call) -> r.Payload:
    return r.Payload("tokenInfo", {"username": call.user.name})
