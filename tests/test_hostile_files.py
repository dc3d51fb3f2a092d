"""Hostile files through the real doors: each refused with a clear message naming it, nothing
written outside the archive, and the process's peak RSS (VmHWM) bounded.

The corpus is built here: dumps that expand enormously, torrents and manifests that try to
escape, symlinks in a mirror's tree, audio with lying lengths and a cover that decodes to
100 megapixels. Every operation runs as the `longplay` command in a subprocess (tests/peakrss.py).
"""

from __future__ import annotations

import copy
import io
import lzma
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libtorrent as lt
import orjson
import pytest

import peakrss
from longplay.archive import Archive
from torrentdata import TorrentSpec, build_mirror, random_files

RSS_CAP = 500 * 2**20
# Fast xz settings for building bombs: zeros and repeats compress to almost nothing anyway.
_FAST = [{"id": lzma.FILTER_LZMA2, "preset": 0, "nice_len": 273, "mode": lzma.MODE_FAST}]


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))}


def _refused(args: list[str], env: dict[str, str], outside: Path, *needles: str) -> peakrss.Outcome:
    """Run ``args``; it must fail with one line naming every needle, leave ``outside`` as it was
    (the archive being the only place it may write) and stay under RSS_CAP."""
    before = _tree(outside)
    out = peakrss.run(args, env)
    assert out.returncode == 1, (out.returncode, out.stderr[-2000:])
    errors = [x for x in out.stderr.strip().splitlines() if x.startswith("longplay: ")]
    assert len(errors) == 1 and errors[0].startswith("longplay: error: "), out.stderr[-2000:]
    lines = errors  # progress lines of the units done before the refusal may precede it
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert "Traceback" not in out.stderr
    assert _tree(outside) == before
    assert out.peak_rss < RSS_CAP, f"peak RSS {out.peak_rss / 2**20:.0f} MB"
    print(f"{args[-1]}: peak RSS {out.peak_rss / 2**20:.0f} MB: {lines[0][:160]}")
    return out


# -- MusicBrainz dumps that expand enormously -------------------------------------------------


def _xz_member(path: Path, member: str, blocks: Callable[[], Any], size: int) -> None:
    """A .tar.xz whose one member is ``size`` bytes from ``blocks`` (streamed, never in memory)."""
    info = tarfile.TarInfo(member)
    info.size = size
    c = lzma.LZMACompressor(filters=_FAST)
    with open(path, "wb") as fh:
        fh.write(c.compress(info.tobuf(tarfile.GNU_FORMAT)))
        written = 0
        for block in blocks():
            block = block[: size - written]
            fh.write(c.compress(block))
            written += len(block)
            if written >= size:
                break
        fh.write(c.compress(bytes(-size % 512 + 1024)))  # padding and the end-of-archive blocks
        fh.write(c.flush())


BOMB_BYTES = 96 * 2**20  # past both limits (64 MiB); a 2 GB bomb is refused at the same point


