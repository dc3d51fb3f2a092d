"""The archive's own pages: coverage (text and plot), torrents, and the admin page.

Each page calls the library functions the CLI calls, so a page says what the command would
print. The coverage report reads the whole catalog (seconds at 10M tracks), so it and its PNG
are computed once per catalog generation and cached (the PNG under ``ARCHIVE/cache/web/``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from longplay.errors import LongplayError
from longplay.server import accounts, scanning
from longplay.server.web.routes import current_user, form_of, page, refused, server_of, to_login
from longplay.units import format_bytes, format_rate

log = logging.getLogger("longplay.server")
_coverage_lock = threading.Lock()


@dataclass
class CoverageText:
    generation: str
    text: str
    plan: str | None
    png: Path | None


_coverage_cache: dict[Path, CoverageText] = {}


def _coverage(server: Any) -> CoverageText:
    from longplay.catalog.store import CatalogStore
    from longplay.plan import report
    from longplay.plan.coverage import coverage

    archive = server.archive
    store = CatalogStore(archive)
    generation = store.current_name()
    if generation is None:
        raise LongplayError("the archive has no catalog yet: run `longplay ingest` first")
    with _coverage_lock:  # one computation at a time; the others wait for its result
        hit = _coverage_cache.get(archive.root)
        if hit is not None and hit.generation == generation:
            return hit
        png = archive.root / "cache" / "web" / f"coverage-{generation}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        rep = coverage(archive, png)
        plan_text = None
        with store.read() as con:
            plan = report.load(con, rep.generation)
            if plan is not None:
                plan_text = plan.format()
        found = CoverageText(rep.generation, rep.format(), plan_text, png if png.exists() else None)
        _coverage_cache[archive.root] = found
        return found


async def _report_page(
    request: Request, template: str, compute: Callable[[Any], dict[str, Any]]
) -> Response:
    """A logged-in page of what ``compute`` finds (off the event loop), or its one-line error."""
    who = await current_user(request)
    if who is None:
        return to_login(request)
    session, user = who
    try:
        found = await run_in_threadpool(compute, server_of(request))
    except LongplayError as exc:
        return page(request, template, session, user=user, error=str(exc))
    return page(request, template, session, user=user, **found)


async def coverage_page(request: Request) -> Response:
    return await _report_page(request, "coverage.html", lambda server: {"cov": _coverage(server)})


async def coverage_png(request: Request) -> Response:
    if await current_user(request) is None:
        return to_login(request)
    hit = _coverage_cache.get(server_of(request).archive.root)
    if hit is None or hit.png is None:
        return Response("no plot yet: open the coverage page first", 404)
    return FileResponse(hit.png, media_type="image/png")


# -- torrents -----------------------------------------------------------------------------------
def _verdict(verified: tuple[str, dict[str, int]] | None, name: str) -> str:
    if verified is None or name not in verified[1]:
        return "not verified here"
    when, problems = verified[0], verified[1][name]
    return f"{when}: " + ("all well" if problems == 0 else f"{problems} problem(s)")


def _held(archive: Any, base: Path, relative: str) -> bool:
    try:  # as the server's holdings do: a path out of the torrent's folder is not held
        return bool(archive.resolve_inside(relative, base).is_file())
    except LongplayError:
        return False


def _torrents(server: Any) -> dict[str, Any]:
    from longplay.pack.listing import read_listing, read_manifest

    archive = server.archive
    path = archive.torrents_dir / "torrents.json"
    if not path.exists():
        return {"rows": [], "missing": str(path.relative_to(archive.root))}
    from longplay.mirror.seedstatus import read_status
    from longplay.mirror.verify import last_verify

    listing = read_listing(path)
    verified = last_verify(archive.root)
    seeding = read_status(archive.root)
    rows = []
    for t in listing.torrents:
        held = None
        manifest = archive.torrents_dir / f"{t.name}.manifest.jsonl"
        if manifest.exists():
            try:
                base = archive.files_dir / t.name
                held = sum(1 for e in read_manifest(manifest) if _held(archive, base, e.path))
            except (LongplayError, OSError):
                held = None
        rows.append(
            {
                "name": t.name,
                "tier": "metadata" if t.is_metadata else t.tier,
                "size": format_bytes(t.data_size),
                "files": t.file_count,
                "held": held,
                "share": t.listens_share,
                "verify": _verdict(verified, t.name),
                "seeding": _seeding(seeding, t.name),
            }
        )
    return {
        "rows": rows,
        "generated": listing.generated_at,
        "missing": None,
        "seeding": seeding,
    }


def _seeding(seeding: Any, name: str) -> str:
    """One torrent's cell: its rates and peers while a seeder is live, else a dash."""
    if seeding is None or not seeding.live or name not in seeding.torrents:
        return "–"
    t = seeding.torrents[name]
    return f"↑ {format_rate(t.upload_rate)} · {t.peers} peer{'s' if t.peers != 1 else ''}"


