"""The coverage-guided fuzzers (tests/atheris/) run briefly: no input may crash them.

`make test` gives each ATHERIS_RUNS inputs (a few seconds); `make soak` runs the scripts for
200,000 inputs each. A crash leaves its input under the test's temporary folder (libFuzzer's
crash-* file): keep it in tests/regressions/ once the parser is fixed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HERE = Path(__file__).resolve().parent / "atheris"
RUNS = int(os.environ.get("LONGPLAY_ATHERIS_RUNS", "2000"))


@pytest.mark.parametrize("script", ["fuzz_bencode.py", "fuzz_restore.py"])
def test_atheris_finds_no_crash(script: str, tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, str(HERE / script), f"-runs={RUNS}", f"-artifact_prefix={tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"Done {RUNS} runs" in res.stderr
    assert not list(tmp_path.glob("crash-*"))
