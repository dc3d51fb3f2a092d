"""A real server for tests: a small archive with real audio, users, and uvicorn on 127.0.0.1.

The archive holds ten encoded clips (scanned, so they are the Library folder) inside a catalog
that also has synthetic tracks it holds no file for (the rest of the Catalog folder). One server
per test module; `Live.get` calls the API as a client would.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat, ingest_synthetic
from longplay.server import accounts

USER, PASSWORD = "ann", "s3cret pw"
OTHER, OTHER_PASSWORD = "bob", "hunter2"


@dataclass
class Live:
    archive: Archive
    base: str
    api_key: str
    client: httpx.Client

    def auth(self, user: str = USER, password: str = PASSWORD) -> dict[str, str]:
        salt = "c0ffee"
        token = hashlib.md5((password + salt).encode()).hexdigest()
        return {"u": user, "t": token, "s": salt, "v": "1.16.1", "c": "tests"}

    def get(
        self, endpoint: str, /, f: str = "json", auth: dict[str, str] | None = None, **params: Any
    ) -> Any:
        query = {**(self.auth() if auth is None else auth), "f": f, **params}
        res = self.client.get(f"{self.base}/rest/{endpoint}", params=query)
        return res.json() if f == "json" else res

    def ok(self, endpoint: str, /, **params: Any) -> dict[str, Any]:
        body = self.get(endpoint, **params)["subsonic-response"]
        assert body["status"] == "ok", (endpoint, body)
        return body  # type: ignore[no-any-return]


def build_archive(root: Path) -> Archive:
    archive = Archive.init(root / "archive")
    # The tests send many bad credentials from one address on purpose.
    archive.toml_path.write_text("auth_attempts_per_minute = 0\n")
    archive = Archive.open(archive.root)
    music = root / "music"
    samples.generate(music, 10, seed=0, seconds=3.0)
    ingest_synthetic(archive, 300, seed=4)
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=1)
    accounts.add_user(archive, USER, PASSWORD, admin=True)
    accounts.add_user(archive, OTHER, OTHER_PASSWORD)
    return archive


def start(archive: Archive, port: int) -> tuple[Any, threading.Thread]:
    import uvicorn

    from longplay.server.app import create_app

    app = create_app(archive)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from netutil import free_port, wait_for

    archive = build_archive(tmp_path_factory.mktemp("served"))
    _, key = accounts.create_api_key(archive, USER, "tests")
    port = free_port()
    server, thread = start(archive, port)
    wait_for("the server", lambda: server.started, 30, every=0.05)
    with httpx.Client(timeout=30) as client:
        yield Live(archive, f"http://127.0.0.1:{port}", key, client)
    server.should_exit = True
    thread.join(15)
