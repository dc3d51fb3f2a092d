"""Create .torrent files (BitTorrent v1 or hybrid v1+v2) fast, byte-identical to libtorrent's.

libtorrent's own ``set_piece_hashes`` hashes hybrids slowly and its Python binding cannot take
precomputed v2 hashes, so we plan the layout as libtorrent would (:mod:`.layout`), hash it in
parallel (:mod:`.hashing`), assemble the metainfo dictionary here and encode it with
libtorrent's bencoder. The bytes equal ``lt.bencode(ct.generate())`` after
``lt.set_piece_hashes`` for the same files and options; the tests check that for both formats.

Reproducible: nothing in the bytes depends on the clock, the order files were listed in, or
where they are stored. The creation date is written only when the caller passes one (derive it
from the catalog generation, never the wall clock); libtorrent omits it for 0 too.

Example::

    created = create_torrent("longplay-t1-0001", [("a/01.ogg", "/data/files/.../01.ogg")])
    created.write(Path("torrents/longplay-t1-0001.torrent"))
    print(created.magnet)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import libtorrent as lt

from longplay import progress as progress_mod
from longplay.errors import InputError, writing
from longplay.pack import hashing
from longplay.pack.layout import Layout, check_version, choose_piece_size, plan

__all__ = [
    "DEFAULT_CREATOR",
    "CreatedTorrent",
    "TorrentFacts",
    "choose_piece_size",
    "create_file_torrent",
    "create_torrent",
    "directory_files",
    "read_torrent",
]

DEFAULT_CREATOR = "Longplay"  # no version number: an upgrade must not change the bytes

# Generous parse limits: bulk torrents list tens of thousands of files.
_LOAD_LIMITS = cast(
    "lt.load_torrent_limits",
    {"max_buffer_size": 512 << 20, "max_pieces": 1 << 24, "max_decode_tokens": 100_000_000},
)


@dataclass(frozen=True)
class TorrentFacts:
    """What a .torrent says about itself, as libtorrent reads it."""

    name: str
    version: str  # "hybrid", "v1" (or "v2" for a torrent made elsewhere)
    info_hash_v1: str | None  # hex
    info_hash_v2: str | None  # hex, full SHA-256
    magnet: str  # btih and btmh (hybrid), dn, tr
    piece_size: int
    total_size: int  # bytes of file data, pad files not counted
    file_count: int  # pad files not counted


@dataclass(frozen=True)
class CreatedTorrent(TorrentFacts):
    data: bytes  # the .torrent file

    @property
    def facts(self) -> TorrentFacts:
        fields = asdict(self)
        del fields["data"]
        return TorrentFacts(**fields)

    def write(self, path: Path) -> Path:
        """Write the .torrent atomically (a reader never sees half a file).

        The temporary file's name is the same in every run, so that a run killed before the
        rename leaves nothing its rerun does not overwrite and rename (with the process ID in
        it, a crash-point test found one such file left beside the finished torrents)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        with writing(path), open(tmp, "wb") as out:
            out.write(self.data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        return path


def create_torrent(
    name: str,
    files: Iterable[tuple[str, str | os.PathLike[str]]],
    *,
    version: str = "hybrid",
    piece_size: int | None = None,
    trackers: Sequence[str] = (),
    comment: str | None = None,
    creation_date: int | None = None,
    created_by: str | None = DEFAULT_CREATOR,
    workers: int | None = None,
    executor: str = "auto",
    progress: progress_mod.Tracker | None = None,
    cluster: str = "",
) -> CreatedTorrent:
    """Create a directory torrent named ``name`` holding ``files``.

    ``files`` are (relative POSIX path inside the torrent, source path on disk); their order
    does not matter (the torrent lists them sorted by path). ``version`` is "hybrid"
    (BitTorrent v1+v2) or "v1"; ``piece_size`` defaults to :func:`choose_piece_size`.
    ``trackers`` are announce URLs, one tier each, in order. ``creation_date`` (POSIX seconds)
    and ``comment`` are written only when given. ``workers`` hash in parallel (default: one per
    core); ``executor`` is "thread", "process", "cluster" or "auto" (processes for large
    torrents, or the Dask scheduler ``cluster`` names when given).
    ``progress`` is a tracker to advance by bytes hashed; without one a bar is shown.
    Bad paths, duplicate paths, missing sources and empty torrents raise InputError.
    """
    entries = [(path, *_stat_source(path, source)) for path, source in files]
    layout = plan(name, entries, version=version, piece_size=piece_size)
    return _create(
        layout, trackers, comment, creation_date, created_by, workers, executor, progress, cluster
    )


def create_file_torrent(
    source: str | os.PathLike[str],
    *,
    name: str | None = None,
    version: str = "hybrid",
    piece_size: int | None = None,
    trackers: Sequence[str] = (),
    comment: str | None = None,
    creation_date: int | None = None,
    created_by: str | None = DEFAULT_CREATOR,
    workers: int | None = None,
    executor: str = "auto",
    progress: progress_mod.Tracker | None = None,
    cluster: str = "",
) -> CreatedTorrent:
    """Create a single-file torrent of ``source``, named ``name`` (default: its file name).

    Options as in :func:`create_torrent`. A hybrid single-file torrent has no pad file, so its
    last v1 piece is short, as libtorrent makes it.
    """
    name = name if name is not None else Path(source).name
    entries = [(name, *_stat_source(name, source))]
    layout = plan(name, entries, version=version, piece_size=piece_size, single_file=True)
    return _create(
        layout, trackers, comment, creation_date, created_by, workers, executor, progress, cluster
    )


def directory_files(directory: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Every regular file under ``directory`` as (relative POSIX path, absolute path), sorted.

    The input :func:`create_torrent` wants for a torrent laid out as ``files/NAME/...``.
    Symbolic links and special files are refused: a link could pull data from outside the tree.
    """
    root = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(root):
        raise InputError(f"{root} is not a directory")
    out = []
    for current, dirs, names in os.walk(root, onerror=_raise_walk_error):
        for entry in (*dirs, *names):
            path = os.path.join(current, entry)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode) or not (
                stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)
            ):
                raise InputError(
                    f"{path} is a symbolic link or a special file; torrents hold regular files only"
                )
            if stat.S_ISREG(st.st_mode):
                out.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
    return sorted(
        out, key=lambda item: [e.encode("utf-8", "surrogateescape") for e in item[0].split("/")]
    )


def _raise_walk_error(exc: OSError) -> None:
    raise InputError(f"cannot list {exc.filename}: {exc.strerror}")


def read_torrent(torrent: bytes | str | os.PathLike[str]) -> TorrentFacts:
    """Read a .torrent (its bytes or its path) back into :class:`TorrentFacts`."""
    where = "torrent data" if isinstance(torrent, bytes) else str(torrent)
    try:
        data = torrent if isinstance(torrent, bytes) else Path(torrent).read_bytes()
        info = lt.torrent_info(data, _LOAD_LIMITS)
    except OSError as exc:
        raise InputError(f"cannot read {where}: {exc.strerror or exc}") from None
    except RuntimeError as exc:  # libtorrent's parse errors
        raise InputError(f"{where} is not a valid torrent: {exc}") from None
    hashes = info.info_hashes()
    layout = info.layout()
    real = [
        i
        for i in range(layout.num_files())
        if not layout.file_flags(i) & lt.file_storage.flag_pad_file
    ]
    version = {(True, True): "hybrid", (True, False): "v1", (False, True): "v2"}[
        (hashes.has_v1(), hashes.has_v2())
    ]
    return TorrentFacts(
        name=info.name(),
        version=version,
        info_hash_v1=str(hashes.v1) if hashes.has_v1() else None,
        info_hash_v2=str(hashes.v2) if hashes.has_v2() else None,
        magnet=lt.make_magnet_uri(info),
        piece_size=info.piece_length(),
        total_size=sum(layout.file_size(i) for i in real),
        file_count=len(real),
    )


def _stat_source(path: str, source: str | os.PathLike[str]) -> tuple[int, str]:
    absolute = os.path.abspath(os.fspath(source))
    try:
        st = os.stat(absolute)
    except OSError as exc:
        raise InputError(
            f"path {path!r}: cannot read its source {absolute}: {exc.strerror}"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"path {path!r}: its source {absolute} is not a regular file")
    return st.st_size, absolute


def _create(
    layout: Layout,
    trackers: Sequence[str] = (),
    comment: str | None = None,
    creation_date: int | None = None,
    created_by: str | None = DEFAULT_CREATOR,
    workers: int | None = None,
    executor: str = "auto",
    progress: progress_mod.Tracker | None = None,
    cluster: str = "",
) -> CreatedTorrent:
    check_version(layout.version)
    extras = _extras(trackers, comment, creation_date, created_by)
    if progress is None:
        with progress_mod.progress(f"hashing {layout.name}", layout.data_size, "B") as bar:
            hashes = hashing.hash_layout(
                layout, workers=workers, executor=executor, tracker=bar, cluster=cluster
            )
    else:
        hashes = hashing.hash_layout(
            layout, workers=workers, executor=executor, tracker=progress, cluster=cluster
        )
    data = lt.bencode(_metainfo(layout, hashes, extras))
    facts = read_torrent(data)
    return CreatedTorrent(**asdict(facts), data=data)


def _extras(
    trackers: Sequence[str], comment: str | None, creation_date: int | None, created_by: str | None
) -> dict[bytes, Any]:
    """The keys outside the info dictionary (they do not change the info-hashes)."""
    if isinstance(trackers, str):
        raise InputError(f"trackers must be a list of URLs, not the string {trackers!r}")
    urls: list[str] = []
    for url in trackers:
        if not isinstance(url, str) or not url.strip() or url != url.strip():
            raise InputError(f"tracker URL {url!r} is empty or has surrounding spaces")
        if url not in urls:  # libtorrent drops repeated URLs too
            urls.append(url)
    if creation_date is not None and (
        isinstance(creation_date, bool) or not isinstance(creation_date, int) or creation_date < 0
    ):
        raise InputError(
            f"creation date must be POSIX seconds (an integer >= 0), got {creation_date!r}"
        )
    out: dict[bytes, Any] = {}
    if urls:
        out[b"announce"] = urls[0].encode()
    if len(urls) > 1:
        out[b"announce-list"] = [[url.encode()] for url in urls]
    if comment:
        out[b"comment"] = comment.encode()
    if creation_date:
        out[b"creation date"] = creation_date
    if created_by:
        out[b"created by"] = created_by.encode()
    return out


def _metainfo(layout: Layout, hashes: hashing.Hashes, extras: dict[bytes, Any]) -> dict[bytes, Any]:
    """The metainfo dictionary, key for key what libtorrent's create_torrent::generate() makes."""
    info: dict[bytes, Any] = {
        b"name": layout.name.encode(),
        b"piece length": layout.piece_size,
        b"pieces": hashes.pieces,
    }
    if layout.single_file:
        info[b"length"] = layout.files[0].size
    else:
        listing = []
        for f in layout.files:
            entry: dict[bytes, Any] = {b"length": f.size, b"path": [e.encode() for e in f.path]}
            if f.pad:
                entry[b"attr"] = b"p"
            listing.append(entry)
        info[b"files"] = listing
    top: dict[bytes, Any] = {**extras, b"info": info}
    if layout.version == "hybrid":
        tree: dict[bytes, Any] = {}
        layers: dict[bytes, bytes] = {}
        for index, f in enumerate(layout.files):
            if f.pad:
                continue
            node = tree
            for element in f.path:
                node = node.setdefault(element.encode(), {})
            leaf: dict[bytes, Any] = {b"length": f.size}
            if f.size:
                layer = hashes.layers[index]
                root = hashing.file_root(layer, layout.piece_size)
                leaf[b"pieces root"] = root
                if len(layer) > 32:  # one-piece files need no layer: the root is the piece
                    layers[root] = layer
            node[b""] = leaf
        info[b"file tree"] = tree
        info[b"meta version"] = 2
        top[b"piece layers"] = layers
    return top
