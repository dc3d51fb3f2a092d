"""The web player in a real browser: keystroke to rendered search results, and first audio.

Builds an archive (a synthetic catalog of N tracks plus a few real clips, scanned, so they are
held), serves it with `longplay serve` in its own process, logs in with Debian's chromium
through Playwright, and then:

- types a fixed list of queries one character at a time; for each keystroke, the time from the
  key to the results of exactly that prefix being in the page and painted (p50, p99, max);
- plays a held track: the time from the click to the audio element's ``playing`` event.

Goals (issue 22): keystroke to results p99 < 100 ms; first audio < 300 ms.

    .venv/bin/python bench/web.py                 # 10M tracks (make bench)
    .venv/bin/python bench/web.py --tracks 200000 # quicker
    .venv/bin/python bench/web.py --dir DIR       # build into DIR and keep it; reuse it next time
    .venv/bin/python bench/web.py --dir DIR --build-only  # build, index and snapshot; no browser
    .venv/bin/python bench/web.py --dir DIR --build-only --no-index  # index later: `longplay index`

The archive has its search index (`longplay index`), as a served archive would: without one,
search3 falls back to name prefixes on the serving snapshot.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from longplay.testing.browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
# Typed as a person would: common words, a name, partial words, a miss.
QUERIES = ["love", "the night", "blue", "harbor", "summer rain", "zq", "silver", "echo"]
USER, PASSWORD = "bench", "bench-pw"

# Resolves with the key-to-painted time and that query's search3 request (fetch start to last
# byte: the server's work plus HTTP), from the Resource Timing entries, to tell them apart.
ARM = """(q) => {
  performance.clearResourceTimings();
  window.__t0 = performance.now();
  window.__done = new Promise((resolve) => {
    const view = document.getElementById('view');
    const ready = () => {
      const s = view.querySelector('section.results');
      return s && s.dataset.query === q;
    };
    const request = () => {
      const mine = performance.getEntriesByType('resource').filter((e) =>
        e.name.includes('/rest/search3') && new URL(e.name).searchParams.get('query') === q);
      const r = mine[mine.length - 1];
      return r ? r.responseEnd - r.fetchStart : null;
    };
    const finish = () => requestAnimationFrame(() =>
      resolve({ total: performance.now() - window.__t0, request: request() }));
    if (ready()) return finish();
    const mo = new MutationObserver(() => { if (ready()) { mo.disconnect(); finish(); } });
    mo.observe(view, { childList: true, subtree: true });
  });
}"""
ARM_AUDIO = """() => {
  const a = document.getElementById('audio');
  a.pause();
  window.__t0 = performance.now();
  window.__done = new Promise((resolve) => {
    a.addEventListener('playing', () => resolve(performance.now() - window.__t0), { once: true });
    setTimeout(() => resolve(null), 10000);  // never playing: reported, not waited for
  });
}"""


def build(root: Path, tracks: int) -> Path:
    os.environ["LONGPLAY_NO_PROGRESS"] = "1"
    from longplay.archive import Archive
    from longplay.audio import samples
    from longplay.audio.scan import scan
    from longplay.catalog.sources import ingest_flat, ingest_synthetic
    from longplay.server import accounts

    t = time.perf_counter()
    archive = Archive.init(root / "archive")
    music = root / "music"
    samples.generate(music, 10, seed=0, seconds=20.0)
    step(f"{tracks:,} synthetic tracks", lambda: ingest_synthetic(archive, tracks, seed=4))
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    step("scan of the clips", lambda: scan(archive, [music], workers=1))
    accounts.add_user(archive, USER, PASSWORD, admin=True)
    print(f"archive: {tracks:,} tracks built in {time.perf_counter() - t:.0f} s", flush=True)
    return archive.root


def step(name: str, run: Callable[[], object]) -> None:
    """Runs one build step, printing when it started and how long it took (a long build's log)."""
    print(f"{time.strftime('%H:%M:%S')} {name}: started", flush=True)
    t = time.perf_counter()
    run()
    print(
        f"{time.strftime('%H:%M:%S')} {name}: done in {time.perf_counter() - t:.0f} s", flush=True
    )


def prepare(root: Path, index: bool = True) -> None:
    """The search index (after the scan, so held tracks are marked) and the serving snapshot,
    each a no-op once built; the index build resumes after a kill. Without ``index``, the
    index is left to `longplay index` (built later, e.g. by a newer search engine)."""
    from longplay.archive import Archive
    from longplay.catalog.serving import ensure_snapshot
    from longplay.pack.features import ArchiveFeatures
    from longplay.pack.holdings import ArchiveHoldings
    from longplay.search.build import build_index

    archive = Archive.open(root)
    if index:
        report = build_index(
            archive, holdings=ArchiveHoldings(archive), features=ArchiveFeatures(archive)
        )
        print(report.summary(), flush=True)
    step("serving snapshot", lambda: ensure_snapshot(archive))


def serve(archive: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "longplay", "--archive", str(archive), "serve"]
    with open(archive.parent / "serve.log", "ab") as log:  # the access log: each request's time
        proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    params = {"u": USER, "p": PASSWORD, "f": "json", "v": "1.16.1", "c": "bench"}
    while True:  # the first call builds the serving snapshot: minutes at 10M tracks
        try:
            body = httpx.get(f"{base}/rest/search3", params={**params, "query": "a"}, timeout=600)
            answer = body.json()["subsonic-response"]
        except (httpx.HTTPError, ValueError):
            answer = None
        if answer and answer["status"] == "ok":
            break
        if answer:  # a Subsonic error (e.g. no user USER): waiting will not mend it
            proc.terminate()
            proc.wait(30)
            raise SystemExit(f"search3 as {USER!r} failed: {answer.get('error')}")
        if proc.poll() is not None:
            raise SystemExit(f"longplay serve exited (its log: {archive.parent / 'serve.log'})")
        time.sleep(0.5)
    print(f"server ready (snapshot built) in {time.perf_counter() - t:.0f} s")
    return proc


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def server_ms(log: Path, start: int, endpoint: str = "search3") -> list[float]:
    """``endpoint``'s times in the server (its access log) from byte ``start`` of the log on."""
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    return [float(m) for m in re.findall(rf" {endpoint} 200 ([0-9.]+)ms", text)]


def report(name: str, keys: list[dict[str, float]], server: list[float]) -> None:
    total = [k["total"] for k in keys]
    req = [k["request"] for k in keys if k["request"] is not None]
    rest = [k["total"] - k["request"] for k in keys if k["request"] is not None]
    print(
        f"keystroke to results ({name}, {len(total)} keys): p50 {statistics.median(total):.0f} ms, "
        f"p99 {pct(total, 99):.0f} ms, max {max(total):.0f} ms (goal p99 < 100 ms)"
    )
    if req:
        print(
            f"  of which the search3 request: p50 {statistics.median(req):.0f} ms, "
            f"p99 {pct(req, 99):.0f} ms; the rest (key delivery, page, frame): "
            f"p50 {statistics.median(rest):.0f} ms, p99 {pct(rest, 99):.0f} ms"
        )
    if server:
        print(
            f"  search3 in the server (access log, {len(server)} answers): "
            f"p50 {statistics.median(server):.0f} ms, p99 {pct(server, 99):.0f} ms"
        )


def measure(base: str, profile: Path, log: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{base}/login")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#view section")
        for folder in ("2", "1"):  # the whole Catalog, then the Library
            page.check(f"input[name=folder][value='{folder}']")
            keys: list[dict[str, float]] = []
            start = log.stat().st_size
            for q in QUERIES:
                page.fill("#search", "")
                page.focus("#search")
                for i in range(1, len(q) + 1):
                    prefix = q[:i]
                    if prefix.endswith(" "):  # the player trims: the same query as before
                        page.keyboard.type(" ")
                        continue
                    page.evaluate(ARM, prefix.strip())
                    page.keyboard.type(q[i - 1])
                    keys.append(page.evaluate("() => window.__done"))
            report("Catalog" if folder == "2" else "Library", keys, server_ms(log, start))
        first: list[float] = []
        params = {"u": USER, "p": PASSWORD, "f": "json", "v": "1.16.1", "c": "bench"}
        # the Library (folder 1): tracks the archive holds a file for
        listing: dict[str, str | int] = {**params, "query": "", "songCount": 5, "musicFolderId": 1}
        held = httpx.get(f"{base}/rest/search3", params=listing, timeout=60)
        songs = held.json()["subsonic-response"]["searchResult3"].get("song", [])
        if not songs:
            print("first audio: not measured, the archive holds no track")
        for i, song in enumerate(songs):
            page.evaluate(ARM, song["title"].strip())
            page.fill("#search", song["title"])
            page.evaluate("() => window.__done")
            page.evaluate(ARM_AUDIO)
            page.locator("section.results button.play-song:not([disabled])").first.click()
            took = page.evaluate("() => window.__done")
            if took is None:
                print(f"track {i}: no audio after 10 s: {page.inner_text('#status')}")
            else:
                first.append(took)
        if first:  # the first stream of a server also loads its media modules: shown apart
            warm = first[1:] or first
            print(
                f"first audio: {first[0]:.0f} ms for the server's first stream; then "
                f"median {statistics.median(warm):.0f} ms, max {max(warm):.0f} ms over "
                f"{len(warm)} held tracks (goal < 300 ms)"
            )
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tracks", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, help="build the archive here and keep it (reused if there)")
    ap.add_argument("--port", type=int, default=4593)
    ap.add_argument("--build-only", action="store_true", help="build the archive, then stop")
    ap.add_argument(
        "--no-index",
        action="store_true",
        help="skip the search index (build it later with `longplay index`)",
    )
    args = ap.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM} (make system-deps)")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        where = args.dir or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        done = where / "built"
        archive = where / "archive" if done.exists() else build(where, args.tracks)
        done.touch()
        prepare(archive, index=not args.no_index)
        if args.build_only:
            return
        proc = serve(archive, args.port)
        try:
            measure(
                f"http://127.0.0.1:{args.port}", Path(tmp) / "profile", archive.parent / "serve.log"
            )
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