async def torrents_page(request: Request) -> Response:
    return await _report_page(request, "torrents.html", _torrents)


# -- admin --------------------------------------------------------------------------------------
def _admin_state(server: Any) -> dict[str, Any]:
    con = server.state()
    users = accounts.list_users(con)
    keys = {u.name: accounts.api_keys(con, u.name) for u in users}
    return {"users": users, "keys": keys, "scan": dict(server.scan)}


async def admin_page(request: Request, notice: str | None = None, status: int = 200) -> Response:
    who = await current_user(request)
    if who is None:
        return to_login(request)
    session, user = who
    if not user.is_admin:
        return page(
            request,
            "message.html",
            session,
            403,
            user=user,
            title="Admins only",
            message="This page is for the archive's admins.",
        )
    found = await run_in_threadpool(_admin_state, server_of(request))
    return page(request, "admin.html", session, status, user=user, notice=notice, **found)


def _act(server: Any, action: str, fields: dict[str, str], me: str) -> str:
    """Do one admin action; the notice to show (a new password or key is shown once here)."""
    archive = server.archive
    name = fields.get("name", "")
    if action == "add-user":
        password = accounts.add_user(
            archive, name, fields.get("password") or None, admin=fields.get("admin") == "on"
        )
        return f"User {name!r} created with password {password}"
    if action == "delete-user":
        if name == me:
            return "You cannot delete yourself here; use `longplay user del`."
        accounts.delete_user(archive, name)
        server.auth.forget(name)
        return f"User {name!r} deleted."
    if action == "add-key":
        key_id, key = accounts.create_api_key(archive, name, fields.get("label", ""))
        return f"API key {key_id} for {name!r} (shown once): {key}"
    if action == "revoke-key":
        key_id = int(fields.get("key_id", "0") or 0)
        accounts.revoke_api_key(archive, name, key_id)
        return f"API key {key_id} of {name!r} revoked."
    if action == "scan":
        running = scanning.begin(server)
        return "Scan started." if running else "Nothing to scan: the library knows no folder."
    return "Unknown action."


async def admin_post(request: Request) -> Response:
    who = await current_user(request)
    if who is None:
        return to_login(request)
    session, user = who
    fields = await form_of(request, session)
    if fields is None:
        return refused(request, session)
    if not user.is_admin:
        return await admin_page(request, "Admins only.", 403)
    action = request.path_params["action"]
    try:
        notice = await run_in_threadpool(_act, server_of(request), action, fields, user.name)
    except LongplayError as exc:
        return await admin_page(request, str(exc), 400)
    return await admin_page(request, notice)


def routes() -> list[Route]:
    return [
        Route("/coverage", coverage_page),
        Route("/coverage.png", coverage_png),
        Route("/torrents", torrents_page),
        Route("/admin", admin_page, methods=["GET"]),
        Route("/admin/{action:str}", admin_post, methods=["POST"]),
    ]
