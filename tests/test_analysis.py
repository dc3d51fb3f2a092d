"""Audio analysis on generated signals with known answers: tempo, key, loudness, fingerprints."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mutagen.flac import FLAC

import analysis_signals as sig
from audiofixtures import shared_data
from longplay.audio import descriptors, fingerprint, loudness, truepeak
from longplay.audio.analysis import AnalysisProblem, analyze_file

BEETS = shared_data("audio", "beets") or Path("../shared/data/audio/beets")
needs_essentia = pytest.mark.skipif(
    not descriptors.available(), reason="the optional extra longplay[analysis] is not installed"
)


@pytest.fixture(scope="module")
def signals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("signals")
    made = {
        "click120": sig.clicks(120, 20),
        "pattern97": sig.pattern(97, 20),
        "a_minor": sig.chords(sig.A_MINOR, repeats=2),
        "eb_major": sig.chords(sig.EB_MAJOR, repeats=2),
    }
    return {name: sig.encode(d / f"{name}.flac", x) for name, x in made.items()}


@needs_essentia
@pytest.mark.parametrize(("name", "bpm"), [("click120", 120.0), ("pattern97", 97.0)])
def test_tempo_within_two_percent(signals: dict[str, Path], name: str, bpm: float) -> None:
    got = analyze_file(str(signals[name])).bpm
    assert got is not None and abs(got - bpm) / bpm < 0.02, got


@needs_essentia
@pytest.mark.parametrize(
    ("name", "key"), [("a_minor", ("A", "minor")), ("eb_major", ("Eb", "major"))]
)
def test_key_and_mode(signals: dict[str, Path], name: str, key: tuple[str, str]) -> None:
    f = analyze_file(str(signals[name]))
    assert (f.key, f.mode) == key
    assert f.danceability is not None and f.onset_rate is not None
    assert f.dynamic_complexity is not None


def test_without_essentia_the_fields_are_absent(signals: dict[str, Path]) -> None:
    values = analyze_file(str(signals["a_minor"]), essentia=False).values()
    assert not set(descriptors.FIELDS) & set(values)
    assert "essentia" not in values["analyzers"]
    assert values["loudness_lufs"] < 0 and values["payload_sha256"]


@pytest.mark.parametrize("dbfs", [-23.0, -33.0])
def test_ebu_3341_stereo_sine_reads_its_level(tmp_path: Path, dbfs: float) -> None:
    # EBU Tech 3341 cases 1 and 2: 1 kHz sine, both channels, at -23 / -33 dBFS = that LUFS.
    f = analyze_file(str(sig.encode(tmp_path / "t.flac", sig.tone(1000, dbfs))), essentia=False)
    assert abs(f.loudness_lufs - dbfs) <= 0.1
    assert f.replaygain_track_gain_db == pytest.approx(-18 - f.loudness_lufs, abs=0.01)


def test_ebu_3341_gating(tmp_path: Path) -> None:
    # Case 3: 10 s at -36, 60 s at -23, 10 s at -36 dBFS: the relative gate keeps -23.0.
    x = np.concatenate([sig.tone(1000, -36, 10), sig.tone(1000, -23, 60), sig.tone(1000, -36, 10)])
    f = analyze_file(str(sig.encode(tmp_path / "g.flac", x)), essentia=False)
    assert abs(f.loudness_lufs + 23.0) <= 0.1
    assert f.true_peak == pytest.approx(10 ** (-23 / 20), rel=0.02)


def test_pink_noise_at_minus_23(tmp_path: Path) -> None:
    noise = sig.pink_noise(15) * 0.25
    first = analyze_file(str(sig.encode(tmp_path / "a.flac", noise)), essentia=False)
    scaled = noise * 10 ** ((-23 - first.loudness_lufs) / 20)
    f = analyze_file(str(sig.encode(tmp_path / "b.flac", scaled)), essentia=False)
    assert abs(f.loudness_lufs + 23) <= 0.1
    assert f.replaygain_track_gain_db == pytest.approx(5.0, abs=0.1)
    assert f.loudness_range_lu < 3  # steady noise has almost no loudness range


def test_album_gain_is_the_power_mean() -> None:
    assert loudness.album_gain([(-20.0, 100, 0.5), (-20.0, 50, 0.9)]) == (2.0, 0.9)
    gain, _ = loudness.album_gain([(-10.0, 10, 0.5), (-30.0, 10, 0.5)])  # type: ignore[misc]
    assert gain == pytest.approx(-18 - 10 * np.log10((10**-1 + 10**-3) / 2), abs=0.01)
    assert loudness.album_gain([(-70.0, 10, 0.0)]) is None


def test_fingerprint_survives_retagging_and_round_trips(
    tmp_path: Path, signals: dict[str, Path]
) -> None:
    copy = tmp_path / "retagged.flac"
    shutil.copy(signals["a_minor"], copy)
    tags = FLAC(copy)
    tags["title"] = "something else entirely"
    tags.save()
    a = analyze_file(str(signals["a_minor"]), essentia=False)
    b = analyze_file(str(copy), essentia=False)
    assert a.payload_sha256 == b.payload_sha256 and a.fingerprint == b.fingerprint
    assert len(a.fingerprint) == pytest.approx(a.duration_s * fingerprint.ITEMS_PER_SECOND, rel=0.2)
    assert fingerprint.decode(a.fingerprint_compressed) == a.fingerprint
    assert fingerprint.encode(a.fingerprint) == a.fingerprint_compressed


@pytest.mark.parametrize("name", ["unparseable.flac", "partial.mp3", "empty.dsf", "pure.wma",
                                  "no_ext_not_music", "full.opus"])  # fmt: skip
def test_broken_short_and_silent_files_are_refused(name: str) -> None:
    with pytest.raises(AnalysisProblem):
        analyze_file(str(BEETS / name), essentia=False)


def test_silence_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AnalysisProblem, match="silent"):
        analyze_file(str(sig.encode(tmp_path / "s.flac", np.zeros(5 * sig.RATE))), essentia=False)


def test_audio_analyze_command(cli_env: dict[str, str], signals: dict[str, Path]) -> None:
    env = {**cli_env, "LONGPLAY_ANALYSIS_ESSENTIA": "false"}
    run = subprocess.run(
        [sys.executable, "-m", "longplay.cli", "audio", "analyze", "--json",
         str(signals["click120"]), str(BEETS / "partial.flac")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    (line,) = run.stdout.splitlines()
    values = json.loads(line)
    assert values["file"] == str(signals["click120"]) and "bpm" not in values
    assert fingerprint.decode(values["fingerprint_compressed"])
    assert "partial.flac: not analyzed: too short" in run.stderr


def test_true_peak_between_samples(tmp_path: Path) -> None:
    # A quarter-rate sine sampled 45 degrees off its crests: every sample reads 0.707 of the
    # amplitude, the waveform between them reaches it (+3 dB): only oversampling sees that.
    n = np.arange(10 * sig.RATE)
    ramp = np.minimum(1, np.minimum(n, n[::-1]) / sig.RATE)  # no step at the ends to ring
    x = 0.5 * ramp * np.sin(np.pi / 2 * n + np.pi / 4)
    f = analyze_file(str(sig.encode(tmp_path / "q.flac", x)), essentia=False)
    assert f.true_peak == pytest.approx(0.5, rel=0.012)  # 0.1 dB
    assert f.true_peak_dbtp == pytest.approx(-6.02, abs=0.1)


def test_true_peak_does_not_depend_on_block_sizes() -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, 50_000)) * 0.1).astype(np.float32)
    x[1, 4095:4097] = 0.9  # two loud samples across a block edge: the peak is between them
    peaks = []
    for size in (50_000, 4096, 1000, 7):
        meter = truepeak.TruePeak(2)
        for i in range(0, x.shape[1], size):
            meter.feed(np.ascontiguousarray(x[:, i : i + size]))
        peaks.append(meter.finish())
    assert peaks[0] > 1.0 and all(p == peaks[0] for p in peaks)


def test_fingerprints_agree_across_sample_rates(tmp_path: Path) -> None:
    # 44.1 kHz goes through the numpy decimator, 48 kHz through PyAV's resampler.
    x = sig.pattern(97, 20)
    a = analyze_file(str(sig.encode(tmp_path / "a.flac", x)), essentia=False)
    b = analyze_file(str(sig.encode(tmp_path / "b.flac", x, rate=48000)), essentia=False)
    fa, fb = (np.asarray(v.fingerprint, dtype=np.uint32) for v in (a, b))
    ber = min(fingerprint.bit_error_rate(fa, fb, o)[0] for o in (-1, 0, 1))
    assert ber < 0.05, ber


@pytest.mark.skipif(
    platform.machine() != "x86_64" or sys.version_info >= (3, 14),
    reason="Essentia has wheels only for CPython 3.11-3.13 on x86_64",
)
def test_the_analysis_extra_is_installed_where_it_can_be() -> None:
    # `make venv` installs '.[dev,analysis]': without this the Essentia tests would skip quietly.
    assert descriptors.available()


def test_without_the_essentia_package(cli_env: dict[str, str], signals: dict[str, Path]) -> None:
    # Not the setting: the package itself cannot be imported, as without the extra.
    code = (
        "import sys; sys.modules['essentia'] = None; from longplay.cli import main; "
        "sys.argv = ['longplay', 'audio', 'analyze', '--json', sys.argv[1]]; main()"
    )
    run = subprocess.run([sys.executable, "-c", code, str(signals["click120"])], env=cli_env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    values = json.loads(run.stdout)
    assert not set(descriptors.FIELDS) & set(values) and "essentia" not in values["analyzers"]
    assert values["loudness_lufs"] < 0 and values["fingerprint_compressed"]
