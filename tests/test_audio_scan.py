"""`longplay scan`: facts and tags recorded, rescans, moves, changes, deletions, bad files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from audiofixtures import clip_files, shared_data
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio import scan as scan_mod
from longplay.audio.library import LibraryStore
from longplay.audio.scan import scan
from longplay.audio.tags import TagRecord, write_tags
from longplay.cli import cli
from procs import assert_all_exit, busy_workers, workers_of


def rows(archive: Archive, table: str = "files") -> dict[str, dict[str, Any]]:
    with LibraryStore(archive) as store:
        return {r["path"]: r for r in store.rows(table=table)}


def test_scan_records_stream_facts_tags_and_hashes(archive: Archive, music: Path) -> None:
    s = scan(archive, [music], workers=2)
    assert (s.walked, s.new, s.kept, s.rejected, s.ignored) == (10, 10, 10, 0, 0)
    got = rows(archive)
    assert len(got) == 10
    c = samples.clip(2, 0, 3.0)  # the first Opus clip
    [path] = [p for p in got if p.endswith(f"{c.tags.title}.opus")]
    r = got[path]
    assert r["root"] == str(music.resolve())
    assert (r["container"], r["codec"], r["sample_rate"], r["channels"]) == (
        "ogg",
        "opus",
        48000,
        c.channels,
    )
    assert abs(r["duration_ms"] - 3000) <= 25 and r["bitrate"] > 20_000
    assert (r["title"], r["artists"], r["album"], r["isrc"]) == (
        c.tags.title,
        list(c.tags.artists),
        c.tags.album,
        c.tags.isrc,
    )
    assert (r["track_number"], r["track_total"], r["disc_number"]) == (3, 5, 1)
    assert r["mb_recording_id"] == c.tags.mb_recording_id and r["has_cover"] is True
    import hashlib

    assert r["sha256"] == hashlib.sha256((music / path).read_bytes()).hexdigest()
    assert len({x["payload_sha256"] for x in got.values()}) == 10
    assert r["size"] == (music / path).stat().st_size


def test_rescan_skips_unchanged_and_notices_moves_changes_and_deletions(
    archive: Archive, music: Path
) -> None:
    scan(archive, [music], workers=2)
    before = rows(archive)
    again = scan(archive, [music])
    assert (again.unchanged, again.examined, again.moved, again.deleted) == (10, 0, 0, 0)

    files = sorted(before)
    renamed, copied, retagged, deleted = files[0], files[1], files[2], files[3]
    (music / "moved").mkdir()
    os.rename(music / renamed, music / "moved" / "a.flac")  # same inode
    shutil.copyfile(music / copied, music / "moved" / "b.ogg")  # new inode...
    (music / copied).unlink()  # ...old one gone
    write_tags(str(music / retagged), TagRecord(title="Retagged"))  # changed in place
    (music / deleted).unlink()
    new_clip = samples.write_clip(samples.clip(40, 0, 1.0), music / "new.flac", "flac")

    s = scan(archive, [music])
    assert (s.unchanged, s.moved, s.changed, s.deleted, s.new) == (6, 2, 1, 1, 1)
    assert s.examined == 3  # the copy, the retagged file and the new file; the rename was free
    after = rows(archive)
    assert set(after) == (set(before) - {renamed, copied, deleted}) | {
        "moved/a.flac",
        "moved/b.ogg",
        "new.flac",
    }
    assert after["moved/a.flac"]["sha256"] == before[renamed]["sha256"]
    assert after["moved/b.ogg"]["sha256"] == before[copied]["sha256"]
    assert after[retagged]["title"] == "Retagged"
    assert after[retagged]["sha256"] != before[retagged]["sha256"]
    assert after[retagged]["payload_sha256"] == before[retagged]["payload_sha256"]
    assert after["new.flac"]["size"] == new_clip.stat().st_size


def test_bad_files_are_rejected_and_the_scan_goes_on(archive: Archive, music: Path) -> None:
    good = clip_files(music)
    mp3 = next(p for p in good if p.suffix == ".mp3")
    shutil.copyfile(mp3, music / "mislabeled.flac")
    (music / "zero.ogg").write_bytes(b"")
    flac = next(p for p in good if p.suffix == ".flac")
    (music / "cut.flac").write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    (music / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)
    (music / "sound.wav").write_bytes(b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 64)
    bad_tags = music / "bad-tags.flac"
    shutil.copyfile(flac, bad_tags)
    from mutagen.flac import FLAC

    f = FLAC(bad_tags)
    f["tracknumber"], f["isrc"] = ["seven"], ["not-an-isrc"]
    f.save()

    s = scan(archive, [music], workers=2)
    assert s.walked == 16 and s.kept + s.rejected + s.ignored == 16
    assert (s.kept, s.rejected, s.ignored) == (11, 4, 1)
    rejected = rows(archive, "rejected_files")
    reasons = {p: r["reason"] for p, r in rejected.items()}
    assert reasons["mislabeled.flac"] == "mislabeled: named .flac but the content is MP3"
    assert reasons["zero.ogg"] == "zero-length file"
    assert reasons["cut.flac"].startswith("truncated")
    assert reasons["sound.wav"].startswith("unsupported format: WAV")
    assert rejected["cover.jpg"]["status"] == "ignored"
    kept = rows(archive)["bad-tags.flac"]
    assert kept["track_number"] is None and kept["isrc"] is None and kept["title"]
    log = [orjson.loads(x) for x in s.rejects_log.read_bytes().splitlines()]  # type: ignore[union-attr]
    assert sum(r["kind"] == "record" for r in log) == 4
    values = {r["position"]: r["reason"] for r in log if r["kind"] == "value"}
    assert "not a number" in values["tag track_number"] and "ISRC" in values["tag isrc"]
    # Unchanged rejects are not examined again either.
    again = scan(archive, [music])
    assert (again.unchanged, again.examined) == (16, 0)


def test_a_killed_scan_resumes_to_the_same_result(
    archive: Archive, music: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = scan_mod.examine_all

    def dies_after_four(paths: Any, workers: int, decode: bool, cluster: str = "") -> Any:
        for n, item in enumerate(real(paths, workers, decode, cluster)):
            if n == 4:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(scan_mod, "FLUSH_EVERY", 2)
    monkeypatch.setattr(scan_mod, "examine_all", dies_after_four)
    with pytest.raises(KeyboardInterrupt):
        scan(archive, [music], workers=1)
    assert len(rows(archive)) == 4
    monkeypatch.setattr(scan_mod, "examine_all", real)
    s = scan(archive, [music], workers=1)
    assert (s.unchanged, s.new) == (4, 6)
    resumed = rows(archive)
    fresh_archive = Archive.init(tmp_path / "fresh")
    scan(fresh_archive, [music])
    strip = ("scanned_at",)
    assert {p: {k: v for k, v in r.items() if k not in strip} for p, r in resumed.items()} == {
        p: {k: v for k, v in r.items() if k not in strip} for p, r in rows(fresh_archive).items()
    }


def test_kill_9_during_scan_leaves_no_worker_and_the_rerun_ends_the_same(
    clip_dir: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    music = tmp_path / "music"
    # 960 files: 160 took 0.8 s on an idle machine here, over before both workers were busy.
    for n in range(96):
        shutil.copytree(clip_dir, music / f"copy{n:02d}")
    killed, clean = Archive.init(tmp_path / "killed"), Archive.init(tmp_path / "clean")

    def cmd(archive: Archive) -> list[str]:
        where = ["--archive", str(archive.root)]
        return [sys.executable, "-m", "longplay.cli", *where, "scan", "--workers", "2", str(music)]

    proc = subprocess.Popen(
        cmd(killed), env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workers = busy_workers(proc.pid, 2)
    assert proc.poll() is None, "the scan finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert_all_exit(workers, within=10)
    for archive in (killed, clean):
        run = subprocess.run(cmd(archive), env=cli_env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    strip = ("scanned_at",)
    for table in ("files", "rejected_files"):
        got, want = rows(killed, table), rows(clean, table)
        assert len(want) == {"files": 960, "rejected_files": 96}[table]  # + catalog.jsonl
        assert {p: {k: v for k, v in r.items() if k not in strip} for p, r in got.items()} == {
            p: {k: v for k, v in r.items() if k not in strip} for p, r in want.items()
        }


BEETS = shared_data("audio", "beets")


@pytest.mark.skipif(BEETS is None, reason="shared test corpus ../shared/data/audio/beets is absent")
def test_scan_of_the_beets_corpus_rejects_broken_files_and_reads_good_ones(
    archive: Archive,
) -> None:
    s = scan(archive, [BEETS], workers=2)
    files, rejected = rows(archive), rows(archive, "rejected_files")
    assert s.walked == len(files) + len(rejected) == len(list(BEETS.iterdir()))
    reason = {p: r["reason"] for p, r in rejected.items() if r["status"] == "rejected"}
    assert reason["emptylist.mp3"].startswith("truncated: the header says 217.0 s")
    assert reason["no_ext_not_music"] == "zero-length file"
    assert reason["oldape.ape"].startswith("unsupported format: Monkey's Audio")
    assert reason["mpeglayer3.wav"].startswith("unsupported format: WAV")
    for ext, name in (
        ("wma", "Windows Media"),
        ("aiff", "AIFF"),
        ("wv", "WavPack"),
        ("mpc", "Musepack"),
        ("dsf", "DSD"),
    ):
        assert reason[f"full.{ext}"].startswith(f"unsupported format: {name}"), ext
    assert {p for p, r in rejected.items() if r["status"] == "ignored"} == {"LICENSE", "SOURCE.txt"}

    full = files["full.flac"]
    assert (
        full["container"],
        full["codec"],
        full["duration_ms"],
        full["sample_rate"],
        full["channels"],
    ) == ("flac", "flac", 1000, 44100, 1)
    assert (full["title"], full["artists"], full["album"]) == ("full", ["the artist"], "the album")
    assert files["full.mp3"]["album_artists"] == ["the album artist"]  # (full.flac has none)
    assert (full["track_number"], full["track_total"], full["disc_number"], full["disc_total"]) == (
        2,
        3,
        4,
        5,
    )
    assert full["date"] == "2001" and full["genres"] == ["the genre"]
    assert full["mb_recording_id"] == "8b882575-08a5-4452-a7a7-cbb8a1531f9e"
    assert files["full.opus"]["sample_rate"] == 48000 and files["full.m4a"]["codec"] == "aac"
    assert files["full.alac.m4a"]["codec"] == "alac"
    assert files["no_ext"]["codec"] == "mp3"  # audio without an extension
    assert files["image.flac"]["has_cover"] and not files["full.flac"]["has_cover"]
    assert files["date_with_slashes.ogg"]["date"] == "2005-06-05"
    # Same audio, different tags: one payload hash; different encodes: different hashes.
    assert files["full.mp3"]["payload_sha256"] == files["bpm.mp3"]["payload_sha256"]
    assert files["full.mp3"]["sha256"] != files["bpm.mp3"]["sha256"]
    assert files["full.mp3"]["payload_sha256"] != files["whitenoise.mp3"]["payload_sha256"]
    assert files["unparseable.flac"]["date"] is None  # value dropped, file kept
    log = [orjson.loads(x) for x in s.rejects_log.read_bytes().splitlines()]  # type: ignore[union-attr]
    assert {"input": str(BEETS / "unparseable.ogg"), "position": "tag date"}.items() <= next(
        r for r in log if r["input"].endswith("unparseable.ogg")
    ).items()


def test_a_worker_that_dies_does_not_stop_the_scan(clip_dir: Path) -> None:
    # Kill a real pool worker mid-run: the batches in flight are re-run one file at a time and
    # every file still gets its record (none of them is to blame).
    import signal

    paths = [str(p) for p in clip_files(clip_dir)] * 10
    results = scan_mod.examine_all(paths, 2, True)
    got = [next(results)]
    workers = workers_of(os.getpid())  # (skips zombies an earlier test may have left)
    assert workers, "no pool workers found"
    os.kill(workers[0].pid, signal.SIGKILL)
    got += list(results)
    assert len(got) == len(paths) and sorted(p for p, _ in got) == sorted(paths)
    assert all(r["status"] == "ok" for _, r in got)


def test_cli_scan_and_report(archive: Archive, music: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["--archive", str(archive.root), "scan", str(music)])
    assert out.exit_code == 0, out.output
    assert "scanned 10 files" in out.output and "kept 10" in out.output
    out = runner.invoke(cli, ["--archive", str(archive.root), "scan", "--report"])
    assert out.exit_code == 0 and "not matched yet" in out.output
    out = runner.invoke(cli, ["--archive", str(archive.root), "scan"])
    assert out.exit_code != 0
