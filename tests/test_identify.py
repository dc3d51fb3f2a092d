"""Offline identification: other encodings and excerpts of a held recording are found; others not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

import analysis_signals as sig
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.analysis import analyze_file
from longplay.audio.analyze import analyze
from longplay.audio.fpindex import Segment, StoredIndex
from longplay.audio.identify import ArchiveIdentifier, FingerprintIndex
from longplay.audio.library import LibraryStore
from longplay.audio.scan import scan
from longplay.catalog.sources import ingest_flat


def _pcm(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sig.RATE)
        frames = [f.to_ndarray() for fr in c.decode(audio=0) for f in resampler.resample(fr)]
    return np.concatenate(frames, axis=1)


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> tuple[Archive, dict[Path, int]]:
    root = tmp_path_factory.mktemp("ident")
    music = root / "music"
    samples.generate(music, 4, seed=11, seconds=40.0, formats=["flac"])
    archive = Archive.init(root / "archive")
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LONGPLAY_ANALYSIS_ESSENTIA", "false")  # fingerprints are what is tested here
        analyze(archive, workers=1)
    assert (archive.root / "analysis" / "fpindex" / "index.json").exists()  # built by analyze
    with LibraryStore(archive, read_only=True) as lib:
        rows = lib.rows("track_id IS NOT NULL")
    # A steady tone's fingerprint repeats one item: nothing can tell two such tones apart.
    varied = {
        Path(r["root"]) / r["path"]: r["track_id"]
        for r in rows
        if len(set(analyze_file(f"{r['root']}/{r['path']}", essentia=False).fingerprint)) > 20
    }
    assert len(varied) >= 2
    return archive, varied


def test_other_encodings_and_excerpts_are_identified(
    tmp_path: Path, held: tuple[Archive, dict[Path, int]]
) -> None:
    archive, varied = held
    ident = ArchiveIdentifier(archive)
    for source, track in list(varied.items())[:2]:
        pcm = _pcm(source)
        for codec, ext, rate, bits in (("libopus", "opus", 48000, 75_000), ("libmp3lame", "mp3", 44100, 128_000)):  # fmt: skip
            for label, part in (("whole", pcm), ("excerpt", pcm[:, int(7.3 * sig.RATE) : int(37.3 * sig.RATE)])):  # fmt: skip
                query = sig.encode(tmp_path / f"{track}-{label}.{ext}", part, codec=codec, rate=rate, bit_rate=bits)  # fmt: skip
                got = ident.identify(str(query))
                assert got.track_id == track, (codec, label, got)
                assert got.score is not None and got.score > 0.88


def test_a_different_recording_is_not_identified(tmp_path: Path, held: tuple[Archive, dict[Path, int]]) -> None:  # fmt: skip
    archive, _ = held
    other = sig.encode(tmp_path / "other.flac", sig.chords(sig.EB_MAJOR, repeats=3))
    got = ArchiveIdentifier(archive).identify(str(other))
    assert got.track_id is None


def test_index_finds_the_right_offset() -> None:
    rng = np.random.default_rng(5)
    stored = [rng.integers(0, 2**32, 800, dtype=np.uint64).astype(np.uint32) for _ in range(50)]
    index = FingerprintIndex.of(stored)
    query = stored[17][300:540].copy()
    flipped = np.arange(0, query.size, 3)  # a third of the items lose one bit
    query[flipped] ^= np.left_shift(
        np.uint32(1), rng.integers(0, 32, flipped.size).astype(np.uint32)
    )
    (best, *_) = index.candidates(query)
    assert (best.ref, best.offset, best.matches) == (17, 300, True)
    assert best.ber == pytest.approx(flipped.size / (32 * query.size))


def test_identify_command_and_scan_identify(tmp_path: Path, held: tuple[Archive, dict[Path, int]], cli_env: dict[str, str]) -> None:  # fmt: skip
    archive, varied = held
    source, track = next(iter(varied.items()))
    untagged = tmp_path / "untagged"
    untagged.mkdir()
    query = sig.encode(untagged / "mystery.opus", _pcm(source), codec="libopus", rate=48000, bit_rate=75_000)  # fmt: skip
    base = [sys.executable, "-m", "longplay.cli", "--archive", str(archive.root)]
    run = subprocess.run([*base, "identify", str(query)], env=cli_env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"track {track} (score" in run.stdout
    run = subprocess.run([*base, "scan", "--identify", str(untagged)], env=cli_env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "identified by fingerprint: 1" in run.stdout
    with LibraryStore(archive, read_only=True) as lib:
        (row,) = lib.rows("path = ?", ["mystery.opus"])
    assert (row["track_id"], row["match_method"]) == (track, "fingerprint")


def test_stored_index_grows_by_segments_and_answers_like_one_built_at_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    stored = {i: rng.integers(0, 2**32, 300, dtype=np.uint64).astype(np.uint32) for i in range(1, 251)}  # fmt: skip
    index = StoredIndex(tmp_path / "fpindex")
    for first, last in ((1, 200), (201, 210), (211, 220), (221, 250)):
        index.update(((i, stored[i]) for i in range(first, last + 1)), last)
        assert not list((tmp_path / "fpindex").glob("*.tmp"))  # what a killed run left is swept
        (tmp_path / "fpindex" / "seg-killed.keys.npy.tmp").write_bytes(b"half")
    reopened = StoredIndex(tmp_path / "fpindex")
    # 200, then 10 beside it, then 10 merged into 20, then 30 merged into 50: two segments.
    assert reopened.last_row == 250 and all(s.size for s in reopened.segments)
    assert len(reopened.names) == 2
    whole = Segment.build(stored.items())
    assert sum(s.size for s in reopened.segments) == whole.size
    fetch = lambda refs: {r: stored[r] for r in refs}  # noqa: E731
    for q in (3, 105, 117, 249):
        query = stored[q][50:250]
        got = FingerprintIndex(reopened.segments, fetch).candidates(query)[0]
        assert (got.ref, got.offset, got.ber) == (q, 50, 0.0)
        assert FingerprintIndex([whole], fetch).candidates(query)[0] == got
