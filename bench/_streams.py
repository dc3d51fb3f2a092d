"""The server benchmark's stream measures: many listeners at once, and a transcode's first byte.

``listeners``: N clients, each on its own keep-alive connection held open the whole run (so N
connections at once), start a raw stream of a random held song, read it whole, "play" it for
``play_s`` seconds and start the next (reconnecting, connect time counted in the first byte,
when the server closed the idle connection: its keep-alive timeout is 5 s); first starts are spread over the first ``play_s``, so in
the steady state N listeners are connected and N / ``play_s`` streams start each second. Every
start's time to first byte (request sent to first response byte) is kept. Plain asyncio sockets
with a minimal HTTP/1.1 reader: an HTTP library's own cost per request would be charged to the
server on these 2 cores.

``opus_first_bytes``: ``stream?format=opus`` of songs not transcoded before (the transcode cache
would answer a repeat), one at a time; time to the first byte of the body, over HTTP.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str
) -> tuple[float, int, int]:
    """One GET on an open connection: (time of its first byte, status, body bytes)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    first = await reader.read(1)
    if not first:
        raise ConnectionError("closed before answering")
    first_at = time.perf_counter()
    head = first + await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length)
    return first_at, status, len(body)


async def _listener(
    url: str,
    paths: list[str],
    play_s: float,
    until: float,
    rng: random.Random,
    out: dict[str, Any],
) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    await asyncio.sleep(rng.uniform(0, play_s))
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    out["open"] += 1
    out["peak"] = max(out["peak"], out["open"])
    try:
        while time.monotonic() < until:
            path = rng.choice(paths)
            for attempt in (1, 2):
                start = time.perf_counter()  # a (re)connection counts in the first byte
                try:
                    if writer is None or reader is None or writer.is_closing() or reader.at_eof():
                        reader, writer = await asyncio.open_connection(host, port)
                        out["connects"] += 1
                    first_at, status, _ = await _get(reader, writer, f"{host}:{port}", path)
                    ttfb = first_at - start
                    break
                except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
                    if writer is not None:
                        writer.close()
                    writer = None
                    if attempt == 2:
                        out["errors"].append(type(exc).__name__)
                        return
            if status not in (200, 206):
                out["errors"].append(f"status {status}")
            out["ttfb"].append(ttfb)
            await asyncio.sleep(play_s * rng.uniform(0.8, 1.2))
    finally:
        out["open"] -= 1
        if writer is not None:
            writer.close()


def listeners(
    base: str, query: dict[str, str], songs: list[str], n: int, play_s: float, seconds: float
) -> dict[str, Any]:
    """N listeners for ``seconds`` (see the module doc): TTFB p50/p99/max in ms, errors, peak."""
    paths = [f"/rest/stream?{urlencode({**query, 'id': s})}" for s in songs]
    out: dict[str, Any] = {"ttfb": [], "errors": [], "open": 0, "peak": 0, "connects": 0}

    async def run() -> None:
        until = time.monotonic() + seconds
        rng = random.Random(7)
        await asyncio.gather(
            *(
                _listener(base, paths, play_s, until, random.Random(rng.random()), out)
                for _ in range(n)
            )
        )

    asyncio.run(run())
    ttfb = sorted(out["ttfb"])
    pick = lambda q: ttfb[min(len(ttfb) - 1, int(q * len(ttfb)))] * 1000 if ttfb else float("nan")  # noqa: E731
    return {
        "starts": len(ttfb),
        "p50": pick(0.50),
        "p99": pick(0.99),
        "max": ttfb[-1] * 1000 if ttfb else float("nan"),
        "errors": len(out["errors"]),
        "peak": out["peak"],
        "connects": out["connects"],
        "first_errors": out["errors"][:3],
    }


def opus_first_bytes(base: str, query: dict[str, str], songs: list[str]) -> list[float]:
    """Milliseconds to the first body byte of an Opus transcode, one song at a time."""
    out = []
    with httpx.Client(timeout=60) as client:
        for song in songs:
            params = {**query, "id": song, "format": "opus", "maxBitRate": "96"}
            start = time.perf_counter()
            with client.stream("GET", f"{base}/rest/stream", params=params) as res:
                res.raise_for_status()
                for chunk in res.iter_raw():
                    if chunk:
                        out.append((time.perf_counter() - start) * 1000)
                        break
    return out
