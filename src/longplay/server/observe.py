"""Access logs and Prometheus metrics: one log line per request, counters per endpoint.

The log line names the time, client, method, path, endpoint, status and duration; the query
string is never logged whole, so no password (``p``), token (``t``), salt (``s``) or API key
reaches a log. Lines are handed to ``logging`` in batches, one record per ``FLUSH_S`` of
traffic: a record per request (its LogRecord, time formatting and flush) was an eighth of the
server's CPU on a cached answer (py-spy, bench/RESULTS.md). ``/metrics`` (off unless the ``metrics`` setting is on) renders the counters in
Prometheus' text format.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from longplay.server.app import Server

access = logging.getLogger("longplay.server.access")
FLUSH_S = 0.2
MAX_BATCH = 1000  # lines held at most before a batch is written anyway
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, list[float]] = {}  # endpoint -> bucket counts + [sum, count]
        self.gauges: dict[str, int] = {"active_streams": 0, "active_transcodes": 0}
        self.counters: dict[str, int] = {"state_write_failures": 0}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, status)] = self.requests.get((endpoint, status), 0) + 1
            row = self.latency.setdefault(endpoint, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def count(self, counter: str) -> None:
        with self._lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1

    def add(self, gauge: str, delta: int) -> None:
        with self._lock:
            self.gauges[gauge] = self.gauges.get(gauge, 0) + delta

    def render(self, server: Server | None = None) -> str:
        lines = ["# TYPE longplay_requests_total counter"]
        with self._lock:
            for (ep, code), n in sorted(self.requests.items()):
                lines.append(f'longplay_requests_total{{endpoint="{ep}",status="{code}"}} {n}')
            lines.append("# TYPE longplay_request_seconds histogram")
            for ep, row in sorted(self.latency.items()):
                for bound, hits in zip(BUCKETS, row, strict=False):
                    lines.append(
                        f'longplay_request_seconds_bucket{{endpoint="{ep}",le="{bound}"}} {int(hits)}'
                    )
                lines.append(
                    f'longplay_request_seconds_bucket{{endpoint="{ep}",le="+Inf"}} {int(row[-1])}'
                )
                lines.append(f'longplay_request_seconds_sum{{endpoint="{ep}"}} {row[-2]:.6f}')
                lines.append(f'longplay_request_seconds_count{{endpoint="{ep}"}} {int(row[-1])}')
            for name, value in sorted(self.counters.items()):
                lines.append(f"# TYPE longplay_{name}_total counter")
                lines.append(f"longplay_{name}_total {value}")
            for name, value in sorted(self.gauges.items()):
                lines.append(f"# TYPE longplay_{name} gauge")
                lines.append(f"longplay_{name} {value}")
        if server is not None:
            for name, size in _cache_sizes(server).items():
                lines.append(f'longplay_cache_bytes{{cache="{name}"}} {size}')
        return "\n".join(lines) + "\n"


def _cache_sizes(server: Server) -> dict[str, int]:
    out = {}
    for name, service in server.services.items():
        size = getattr(service, "cache_bytes_used", None)
        if callable(size):
            out[name] = int(size())
    return out


class AccessLog:
    """Access lines gathered on the event loop and logged in batches (see the module doc)."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._second = -1
        self._prefix = ""

    def add(
        self, client: str, method: str, path: str, endpoint: str, status: int, ms: float
    ) -> None:
        if not access.isEnabledFor(logging.INFO):
            return
        now = time.time()
        if int(now) != self._second:  # strftime once a second, not once a request
            self._second = int(now)
            self._prefix = time.strftime("%H:%M:%S", time.localtime(now))
        line = f"{self._prefix}.{int(now * 1000) % 1000:03d} {client} {method} {path} {endpoint} {status} {ms:.1f}ms"
        self._lines.append(line)
        if len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
            except RuntimeError:  # no loop (a synchronous caller): write now
                self.flush()
        elif len(self._lines) >= MAX_BATCH:
            self.flush()

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            access.info("%s", "\n".join(lines))


class Observe:
    """ASGI middleware: times every HTTP request, counts it and logs one line."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log: AccessLog | None = None):
        self.app = app
        self.metrics = metrics
        self.log = log or AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        scope.setdefault("state", {})

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - start
            state: dict[str, Any] = scope.get("state") or {}
            endpoint = str(state.get("endpoint", "other"))
            self.metrics.observe(endpoint, status, elapsed)
            client = scope.get("client") or ("-", 0)
            self.log.add(
                client[0],
                scope.get("method", "-"),
                scope.get("path", "-"),
                endpoint,
                status,
                elapsed * 1000,
            )
