"""`longplay seed` writes its rates to DIR/seeding.json; the torrents page shows them while fresh."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
import time
from pathlib import Path

from longplay.mirror import seedstatus
from longplay.mirror.session import SessionStatus, TorrentState, run_session
from netutil import wait_for
from seeding import LOOP, Seeder
from test_web_http import login, small_server
from torrentdata import TorrentSpec, build_mirror, random_files

SPEC = TorrentSpec("lp-t0-0001", random_files(31, 3, 300_000), 0, 100, (1, 90))
LIMIT = 150_000  # bytes/s: the fetch lasts ~6 s, long enough to see the rate


def _cell(page: str, name: str) -> str:
    row = page.split(f"<td>{name}</td>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td[^>]*>([^<]*)</td>", row)[-1].strip()


def test_torrents_page_shows_a_live_seeders_rate_and_when_it_stopped(tmp_path: Path) -> None:
    with small_server(tmp_path) as (archive, base):
        build_mirror(archive.root, [SPEC])
        client, _ = login(base, "dan", "pw")
        with contextlib.closing(client):
            assert "no <code>longplay seed</code> has run" in client.get("/torrents").text
            seeder = Seeder(archive.root, upload_limit=LIMIT, status_every=0.3)
            try:
                mirror = tmp_path / "fetcher"
                shutil.copytree(archive.torrents_dir, mirror / "torrents")
                fetch = threading.Thread(
                    target=run_session,
                    args=(mirror, "fetch"),
                    kwargs={
                        "timeout": 60,
                        "listen_interface": LOOP,
                        "peers": (("127.0.0.1", seeder.port),),
                    },
                    daemon=True,
                )
                fetch.start()

                def uploading() -> str | None:
                    status = seedstatus.read_status(archive.root)
                    if status is None or not status.live:
                        return None
                    if status.torrents[SPEC.name].upload_rate <= 0:
                        return None
                    cell = _cell(client.get("/torrents").text, SPEC.name)
                    return cell if cell.startswith("↑") and not cell.startswith("↑ 0 B/s") else None

                cell = wait_for("an upload rate on the page", uploading, 30, every=0.2)
                assert "1 peer" in cell
                page = client.get("/torrents").text
                assert "Seeding now on port" in page
                fetch.join(60)
            finally:
                seeder.close()
            page = client.get("/torrents").text
            assert "stopped at" in page and _cell(page, SPEC.name) == "–"

            # A seeder that died without a word: its last status goes stale.
            doc = json.loads(seedstatus.status_path(archive.root).read_text())
            doc.update(stopped=False, updated_unix=time.time() - 10 * doc["interval_s"])
            seedstatus.status_path(archive.root).write_text(json.dumps(doc))
            page = client.get("/torrents").text
            assert "the last word from" in page and _cell(page, SPEC.name) == "–"


def test_a_status_is_believed_for_two_intervals(tmp_path: Path) -> None:
    status = SessionStatus(
        [TorrentState("t", "seeding", 1.0, 5, 5, 0, 1234, 99, 2, finished=True)], 6881
    )
    seedstatus.write_status(tmp_path, status, 5.0)
    now = time.time()
    fresh = seedstatus.read_status(tmp_path, now)
    assert fresh is not None and fresh.live and fresh.torrents["t"].upload_rate == 1234
    stale = seedstatus.read_status(tmp_path, now + 11)
    assert stale is not None and not stale.live
    assert not list(tmp_path.glob("*.tmp-*"))
    seedstatus.status_path(tmp_path).write_text("{not json")
    assert seedstatus.read_status(tmp_path) is None
