"""Part files: kept while their writer holds them, swept once it is gone, whatever its PID became."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longplay.audio import partial


def test_a_part_file_named_with_a_live_pid_but_held_by_nobody_is_swept(tmp_path: Path) -> None:
    # What a killed worker leaves when the system has since given its PID to another process:
    # the old sweep asked whether that PID was alive and kept the file forever.
    orphan = tmp_path / "b1" / f".track.{os.getpid()}.part.opus"
    orphan.parent.mkdir()
    orphan.write_bytes(b"half an encode")
    keep = tmp_path / "b1" / ".not-ours.txt"
    keep.write_text("a hidden file that is no part file")
    assert partial.sweep(tmp_path) == [orphan]
    assert not orphan.exists() and keep.exists()


def test_a_writer_keeps_its_part_file_until_it_dies(tmp_path: Path) -> None:
    dst = tmp_path / "song.opus"
    code = (
        "import sys, time; from pathlib import Path; from longplay.audio import partial\n"
        "with partial.claimed(Path(sys.argv[1])) as tmp:\n"
        "    tmp.write_bytes(b'x'); print(tmp, flush=True); time.sleep(60)\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(dst)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        part = Path(writer.stdout.readline().strip())
        assert part.exists() and partial.PART_NAME.match(part.name)
        assert partial.sweep(tmp_path) == [] and part.exists()  # alive: still writing
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        deadline = time.monotonic() + 5
        while part.exists() and time.monotonic() < deadline:
            partial.sweep(tmp_path)
        assert not part.exists()
    finally:
        writer.kill()
        writer.wait()


def test_claimed_leaves_nothing_behind(tmp_path: Path) -> None:
    dst = tmp_path / "cover.png"
    with partial.claimed(dst) as tmp:
        tmp.write_bytes(b"png")
        os.replace(tmp, dst)
    assert dst.read_bytes() == b"png"
    with pytest.raises(RuntimeError), partial.claimed(dst) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the encoder failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cover.png"]
