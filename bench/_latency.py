"""A closed-loop latency client whose figures add up: N keep-alive connections, one request each.

    python bench/_latency.py URL CONNECTIONS SECONDS [SERVER_PID|-] [HEADER...]   # one JSON line

wrk's latency percentiles on this 2-core machine do not: under CPU contention its mean latency
times its request rate exceeds its connection count (Little's law says it cannot; bench/RESULTS.md,
h-srv), so its p99 overstates the tail. Here each connection sends its next request as soon as
the last answer is whole; every latency (request written to answer complete) is kept, and the
printed ``little`` (mean latency x rate / connections) must be ~1.0. Connections are opened
before the clock starts, so set-up is not in the figures (wrk's first requests do carry it).

``measure`` also takes a list of URLs (same host): connection k sends them in turn from the
k-th share of the list on, so a mix such as a typed query's prefixes is asked, not one URL.

With SERVER_PID, the server's main thread's scheduler statistics over the run are reported too
(/proc/PID/task/PID/schedstat): the time it ran and the time it waited, runnable, for a core.
A server that waits for a core longer than it runs is starved by the machine, not by its code.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _schedstat(pid: int | None) -> tuple[int, int]:
    if pid is None:
        return (0, 0)
    ran, waited, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    return int(ran), int(waited)


class _Connection(asyncio.Protocol):
    def __init__(self, requests: list[bytes], at: int, out: list[float], state: dict[str, Any]):
        self.requests, self.at, self.out, self.state = requests, at, out, state
        self.buf = b""
        self.start = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        assert self.transport is not None
        if time.perf_counter() >= self.state["until"]:
            self.transport.close()
            return
        request = self.requests[self.at % len(self.requests)]
        self.at += 1
        self.start = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            head = self.buf[:end].lower()
            at = head.find(b"content-length:")
            if at < 0:
                raise SystemExit("answer without Content-Length")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            if len(self.buf) < end + 4 + length:
                return
            if not head.startswith((b"http/1.1 200", b"http/1.1 206")):
                self.state["errors"] += 1
            self.buf = self.buf[end + 4 + length :]
            if self.state["measuring"] and self.start >= self.state["begin"]:
                self.out.append(time.perf_counter() - self.start)
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if time.perf_counter() < self.state["until"]:
            self.state["errors"] += 1


def measure(
    url: str | list[str],
    connections: int,
    seconds: float,
    pid: int | None = None,
    headers: tuple[str, ...] = (),
) -> dict[str, Any]:
    urls = [url] if isinstance(url, str) else url
    parts = urlsplit(urls[0])
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{h}\r\n" for h in headers)
    requests = [
        f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()
        for u in map(urlsplit, urls)
    ]
    latencies: list[float] = []
    state: dict[str, Any] = {"until": float("inf"), "errors": 0, "measuring": False, "begin": 0.0}

    async def run() -> tuple[float, tuple[int, int], tuple[int, int]]:
        loop = asyncio.get_running_loop()
        conns = [
            (await loop.create_connection(partial(_Connection, requests, at, latencies, state), host, port))[1]
            for at in [k * len(requests) // connections for k in range(connections)]
        ]  # fmt: skip
        state["until"] = time.perf_counter() + 1.0 + seconds
        for c in conns:
            c.send()
        await asyncio.sleep(1.0)  # warm: every connection past its first answer
        latencies.clear()
        state["measuring"], begin, before = True, time.perf_counter(), _schedstat(pid)
        state["begin"] = begin
        await asyncio.sleep(seconds)
        state["measuring"] = False
        span, after = time.perf_counter() - begin, _schedstat(pid)
        await asyncio.sleep(0.5)
        return span, before, after

    try:
        import uvloop

        span, before, after = uvloop.run(run())
    except ImportError:
        span, before, after = asyncio.run(run())
    lat = sorted(latencies)
    n = len(lat)
    pick = lambda q: lat[min(n - 1, int(q * n))] * 1000 if n else float("nan")  # noqa: E731
    rate = n / span
    return {
        "rps": rate,
        "mean": sum(lat) / n * 1000 if n else float("nan"),
        "p50": pick(0.50),
        "p99": pick(0.99),
        "p999": pick(0.999),
        "max": lat[-1] * 1000 if n else float("nan"),
        "little": (sum(lat) / span) / connections,
        "errors": state["errors"],
        "server_ran_s": (after[0] - before[0]) / 1e9,
        "server_waited_s": (after[1] - before[1]) / 1e9,
        "seconds": span,
    }


if __name__ == "__main__":
    pid = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "-" else None
    print(
        json.dumps(
            measure(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), pid, tuple(sys.argv[5:]))
        )
    )
