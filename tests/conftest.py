"""Shared fixtures: real archives and catalogs built in temporary directories."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from longplay.archive import Archive

REPO = Path(__file__).resolve().parent.parent

# Fixture modules shared by several test files.
pytest_plugins = ["audiofixtures", "serverfixtures"]


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive.init(tmp_path / "archive")


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the real `longplay` command as a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGPLAY_")}
    env["LONGPLAY_NO_PROGRESS"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env
