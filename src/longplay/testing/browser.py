"""How the web tests and the web benchmark launch Debian's Chromium (Playwright's own download
cannot work here): its path and the flags that keep it off the closed network."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The restored queue and the keyboard start audio without a click on the page.
    "--autoplay-policy=no-user-gesture-required",
]
