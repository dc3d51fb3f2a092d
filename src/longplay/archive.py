"""The archive directory: its layout, its settings, and `longplay init`.

Layout (see docs/archive.md)::

    ARCHIVE/
      longplay.toml          settings
      catalog/gen-NNNNNN/    one DuckDB file per generation; catalog/CURRENT names the current one
      state.sqlite           users, playlists, job ledger (WAL)
      library.duckdb         scanned local audio files and their matches (audio.library)
      search/gen-NNNNNN/     search index of that generation
      build/                 built files (tagged originals, Opus re-encodes) and covers
      files/TORRENT_NAME/    archived audio, laid out exactly as the torrents see it
      torrents/              *.torrent, manifests, torrents.json
      release/               catalog exports for the metadata torrent
      rejects/               one JSON-lines log per run
      work/                  resumable scratch space of long jobs
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longplay import settings as settings_mod
from longplay import state
from longplay.errors import LongplayError

SUBDIRS = ("catalog", "search", "build", "files", "torrents", "release", "rejects", "work")


@dataclass
class Archive:
    root: Path
    _settings: settings_mod.Settings | None = field(default=None, repr=False)

    @property
    def toml_path(self) -> Path:
        return self.root / "longplay.toml"

    @property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    @property
    def state_path(self) -> Path:
        return self.root / "state.sqlite"

    @property
    def library_path(self) -> Path:
        return self.root / "library.duckdb"

    @property
    def search_dir(self) -> Path:
        return self.root / "search"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    @property
    def torrents_dir(self) -> Path:
        return self.root / "torrents"

    @property
    def release_dir(self) -> Path:
        return self.root / "release"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def settings(self) -> settings_mod.Settings:
        if self._settings is None:
            self._settings = settings_mod.load(self.toml_path)
        return self._settings

    def override(self, **given: Any) -> Archive:
        """This archive with settings given on the command line on top (None: not given)."""
        values = {k: v for k, v in given.items() if v is not None}
        if values:
            self._settings = settings_mod.load(self.toml_path, overrides=values)
        return self

    def resolve_inside(self, relative: str | os.PathLike[str], base: Path | None = None) -> Path:
        """Join an untrusted relative path under ``base`` (default: the archive), refusing escapes."""
        base = (base or self.root).resolve()
        candidate = (base / relative).resolve()
        if candidate != base and base not in candidate.parents:
            raise LongplayError(f"path {str(relative)!r} escapes {base}")
        return candidate

    @classmethod
    def init(cls, root: Path) -> Archive:
        """Create an archive (idempotent: an existing one is left as it is)."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise LongplayError(f"{root} exists and is not a directory")
        root.mkdir(parents=True, exist_ok=True)
        archive = cls(root)
        for sub in SUBDIRS:
            (root / sub).mkdir(exist_ok=True)
        if not archive.toml_path.exists():
            tmp = archive.toml_path.with_suffix(".toml.tmp")
            tmp.write_text(settings_mod.default_toml(), encoding="utf-8")
            os.replace(tmp, archive.toml_path)
        state.ensure(archive)
        archive.settings  # noqa: B018 - validate the toml now, not on first use
        return archive

    @classmethod
    def open(cls, root: Path) -> Archive:
        """Open an existing archive; a clear error when ``root`` is not one."""
        root = Path(root)
        if not (root / "longplay.toml").is_file():
            raise LongplayError(
                f"{root} is not a Longplay archive (no longplay.toml); create one with `longplay init {root}`"
            )
        archive = cls(root)
        archive.settings  # noqa: B018
        return archive
