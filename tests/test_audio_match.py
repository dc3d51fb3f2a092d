"""Matching scanned files to catalog tracks: ISRC, MusicBrainz ID, title+artist+duration."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from audiofixtures import clip_files, clip_track_rows, make_catalog, track_row
from longplay.archive import Archive
from longplay.audio import samples
from longplay.audio.library import LibraryStore
from longplay.audio.match import match_library, report
from longplay.audio.scan import scan
from longplay.audio.tags import TagRecord, write_tags
from longplay.cli import cli


def files(archive: Archive) -> dict[str, dict[str, Any]]:
    with LibraryStore(archive) as store:
        return {r["path"].rsplit("/", 1)[-1]: r for r in store.rows()}


def _one(directory: Path, i: int, name: str, tags: TagRecord, fmt: str = "flac") -> Path:
    path = samples.write_clip(samples.clip(i, 5, 4.0), directory / f"{name}.{fmt}", fmt)
    from mutagen import File

    f = File(path)
    f.delete()  # start from no tags at all, then only what the test says
    f.save()
    write_tags(str(path), tags)
    return path


def test_clips_match_their_catalog_tracks_by_isrc(archive: Archive, music: Path) -> None:
    ids = make_catalog(archive, clip_track_rows(10))
    s = scan(archive, [music], workers=2)
    assert s.match.by_method == {"isrc": 10} and s.match.unmatched == 0
    got = files(archive)
    for i in range(10):
        c = samples.clip(i, 0, 3.0)
        [row] = [r for r in got.values() if r["isrc"] == c.tags.isrc]
        assert row["track_id"] == ids[c.track_key] and row["match_method"] == "isrc"
        assert row["match_candidates"] == 1 and not row["match_ambiguous"]


def test_each_rule_in_turn_and_the_ambiguous_case(archive: Archive, tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    _one(d, 0, "by-isrc", TagRecord(title="Wrong Title", artists=("Nobody",), isrc="QZXYZ1200001"))
    _one(
        d,
        1,
        "by-mbid",
        TagRecord(title="Wrong", mb_recording_id="0e7a0f31-5f4b-4a4e-9d2a-0c0b1c9b1a11"),
    )
    _one(
        d,
        2,
        "by-title",
        TagRecord(title="Café  del Mar!", artists=("Señor Coconut & His Orchestra",)),
    )
    _one(d, 3, "featuring", TagRecord(title="Duet", artists=("Ann Singer feat. Bob Player",)))
    _one(d, 4, "too-long", TagRecord(title="Stretch", artists=("Slow",)))
    _one(d, 5, "ambiguous", TagRecord(title="Intro", artists=("Many",)))
    _one(d, 6, "narrowed", TagRecord(title="Theme", artists=("Comp",), album="Second Album"))
    _one(d, 7, "shared-isrc", TagRecord(title="Hit", isrc="QZXYZ1200009", album="Best Of"))
    _one(d, 8, "nothing", TagRecord(title="Unknown Song", artists=("Unknown",)))
    rows = [
        track_row(
            "t-isrc", "Right Title", ["Somebody"], isrc="QZ-XYZ-12-00001", duration_ms=60_000
        ),
        track_row(
            "t-mbid", "Right", ["X"], mbid="0E7A0F31-5F4B-4A4E-9D2A-0C0B1C9B1A11", duration_ms=4000
        ),
        track_row("t-title", "Cafe del Mar", ["Señor Coconut and His Orchestra"], duration_ms=5900),
        track_row("t-feat", "Duet", ["Bob Player"], duration_ms=4000),
        track_row("t-long", "Stretch", ["Slow"], duration_ms=6100),  # 2.1 s longer: no match
        track_row("t-amb1", "Intro", ["Many"], duration_ms=4500, album="A1"),
        track_row("t-amb2", "Intro", ["Many"], duration_ms=3500, album="A2"),
        track_row("t-th1", "Theme", ["Comp"], duration_ms=4000, album="First Album"),
        track_row("t-th2", "Theme", ["Comp"], duration_ms=4000, album="Second Album"),
        track_row(
            "t-hit1",
            "Hit",
            ["Star"],
            isrc="QZXYZ1200009",
            duration_ms=4000,
            album="Single",
            canonical=True,
        ),
        track_row(
            "t-hit2", "Hit", ["Star"], isrc="QZXYZ1200009", duration_ms=4000, album="Best Of"
        ),
    ]
    ids = make_catalog(archive, rows)
    s = scan(archive, [d])
    got = files(archive)
    expect = {
        "by-isrc": ("t-isrc", "isrc"),
        "by-mbid": ("t-mbid", "mbid"),
        "by-title": ("t-title", "title_artist_duration"),
        "featuring": ("t-feat", "title_artist_duration"),
        "narrowed": ("t-th2", "title_artist_duration"),
        "shared-isrc": ("t-hit2", "isrc"),
    }
    for name, (key, method) in expect.items():
        row = got[f"{name}.flac"]
        assert (row["track_id"], row["match_method"], row["match_ambiguous"]) == (
            ids[key],
            method,
            False,
        ), name
    amb = got["ambiguous.flac"]
    assert (amb["track_id"], amb["match_ambiguous"], amb["match_candidates"]) == (None, True, 2)
    for name in ("too-long", "nothing"):
        assert (
            got[f"{name}.flac"]["track_id"] is None and not got[f"{name}.flac"]["match_ambiguous"]
        )
    assert s.match.ambiguous == 1 and s.match.unmatched == 2
    r = report(archive)
    assert {x["file"].rsplit("/", 1)[-1] for x in r.unmatched} == {"too-long.flac", "nothing.flac"}
    assert [x["file"].rsplit("/", 1)[-1] for x in r.ambiguous] == ["ambiguous.flac"]
    out = CliRunner().invoke(cli, ["--archive", str(archive.root), "scan", "--report"])
    assert out.exit_code == 0 and "ambiguous.flac" in out.output and "nothing.flac" in out.output


def test_a_new_catalog_generation_rematches(archive: Archive, music: Path) -> None:
    s = scan(archive, [music])
    assert s.match.generation is None and "no catalog" in s.match.note
    make_catalog(archive, clip_track_rows(10)[:4], job="first")
    first = match_library(archive)
    assert first.by_method == {"isrc": 4} and first.unmatched == 6
    assert match_library(archive).checked == 0  # nothing new against this generation
    make_catalog(archive, clip_track_rows(10)[4:], job="second")  # builds on the first
    second = match_library(archive)
    assert second.checked == 10 and second.by_method == {"isrc": 10}


def test_moved_file_keeps_its_match(archive: Archive, music: Path) -> None:
    make_catalog(archive, clip_track_rows(10))
    scan(archive, [music])
    one = clip_files(music)[0]
    before = files(archive)[one.name]["track_id"]
    shutil.move(one, music / "renamed.flac")
    s = scan(archive, [music])
    assert s.moved == 1 and files(archive)["renamed.flac"]["track_id"] == before
