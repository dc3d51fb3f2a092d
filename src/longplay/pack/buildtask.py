"""One `longplay build` task, the part that runs in a worker: tag-copy or re-encode one file.

Kept apart from build.py so a worker imports only the audio code it needs (not DuckDB, the
catalog or Rich): unpickling a :class:`Task` imports this module and nothing more.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from longplay.audio import partial
from longplay.audio import tags as tagmod
from longplay.audio.tagging import tag_copy
from longplay.audio.transcode import transcode_opus
from longplay.errors import LongplayError

_EXT = {"flac": "flac", "vorbis": "ogg", "opus": "opus", "mp3": "mp3", "aac": "m4a", "alac": "m4a"}


@dataclass(frozen=True)
class Task:
    track_id: int
    recording_id: int
    action: str
    src: str
    src_sha256: str
    codec: str
    bitrate: int | None
    duration_ms: int | None
    opus_bitrate: int
    tags: dict[str, Any]

    def inputs_key(self) -> str:
        """Everything the output depends on; a different key means rebuild."""
        blob = json.dumps(
            [
                self.action,
                self.src_sha256,
                self.opus_bitrate if self.action == "opus" else None,
                self.tags,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def out_rel(self) -> str:
        ext = (
            "opus"
            if self.action == "opus"
            else _EXT.get(self.codec, Path(self.src).suffix.lstrip(".") or "bin")
        )
        return f"build/{self.track_id % 256:02x}/{self.track_id}.{ext}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def run_task(task: Task, archive_root: str) -> dict[str, Any]:
    """Build one file (pure: same task, same bytes). Runs in a worker process."""
    root = Path(archive_root)
    out = root / task.out_rel()
    record = tagmod.TagRecord(**task.tags)
    restore: bytes | None = None
    if task.action == "original":
        restore = tag_copy(task.src, out, record)
        bitrate, duration = task.bitrate, task.duration_ms
    elif task.action == "opus":
        result = transcode_opus(task.src, out, task.opus_bitrate, tags=record)
        bitrate, duration = task.opus_bitrate, round(result.seconds * 1000)
    else:
        raise LongplayError(f"track {task.track_id}: unknown build action {task.action!r}")
    cover_sha = None
    cover = tagmod.read_cover(task.src)
    if cover:
        cover_sha = hashlib.sha256(cover).hexdigest()
        ext = ".png" if cover.startswith(b"\x89PNG") else ".jpg"
        cover_path = root / "build" / "covers" / f"{cover_sha}{ext}"
        if not cover_path.exists():
            cover_path.parent.mkdir(parents=True, exist_ok=True)
            with partial.claimed(cover_path) as tmp:
                tmp.write_bytes(cover)
                os.replace(tmp, cover_path)
    return {
        "track_id": task.track_id,
        "recording_id": task.recording_id,
        "action": task.action,
        "inputs": task.inputs_key(),
        "src_path": task.src,
        "src_sha256": task.src_sha256,
        "out_path": task.out_rel(),
        "size": out.stat().st_size,
        "sha256": _sha256(out),
        "format": Path(task.out_rel()).suffix.lstrip("."),
        "bitrate": bitrate,
        "duration_ms": duration,
        "restore": restore,
        "cover_sha256": cover_sha,
    }


def run(job: tuple[Task, str]) -> dict[str, Any]:
    """`run_task` as a worker task: one picklable argument, (task, archive root)."""
    task, archive_root = job
    return run_task(task, archive_root)
