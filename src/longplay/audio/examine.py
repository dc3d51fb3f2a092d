"""The per-file task of a scan: one path in, one record out.

`examine` is a pure, idempotent function of the file's bytes (plus its stat): it never touches
the library or any shared state, so a scan can run it in a process pool or on a Dask cluster.
It never raises for a bad file: a file it cannot accept comes back ``rejected`` with the
reason, a file that is not audio at all (cover.jpg, notes.txt) comes back ``ignored``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePath
from typing import Any

from longplay.audio import containers, formats
from longplay.audio.probe import AudioProblem, probe
from longplay.audio.tags import TagRecord, read_tags

OK, REJECTED, IGNORED, GONE = "ok", "rejected", "ignored", "gone"
TAG_COLUMNS = tuple(TagRecord().as_row())
FACT_COLUMNS = (
    "sha256",
    "payload_sha256",
    "container",
    "codec",
    "duration_ms",
    "bitrate",
    "sample_rate",
    "channels",
)


def _head(path: str) -> tuple[bytes, bytes | None]:
    with open(path, "rb") as fh:
        head = fh.read(formats.HEAD_BYTES)
        skip = formats.id3_end(head)
        if not skip:
            return head, None
        fh.seek(skip)
        return head, fh.read(formats.HEAD_BYTES)


def file_sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _classify(path: str, size: int) -> tuple[str | None, str | None]:
    """(content kind, None) for a file worth probing, else (None, reject reason or '' to ignore)."""
    expected = formats.expected_kinds(path)
    suffix = PurePath(path).suffix
    if size == 0:
        return None, ("zero-length file" if expected is not None or not suffix else "")
    head, after_id3 = _head(path)
    kind = formats.sniff(head, after_id3)
    if kind is None:
        if expected is None:
            return None, ""
        return None, (
            f"not a {suffix.lower()} file: the content is not audio Longplay recognizes "
            f"(it starts with {head[:8].hex(' ')})"
        )
    if expected is not None and kind not in expected:
        return (
            None,
            f"mislabeled: named {suffix.lower()} but the content is {formats.describe(kind)}",
        )
    if kind not in formats.SUPPORTED:
        return None, (
            f"unsupported format: {formats.describe(kind)}; "
            f"Longplay archives {formats.SUPPORTED_TEXT}"
        )
    return kind, None


def examine(path: str, decode: bool = True) -> dict[str, Any]:
    """Everything a scan records about the file at ``path`` (an absolute path).

    Keys: ``status`` (ok, rejected, ignored, gone), ``reason``, ``size``, ``mtime_ns``,
    ``inode``, `FACT_COLUMNS`, `TAG_COLUMNS`, and ``problems``: (field, what is wrong) for tag
    values that were dropped.
    """
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return {"status": GONE, "reason": "vanished during the scan"}
    record: dict[str, Any] = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "inode": st.st_ino,
        "problems": [],
    }
    try:
        kind, reason = _classify(path, st.st_size)
        if kind is None:
            return {
                **record,
                "status": IGNORED if reason == "" else REJECTED,
                "reason": reason or None,
            }
        problem = containers.structure_problem(path, kind)
        if problem:
            return {**record, "status": REJECTED, "reason": problem}
        facts = probe(path, decode=decode)
        if facts.codec not in formats.CODECS[kind]:
            return {
                **record,
                "status": REJECTED,
                "reason": f"unsupported codec {facts.codec} in {formats.describe(kind)}",
            }
        record.update(
            sha256=file_sha256(path),
            payload_sha256=facts.payload_sha256,
            container=facts.container,
            codec=facts.codec,
            duration_ms=facts.duration_ms,
            bitrate=facts.bitrate,
            sample_rate=facts.sample_rate,
            channels=facts.channels,
        )
        try:
            reading = read_tags(path)
            record.update(reading.record.as_row())
            record["problems"] = reading.problems
        except Exception as exc:
            record.update(TagRecord().as_row())
            record["problems"] = [("tags", f"tags cannot be read ({type(exc).__name__}: {exc})")]
        return {**record, "status": OK, "reason": None}
    except AudioProblem as exc:
        return {**record, "status": REJECTED, "reason": str(exc)}
    except OSError as exc:
        return {**record, "status": REJECTED, "reason": f"cannot be read ({exc.strerror or exc})"}
    except Exception as exc:
        return {
            **record,
            "status": REJECTED,
            "reason": f"could not be examined ({type(exc).__name__}: {exc})",
        }


def examine_many(paths: list[str], decode: bool = True) -> list[dict[str, Any]]:
    """`examine` over a batch (one process-pool task carries several files)."""
    return [examine(p, decode) for p in paths]


def examine_batch(job: tuple[list[str], bool]) -> list[dict[str, Any]]:
    """`examine_many` as a worker task: one picklable argument, (paths, decode)."""
    paths, decode = job
    return examine_many(paths, decode)