def _repeat(data: bytes) -> Callable[[], Any]:
    block = data * (4 * 2**20 // len(data))
    return lambda: iter(lambda: block, None)


def test_dump_of_zeros_refused(tmp_path: Path, cli_env: dict[str, str]) -> None:
    Archive.init(tmp_path / "archive")
    dump = tmp_path / "in" / "release.tar.xz"
    dump.parent.mkdir()
    _xz_member(dump, "mbdump/release", _repeat(bytes(4096)), BOMB_BYTES)
    assert dump.stat().st_size < BOMB_BYTES // 1000
    args = ["--archive", str(tmp_path / "archive"), "ingest", "musicbrainz", str(dump)]
    _refused(args, cli_env, tmp_path / "in", str(dump), "longer than 64 MiB")


def test_dump_of_one_repeated_document_refused(tmp_path: Path, cli_env: dict[str, str]) -> None:
    Archive.init(tmp_path / "archive")
    dump = tmp_path / "in" / "artist.tar.xz"
    dump.parent.mkdir()
    doc = orjson.dumps({"id": "5b11f4ce-a62d-471e-81fc-a69a8278c7da", "name": "A"}) + b"\n"
    _xz_member(dump, "mbdump/artist", _repeat(doc), BOMB_BYTES)
    args = ["--archive", str(tmp_path / "archive"), "ingest", "musicbrainz", str(dump)]
    _refused(args, cli_env, tmp_path / "in", str(dump), "decompression bomb")


# -- torrents, manifests and symlinks of a mirror ---------------------------------------------

SPECS = [TorrentSpec("lp-t0-0001", random_files(41, 3, 40_000, "A/B"), 0, 100, (1, 99))]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("mirror") / "m"
    build_mirror(src, SPECS, with_data=False)
    return src


def _v1(info: dict[bytes, Any]) -> None:
    info.pop(b"file tree", None)
    info.pop(b"meta version", None)


def _path(parts: list[bytes]) -> Callable[[dict[bytes, Any]], None]:
    return lambda i: (_v1(i), i[b"files"][0].__setitem__(b"path", parts))  # type: ignore[func-returns-value]


def _edit(change: Callable[[dict[bytes, Any]], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        doc = copy.deepcopy(lt.bdecode(data))
        change(doc[b"info"])
        if b"file tree" not in doc[b"info"]:
            doc.pop(b"piece layers", None)
        return lt.bencode(doc)

    return edit


TORRENTS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "traversal": (_edit(_path([b"..", b"..", b"..", b"evil.ogg"])), "not allowed"),
    "absolute": (_edit(_path([b"/etc/cron.d/evil"])), "separator"),
    "symlink": (
        _edit(lambda i: (_v1(i), i[b"files"][0].update({b"attr": b"l", b"symlink path": [b".."]}))),  # type: ignore[func-returns-value]
        "symlink",
    ),
    "duplicate": (
        _edit(lambda i: (_v1(i), i[b"files"].__setitem__(1, dict(i[b"files"][0])))),  # type: ignore[func-returns-value]
        "duplicate",
    ),
    "huge-piece-count": (
        _edit(
            lambda i: (  # type: ignore[func-returns-value]
                _v1(i),
                i.__setitem__(b"piece length", 16384),
                i[b"files"][0].__setitem__(b"length", 2**47),
            )
        ),
        "pieces",
    ),
    # 8 MB of nested lists: a recursive decoder would blow its stack or the heap.
    "nesting-bomb": (lambda _: b"d4:info" + b"l" * 4_000_000 + b"e" * 4_000_000 + b"e", "valid"),
}


@pytest.mark.parametrize("case", sorted(TORRENTS))
def test_hostile_torrent_refused_by_fetch(
    case: str, mirror: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    edit, reason = TORRENTS[case]
    dst = tmp_path / "mirror"
    shutil.copytree(mirror, dst)
    torrent = dst / "torrents" / "lp-t0-0001.torrent"
    torrent.write_bytes(edit(torrent.read_bytes()))
    args = ["fetch", str(dst), "--listen", "127.0.0.1:0", "--peer", "127.0.0.1:9"]
    _refused([*args, "--timeout", "5"], cli_env, tmp_path, "lp-t0-0001.torrent", reason)


def test_symlink_in_the_tree_refused(mirror: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    dst = tmp_path / "mirror"
    shutil.copytree(mirror, dst)
    outside = tmp_path / "outside"
    outside.mkdir()
    (dst / "files" / "lp-t0-0001").mkdir(parents=True)
    (dst / "files" / "lp-t0-0001" / "A").symlink_to(outside, target_is_directory=True)
    args = ["fetch", str(dst), "--listen", "127.0.0.1:0", "--peer", "127.0.0.1:9"]
    _refused([*args, "--timeout", "5"], cli_env, outside, "symbolic link", "A")
    assert list(outside.iterdir()) == []


MANIFESTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "traversal": (lambda r: r.__setitem__("path", "../../../evil.ogg"), "not allowed"),
    "absolute": (lambda r: r.__setitem__("path", "/etc/passwd"), "path"),
    "duplicate": (lambda r: None, "duplicate"),
}


@pytest.mark.parametrize("case", sorted(MANIFESTS))
def test_hostile_manifest_refused_by_verify(
    case: str, mirror: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    dst = tmp_path / "mirror"
    shutil.copytree(mirror, dst)
    manifest = dst / "torrents" / "lp-t0-0001.manifest.jsonl"
    rows = [orjson.loads(x) for x in manifest.read_bytes().splitlines()]
    change, needle = MANIFESTS[case]
    if case == "duplicate":
        rows.append(dict(rows[0]))
    else:
        change(rows[0])
    manifest.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    _refused(["mirror", "verify", str(dst)], cli_env, tmp_path, "manifest", needle)


# -- audio: lying lengths, oversized frames, a cover that decodes to 100 megapixels -------------


def _synchsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 127, (n >> 14) & 127, (n >> 7) & 127, n & 127])


def _without_id3(data: bytes) -> bytes:
    if data[:3] != b"ID3":
        return data
    n = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    return data[10 + n :]


def _bomb_png() -> bytes:
    """A 12 kB PNG of 10,000 x 10,000 pixels (1 bit each: it deflates to almost nothing)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def _with_picture(flac: Path, png: bytes) -> None:
    from mutagen.flac import FLAC, Picture

    f = FLAC(flac)
    pic = Picture()
    pic.type, pic.mime, pic.data = 3, "image/png", png
    f.clear_pictures()
    f.add_picture(pic)
    f.save()


def _audio_corpus(music: Path) -> dict[str, Path]:
    """Hostile files beside the clips `samples.generate` wrote into ``music``."""
    from mutagen.id3 import ID3, TXXX

    mp3 = next(music.rglob("*.mp3"))
    flac = next(music.rglob("*.flac"))
    bad = music / "hostile"
    bad.mkdir()
    out = {}
    # An ID3 tag claiming 256 MB holding a frame claiming 200 MB, in a 50 kB file.
    frame = b"TXXX" + (200 * 2**20).to_bytes(4, "big") + b"\0\0\0x\0" + b"a" * 100
    out["lying-id3"] = bad / "lying-id3.mp3"
    out["lying-id3"].write_bytes(
        b"ID3\x03\0\0" + _synchsafe(2**28 - 1) + frame + _without_id3(mp3.read_bytes())
    )
    # A FLAC whose second metadata block claims 16 MB.
    data = bytearray(flac.read_bytes())
    second = 4 + 4 + int.from_bytes(data[5:8], "big")
    data[second + 1 : second + 4] = (2**24 - 1).to_bytes(3, "big")
    out["lying-flac"] = bad / "lying-flac.flac"
    out["lying-flac"].write_bytes(bytes(data))
    # A real 40 MB text frame: read, but memory must stay bounded.
    out["huge-frame"] = bad / "huge-frame.mp3"
    shutil.copy(mp3, out["huge-frame"])
    tags = ID3(out["huge-frame"])
    tags.add(TXXX(encoding=3, desc="big", text="a" * (40 * 2**20)))
    tags.save()
    return out


def test_hostile_audio_rejected_by_scan(tmp_path: Path, cli_env: dict[str, str]) -> None:
    from longplay.audio import samples

    music = tmp_path / "in" / "music"
    samples.generate(music, 4, seed=7, seconds=2.0, formats=("flac", "mp3"), catalog=False)
    bad = _audio_corpus(music)
    Archive.init(tmp_path / "archive")
    before = _tree(tmp_path / "in")
    out = peakrss.run(["--archive", str(tmp_path / "archive"), "scan", str(music)], cli_env)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert _tree(tmp_path / "in") == before
    log = next((tmp_path / "archive" / "rejects").glob("*scan*.jsonl"))
    reasons = {
        Path(r["input"]).name: r["reason"] for r in map(orjson.loads, log.read_bytes().splitlines())
    }
    assert reasons.keys() >= {bad["lying-id3"].name, bad["lying-flac"].name}, reasons
    assert all(reasons.values())
    assert out.peak_rss < RSS_CAP, f"peak RSS {out.peak_rss / 2**20:.0f} MB"
    print(f"scan of hostile audio: peak RSS {out.peak_rss / 2**20:.0f} MB; rejects {reasons}")


def test_cover_bomb_refused_by_get_cover_art(tmp_path: Path, cli_env: dict[str, str]) -> None:
    import signal
    import subprocess
    import sys

    import httpx

    from longplay.audio import samples
    from longplay.audio.scan import scan
    from longplay.catalog.sources import ingest_flat
    from longplay.server import accounts
    from netutil import free_port, port_open, wait_for

    music = tmp_path / "music"
    samples.generate(music, 2, seed=7, seconds=2.0, formats=("flac",))
    png = _bomb_png()
    assert len(png) < 16_000
    for f in music.rglob("*.flac"):
        _with_picture(f, png)
    archive = Archive.init(tmp_path / "archive")
    ingest_flat(archive, [music / "catalog.jsonl"], "samples")
    scan(archive, [music], workers=1)  # tag reading meets the bomb too: the files are kept
    accounts.add_user(archive, "ann", "pw")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "longplay.cli",
            "--archive",
            str(archive.root),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for("the server", lambda: port_open(port) or server.poll() is not None, 60)
        auth = {"u": "ann", "p": "pw", "v": "1.16.1", "c": "tests", "f": "json"}
        base = f"http://127.0.0.1:{port}/rest"
        with httpx.Client(timeout=60) as client:
            songs = client.get(f"{base}/search3", params={**auth, "query": ""}).json()
            song = songs["subsonic-response"]["searchResult3"]["song"][0]
            for size in ("300", None):
                params = {**auth, "id": song["id"], **({"size": size} if size else {})}
                res = client.get(f"{base}/getCoverArt", params=params)
                body = res.json()["subsonic-response"]
                assert body["status"] == "failed", body
                assert "10000 x 10000" in body["error"]["message"], body
                assert "/" not in body["error"]["message"]  # no filesystem path leaks
            assert (
                client.get(f"{base}/ping", params=auth).json()["subsonic-response"]["status"]
                == "ok"
            )
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak = int(status.split("VmHWM:")[1].split()[0]) * 1024
        assert peak < RSS_CAP, f"server peak RSS {peak / 2**20:.0f} MB"
        print(
            f"getCoverArt of a {len(png)} B PNG of 100 MP: refused; server peak RSS {peak / 2**20:.0f} MB"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err[-2000:]
