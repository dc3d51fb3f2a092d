"""Every parser of untrusted input, fuzzed: each case ends in a result or one clear reject.

Hypothesis mutates real inputs (a torrent Longplay made, a torrents.json, a manifest, restore
data, an exclusion list, a tabular mapping, audio files from ../shared/data) and also feeds
structures built from scratch. A case passes when the parser returns or raises the project's
`LongplayError` with a message; any other exception is a bug, and the falsifying input becomes
a regression file under tests/regressions/. `make test` runs FUZZ_EXAMPLES cases per parser
(a few hundred); `make soak` sets LONGPLAY_FUZZ_EXAMPLES=10000.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiofixtures import shared_data
from longplay.errors import LongplayError

FUZZ_EXAMPLES = int(os.environ.get("LONGPLAY_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=FUZZ_EXAMPLES <= 1000,  # the suite is repeatable; a soak explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
BEETS = shared_data("audio", "beets") or Path("../shared/data/audio/beets")
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
SOAK = "LONGPLAY_FUZZ_EXAMPLES" in os.environ
CASES: Counter[str] = Counter()  # cases run per fuzzer that runs Hypothesis inside its test


def ran(name: str) -> None:
    """In the soak, say how many cases a fuzzer ran (``pytest -s`` shows it) and hold it to the
    knob: Hypothesis run inside a test is out of reach of ``--hypothesis-show-statistics``."""
    cases = CASES[name]
    if SOAK:
        print(f"fuzzed {name}: {cases:,} cases", file=sys.stderr)
        assert cases >= FUZZ_EXAMPLES, f"{name}: {cases} cases, not {FUZZ_EXAMPLES}"


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with 1-8 edits: byte flips, insertions, deletions, a cut, or a spliced copy."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "splice", "digit"]))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 32))]
        elif op == "cut":
            del data[at:]
        elif op == "splice" and data:
            start = draw(st.integers(0, len(data) - 1))
            data[at:at] = data[start : start + draw(st.integers(1, 64))]
        elif op == "digit":  # bencode and JSON lengths and numbers: make one huge or negative
            data[at:at] = draw(st.sampled_from([b"9999999999999999999", b"-1", b"0", b"1e999"]))
    return bytes(data)


def accepts_or_rejects(parse: Any, *args: Any) -> Any:
    """Run ``parse``; a LongplayError with a message is a reject, anything else escaping fails."""
    try:
        return parse(*args)
    except LongplayError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None


# -- torrents and bencode ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def torrent_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from torrentdata import make_torrent, random_files, write_files

    root = tmp_path_factory.mktemp("fuzz-torrent")
    write_files(root, "album", random_files(3, 4, 40_000))
    return make_torrent(root, "album", piece_size=16384)


def test_torrents_are_loaded_or_refused(torrent_bytes: bytes) -> None:
    from longplay.mirror.safety import load_torrent
    from longplay.pack.torrents import read_torrent

    @FUZZ
    @given(data=mutated(torrent_bytes))
    def run(data: bytes) -> None:
        CASES["torrents"] += 1
        accepts_or_rejects(load_torrent, data, "fuzzed.torrent")
        accepts_or_rejects(read_torrent, data)

    run()
    ran("torrents")


bencode = st.recursive(
    st.integers(-(2**70), 2**70) | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.binary(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)


def _bencode(value: Any) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(_bencode(v) for v in value) + b"e"
    return b"d" + b"".join(_bencode(k) + _bencode(v) for k, v in sorted(value.items())) + b"e"


@FUZZ
@given(value=bencode, name=st.binary(max_size=30))
def test_bencoded_structures_from_scratch(value: Any, name: bytes) -> None:
    from longplay.mirror.safety import load_torrent

    accepts_or_rejects(load_torrent, _bencode(value), "scratch.torrent")
    info = {b"name": name, b"piece length": 16384, b"pieces": b"\0" * 20, b"files": value}
    accepts_or_rejects(load_torrent, _bencode({b"info": info}), "scratch.torrent")


def test_a_bencode_nesting_bomb_is_refused() -> None:
    from longplay.mirror.safety import load_torrent

    bomb = b"d4:info" + b"l" * 100_000 + b"e" * 100_000 + b"e"
    with pytest.raises(LongplayError):
        load_torrent(bomb, "bomb.torrent")


# -- torrents.json and manifests ---------------------------------------------------------------
@pytest.fixture(scope="module")
def listing_bytes() -> bytes:
    from longplay.pack.listing import Listing
    from torrentdata import entry

    entries = (entry("album-a", 160_000, 300, 1, 1000), entry("album-b", 90_000, 20, 2, 1000))
    data = Listing("longplay", "2026-12-05T00:00:00Z", entries).to_json()
    from longplay.pack.listing import parse_listing

    assert parse_listing(data, "seed").torrents == entries  # the seed itself is valid
    return data


def test_torrent_listings_are_read_or_refused(listing_bytes: bytes) -> None:
    from longplay.pack.listing import parse_listing

    @FUZZ
    @given(data=mutated(listing_bytes))
    def run(data: bytes) -> None:
        CASES["torrent listings"] += 1
        accepts_or_rejects(parse_listing, data, "torrents.json")

    run()
    ran("torrent listings")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=15), inner, max_size=6)
    ),
    max_leaves=25,
)


@FUZZ
@given(doc=json_values)
def test_listings_of_any_json_shape(doc: Any) -> None:
    from longplay.pack.listing import parse_listing

    accepts_or_rejects(parse_listing, json.dumps(doc).encode(), "torrents.json")
    accepts_or_rejects(parse_listing, json.dumps({"torrents": [doc]}).encode(), "torrents.json")


def test_manifests_are_read_or_refused(tmp_path: Path) -> None:
    from longplay.pack.listing import manifest_jsonl, read_manifest
    from torrentdata import manifest_rows, random_files

    seed = manifest_jsonl(manifest_rows(random_files(5, 3, 100)))
    (tmp_path / "seed.manifest.jsonl").write_bytes(seed)
    assert len(read_manifest(tmp_path / "seed.manifest.jsonl")) == 3

    @FUZZ
    @given(data=mutated(seed))
    def run(data: bytes) -> None:
        CASES["manifests"] += 1
        path = tmp_path / "x.manifest.jsonl"
        path.write_bytes(data)
        accepts_or_rejects(read_manifest, path)

    run()
    ran("manifests")


# -- restore data ------------------------------------------------------------------------------
def test_restore_data_is_applied_or_refused() -> None:
    from longplay.audio import patches

    original, tagged = RESTORE_ORIGINAL, RESTORE_TAGGED
    blob = patches.make(original, tagged)
    assert patches.apply(tagged, blob) == original

    @FUZZ
    @given(data=mutated(blob), target=st.sampled_from([tagged, tagged[:-7], b"", original]))
    def run(data: bytes, target: bytes) -> None:
        CASES["restore data"] += 1
        info = accepts_or_rejects(patches.parse, data)
        rebuilt = accepts_or_rejects(patches.apply, target, data)
        if rebuilt is not None:  # whatever applies must rebuild exactly the promised original
            import hashlib

            assert hashlib.sha256(rebuilt).hexdigest() == info.original_sha256

    run()
    ran("restore data")


# -- text inputs: exclusion lists, tabular mappings --------------------------------------------
def test_exclusion_lists_are_read_or_refused(tmp_path: Path) -> None:
    from longplay.plan.exclusions import parse

    seed = (
        b"# takedowns\nisrc:GBXYZ2400001  label request\n"
        b'artist:"Some Name"  duplicate\nmbid:0f1e2d3c-4b5a-4968-8776-655443322110\treason\n'
        b"album:036000291452  upc\n"
    )

    @FUZZ
    @given(data=mutated(seed))
    def run(data: bytes) -> None:
        CASES["exclusion lists"] += 1
        path = tmp_path / "exclude.txt"
        path.write_bytes(data)
        accepts_or_rejects(parse, path)

    run()
    ran("exclusion lists")


def test_tabular_mappings_are_read_or_refused(tmp_path: Path) -> None:
    from longplay.catalog.sources.tabular import load_mapping

    seed = (
        b'[source]\nname = "netlabel"\n\n[fields]\ntrack_key = "id"\ntitle = "name"\n'
        b'artists = "artist"\nduration = "seconds"\n\n[options]\nartist_separator = ";"\n'
        b'duration_unit = "s"\n'
    )

    @FUZZ
    @given(data=mutated(seed))
    def run(data: bytes) -> None:
        CASES["tabular mappings"] += 1
        path = tmp_path / "map.toml"
        path.write_bytes(data)
        accepts_or_rejects(load_mapping, path)

    run()
    ran("tabular mappings")


# -- audio files -------------------------------------------------------------------------------
AUDIO = sorted(p for p in BEETS.glob("*") if p.suffix in {".flac", ".mp3", ".ogg", ".opus", ".m4a"})


@pytest.mark.skipif(not AUDIO, reason="../shared/data/audio/beets is not beside the repository")
def test_mutated_audio_files_are_examined_or_rejected(tmp_path: Path) -> None:
    from longplay.audio.examine import examine

    seeds = [p.read_bytes()[:65536] for p in AUDIO[:6]]

    @FUZZ
    @given(which=st.integers(0, len(seeds) - 1), edits=st.data())
    def run(which: int, edits: st.DataObject) -> None:
        CASES["audio files through examine"] += 1
        data = edits.draw(mutated(seeds[which]))
        path = tmp_path / f"fuzzed{AUDIO[which].suffix}"
        path.write_bytes(data)
        record = examine(str(path), decode=True)  # examine never raises: it rejects
        assert record["status"] in ("ok", "rejected", "ignored")
        if record["status"] == "rejected":
            assert record["reason"]

    run()
    ran("audio files through examine")


# Files with pictures and lyrics, so mutations land in the frames the server reads on request.
SERVED = [BEETS / n for n in ("image.flac", "image.mp3", "image.m4a", "image.ogg", "full.mp3", "full.opus")]  # fmt: skip


@pytest.mark.skipif(not AUDIO, reason="../shared/data/audio/beets is not beside the repository")
def test_covers_and_lyrics_of_mutated_files_are_read_or_refused(tmp_path: Path) -> None:
    """What getCoverArt and getLyricsBySongId read from a held file, which came from a torrent:
    a cover is found or not (then resized or refused as an InputError), lyrics are a list."""
    from longplay.audio.covers import find_cover, resize_cover
    from longplay.audio.lyrics import lyrics

    seeds = [p.read_bytes()[:65536] for p in SERVED]

    @FUZZ
    @given(which=st.integers(0, len(seeds) - 1), edits=st.data())
    def run(which: int, edits: st.DataObject) -> None:
        CASES["covers and lyrics of audio files"] += 1
        path = tmp_path / f"fuzzed{SERVED[which].suffix}"
        path.write_bytes(edits.draw(mutated(seeds[which])))
        cover = find_cover(path)
        if cover:
            accepts_or_rejects(resize_cover, cover, 64)
        assert isinstance(lyrics(path), list)

    run()
    ran("covers and lyrics of audio files")


@FUZZ
@given(text=st.text(alphabet=st.sampled_from("[]:.0123456789 \nabc<>-"), max_size=400) | st.text())
def test_lyrics_texts_parse_or_are_ignored(text: str) -> None:
    """LRC and plain lyrics (tags and .lrc sidecars beside held files)."""
    from longplay.audio.lyrics import parse_lyrics

    entry = parse_lyrics(text)
    assert entry is None or isinstance(entry["line"], list)


RESTORE_ORIGINAL = bytes(range(256)) * 40
RESTORE_TAGGED = b"TAGS" * 50 + RESTORE_ORIGINAL[:5000] + b"more tags" + RESTORE_ORIGINAL[5000:]


def _regression_parsers(tmp: Path) -> dict[str, Any]:
    from longplay.audio.patches import apply
    from longplay.catalog.sources.tabular import load_mapping
    from longplay.mirror.safety import load_torrent
    from longplay.pack.listing import parse_listing

    def mapping(data: bytes) -> Any:
        (tmp / "m.toml").write_bytes(data)
        return load_mapping(tmp / "m.toml")

    from longplay.audio.covers import resize_cover

    def served(data: bytes) -> Any:
        from longplay.audio.covers import find_cover
        from longplay.audio.lyrics import lyrics

        (tmp / "f.opus").write_bytes(data)
        return find_cover(tmp / "f.opus"), lyrics(tmp / "f.opus")

    return {
        ".torrent": lambda d: load_torrent(d, "regression"),
        ".json": lambda d: parse_listing(d, "regression"),
        ".lprestore": lambda d: apply(RESTORE_TAGGED, d),  # made against the fuzz test's files
        ".toml": mapping,
        ".opus": served,
        ".png": lambda d: resize_cover(d, 64),
    }


def test_regression_inputs_stay_fixed(tmp_path: Path) -> None:
    """Inputs that once crashed a parser, kept as files: each must now parse or be refused.

    restore-lying-literal-size: a zstd header claiming a huge size made apply() allocate it
    (MemoryError); mapping-not-utf8: a mapping that is not UTF-8 was an internal error;
    opus-pages-index-error: mutagen raised IndexError on it, which getCoverArt and
    getLyricsBySongId let escape; cover-broken-exif: a cover whose EXIF read raised OSError
    outside resize_cover's handling (an internal error from getCoverArt)."""
    parsers = _regression_parsers(tmp_path)
    # .csv inputs need a whole ingest: test_fuzz_inputs.py replays them.
    files = sorted(p for p in REGRESSIONS.glob("*") if p.suffix != ".csv")
    assert files, "tests/regressions/ is empty"
    for path in files:
        accepts_or_rejects(parsers[path.suffix], path.read_bytes())
