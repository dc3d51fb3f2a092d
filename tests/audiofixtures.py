"""Shared fixtures of the audio tests: real encoded sample clips, archives, test catalogs.

Loaded as a pytest plugin by tests/conftest.py; the test modules import its helpers. The clips
are encoded once per test process (session scope).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from longplay.archive import Archive
from longplay.audio import samples
from longplay.catalog.identifiers import stable_id
from longplay.catalog.store import CatalogStore

REPO = Path(__file__).resolve().parent.parent


def shared_data(*parts: str) -> Path | None:
    """``<repo>/../shared/data/...``, else ``/work/shared/data/...``; None when absent."""
    for base in (REPO.parent / "shared" / "data", Path("/work/shared/data")):
        p = base.joinpath(*parts)
        if p.exists():
            return p
    return None


def require_shared_data(*parts: str) -> Path:
    """Like :func:`shared_data`, but skips the calling test with the reason when absent."""
    path = shared_data(*parts)
    if path is None:
        pytest.skip(
            f"shared test data {'/'.join(parts)} is absent (expected ../shared/data beside the repo)"
        )
    return path


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten 3-second clips, two per format (FLAC, Ogg Vorbis, Opus, MP3, M4A), seed 0."""
    out = tmp_path_factory.mktemp("clips")
    samples.generate(out, 10, seed=0, seconds=3.0)
    return out


def clip_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix != ".jsonl")


def by_format(directory: Path) -> dict[str, Path]:
    """The first clip of each format in ``directory``."""
    out: dict[str, Path] = {}
    for p in clip_files(directory):
        out.setdefault(p.suffix.lstrip("."), p)
    return out


@pytest.fixture
def music(clip_dir: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the clips (tests may move, change and delete files)."""
    dst = tmp_path / "music"
    shutil.copytree(clip_dir, dst)
    (dst / "catalog.jsonl").unlink()
    return dst


def track_row(
    track_key: str,
    title: str,
    artists: list[str],
    *,
    isrc: str | None = None,
    mbid: str | None = None,
    duration_ms: int | None = None,
    album: str = "Album",
    track_number: int | None = None,
    recording_id: int | None = None,
    canonical: bool | None = None,
    album_key: str | None = None,
    genres: list[str] | None = None,
    release_date: str | None = None,
    album_mbid: str | None = None,
    artist_mbids: list[str] | None = None,
    total_tracks: int | None = None,
    album_artists: list[str] | None = None,
) -> dict[str, Any]:
    return locals()


def clip_track_rows(count: int, seed: int = 0, seconds: float = 3.0) -> list[dict[str, Any]]:
    """Catalog rows describing the sample clips exactly (same keys as their flat records)."""
    rows = []
    for i in range(count):
        rec = samples.flat_record(samples.clip(i, seed, seconds))
        rows.append(
            track_row(
                rec["track_key"],
                rec["title"],
                [a["name"] for a in rec["artists"]],  # type: ignore[union-attr]
                isrc=rec["isrc"],
                mbid=rec["mbid"],
                duration_ms=rec["duration_ms"],
                album=rec["album_title"],
                track_number=rec["track_number"],
                album_key=rec["album_key"],
                genres=rec["genres"],
                release_date=rec["release_date"],
                album_mbid=rec["album_mbid"],
                artist_mbids=[a["mbid"] for a in rec["artists"]],  # type: ignore[union-attr]
                total_tracks=rec["total_tracks"],
                album_artists=[a["name"] for a in rec["album_artists"]],
            )
        )  # type: ignore[union-attr]
    return rows


def make_catalog(
    archive: Archive, rows: list[dict[str, Any]], job: str = "audio-test"
) -> dict[str, int]:
    """A new catalog generation holding ``rows`` (plain INSERTs); returns track_key -> track_id."""
    ids: dict[str, int] = {}
    with CatalogStore(archive).build({"job": job, "n": len(rows)}) as builder:
        con, gen = builder.con, builder.number
        artists: dict[str, int] = {}

        def artist(name: str, mbid: str | None) -> int:
            if name not in artists:
                artists[name] = stable_id(f"test:artist:{name}")
                con.execute(
                    "INSERT INTO artists VALUES (?, ?, NULL, ?, 'test', ?, ?)",
                    [artists[name], name, mbid, name, gen],
                )
            return artists[name]

        albums: dict[str, int] = {}
        for r in rows:
            name_mbid = dict(zip(r["artists"], r["artist_mbids"] or [], strict=False))
            album_key = r["album_key"] or f"album:{r['album']}"
            if album_key not in albums:
                albums[album_key] = stable_id(f"test:album:{album_key}")
                con.execute(
                    "INSERT INTO albums VALUES (?, ?, 'album', ?, NULL, NULL, NULL, ?, ?, 'test', ?, ?)",
                    [
                        albums[album_key],
                        r["album"],
                        r["release_date"],
                        r["total_tracks"],
                        r["album_mbid"],
                        album_key,
                        gen,
                    ],
                )
                for pos, name in enumerate(r["album_artists"] or r["artists"]):
                    con.execute(
                        "INSERT INTO album_artists VALUES (?, ?, ?, NULL)",
                        [albums[album_key], artist(name, name_mbid.get(name)), pos],
                    )
            tid = stable_id(f"test:track:{r['track_key']}")
            ids[r["track_key"]] = tid
            con.execute(
                "INSERT INTO tracks (track_id, album_id, title, track_number, duration_ms, isrc, mbid, "
                "recording_id, is_canonical, source, source_key, generation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', ?, ?)",
                [
                    tid,
                    albums[album_key],
                    r["title"],
                    r["track_number"],
                    r["duration_ms"],
                    r["isrc"],
                    r["mbid"],
                    r["recording_id"],
                    r["canonical"],
                    r["track_key"],
                    gen,
                ],
            )
            mbids = r["artist_mbids"] or [None] * len(r["artists"])
            for pos, (name, mb) in enumerate(zip(r["artists"], mbids, strict=True)):
                con.execute(
                    "INSERT INTO track_artists VALUES (?, ?, ?, NULL)", [tid, artist(name, mb), pos]
                )
            for g in r["genres"] or []:
                gid = stable_id(f"test:genre:{g}")
                if not con.execute(
                    "SELECT count(*) FROM genres WHERE genre_id = ?", [gid]
                ).fetchone()[0]:  # type: ignore[index]
                    con.execute("INSERT INTO genres VALUES (?, ?)", [gid, g])
                con.execute("INSERT INTO track_genres VALUES (?, ?)", [tid, gid])
        builder.commit()
    return ids
