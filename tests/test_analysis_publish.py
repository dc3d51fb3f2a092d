"""Pack publishes features and fingerprints reproducibly; the server's lookup by track ID."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import zstandard

from longplay.audio import samples
from longplay.audio.analyze import analyze
from longplay.audio.trackanalysis import analysis_for_tracks
from longplay.pack.publish import pack
from packfixtures import packed_archive


def test_pack_publishes_analysis_and_tracks_get_replaygain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LONGPLAY_ANALYSIS_ESSENTIA", "false")
    samples.generate(tmp_path / "music", 4, seed=9, seconds=6.0, formats=["flac", "mp3"])
    archive, _ = packed_archive(tmp_path / "a", tmp_path / "music")
    summary = analyze(archive, workers=1)
    assert summary.analyzed >= 4 and summary.rejected == 0
    pack(archive)
    meta = next(archive.files_dir.glob("*-metadata")) / "analysis"
    first = {p.name: p.read_bytes() for p in sorted(meta.iterdir())}
    assert set(first) == {"features.jsonl.zst", "features.parquet", "fingerprints.jsonl.zst", "fingerprints.parquet"}  # fmt: skip
    lines = zstandard.ZstdDecompressor().decompress(first["features.jsonl.zst"]).splitlines()
    rows = [orjson.loads(line) for line in lines]
    assert len(rows) == 4 and [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    assert all(
        r["payload_sha256"] and r["track_id"] and "loudness_lufs" in r["values"] for r in rows
    )
    pack(archive)
    assert {p.name: p.read_bytes() for p in sorted(meta.iterdir())} == first
    got = analysis_for_tracks(archive, [r["track_id"] for r in rows] + [123456789])
    assert set(got) == {r["track_id"] for r in rows}
    for f in got.values():
        assert f.replaygain_album_gain_db is not None and f.bpm is None
