"""Rejects logs: one JSON-lines file per run, a line per bad record or bad value.

Each line: ``{"source": ..., "input": FILE, "position": "line 12", "reason": ..., "kind":
"record"|"value", ...}``. A record reject means the record was not kept; a value reject means
one field was dropped and the record was kept (so ``read = kept + rejected`` counts records).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson


def run_log_path(rejects_dir: Path, job: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in job)[:80]
    return rejects_dir / f"{stamp}-{safe}-{os.getpid()}.jsonl"


class RejectsLog:
    """Appends reject rows to one run's log; counts them by kind."""

    def __init__(self, path: Path):
        self.path = path
        self.records = 0
        self.values = 0
        self._fh: Any = None

    def add(
        self,
        *,
        source: str,
        input: str,
        position: str,
        reason: str,
        kind: str = "record",
        **extra: Any,
    ) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        row = {
            "source": source,
            "input": input,
            "position": position,
            "reason": reason,
            "kind": kind,
            **extra,
        }
        self._fh.write(orjson.dumps(row, default=str) + b"\n")
        if kind == "record":
            self.records += 1
        else:
            self.values += 1

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.add(**row)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RejectsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
