"""A deterministic, realistic synthetic catalog at any size, generated chunk by chunk.

Each chunk of ``chunk_tracks`` tracks is a pure function of (total tracks, seed, chunk index),
so the catalog streams in bounded memory, chunks can be made in any order or in parallel, and a
resumed ingest regenerates exactly what it lost. Shape (documented in docs/sources.md):

- albums of 1–30 tracks (singles, EPs, albums; 5% compilations of various artists), albums of
  more than 20 tracks on two discs; artists drawn with a heavy head, so some have many albums;
- listens follow a power law of the track's rank, ``floor(0.5 · (q^-1.2 − 1))`` for a uniform
  rank fraction q: the head few tracks outweigh the bottom tens of millions and ~60% have none;
  popularity is derived from listens by the catalog's documented rule;
- every track has a valid ISRC; 27.3% of tracks are another release of a recording in the same
  chunk (same ISRC, recording MBID, title and artists), so unique ISRCs ≈ 0.727 × tracks, as in
  the 256M-track / 186M-ISRC reference catalog; 70% of recordings carry a MusicBrainz ID;
- valid UPC-A barcodes, labels, genres, full and partial release dates, explicit flags;
- titles of 1–6 words, album titles of 1–4 and artist names of 1–3, drawn from a Zipf
  vocabulary of 120k generated words (``vocabulary.py``): 10% with diacritics, 3% in CJK
  scripts. Text has its own random stream, so the other columns do not depend on it;
- keys (track, album, artist) are ``tr``/``al``/``ar`` and the item's number, so they grow in
  input order; with ``keys="hashed"`` they are 16 hex digits of a keyed bijective hash of the
  number instead, unordered like real IDs (Spotify IDs, hashes), and nothing else changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from longplay.catalog import popularity
from longplay.catalog.identifiers import gtin_check_digit
from longplay.catalog.schema import FLAT_COLUMNS
from longplay.catalog.sources import vocabulary
from longplay.errors import InputError

DUPLICATE_SHARE = 1 - 186 / 256  # tracks that re-release a recording
TRACKS_PER_ARTIST = 40

# Genres (titles, names and label words come from vocabulary.py).
_GENRES = (
    "rock",
    "pop",
    "electronic",
    "hip hop",
    "jazz",
    "classical",
    "folk",
    "metal",
    "punk",
    "soul",
    "r&b",
    "country",
    "reggae",
    "ambient",
    "house",
    "techno",
    "blues",
    "latin",
    "indie",
    "funk",
)
_COUNTRIES = [
    "US",
    "GB",
    "DE",
    "FR",
    "SE",
    "NL",
    "JP",
    "KR",
    "BR",
    "CA",
    "AU",
    "IT",
    "ES",
    "NO",
    "FI",
    "DK",
    "PL",
    "MX",
    "AR",
    "IE",
]
_LABELS = tuple(
    f"{w.title()} {s}" for w in vocabulary.COMMON_WORDS for s in ("Records", "Music", "Sound")
)
# Album size distribution over 1..30: singles, EPs, then albums peaking around 10–12 tracks.
_SIZE_P = np.array(
    [22, 8, 5, 4, 5, 5, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    dtype=float,
)
_SIZE_P /= _SIZE_P.sum()


def _strings(pool: list[str] | tuple[str, ...]) -> pa.Array:
    return pa.array(list(pool), pa.string())


_B36 = _strings([np.base_repr(i, 36).rjust(3, "0") for i in range(36**3)])
_D2 = _strings([f"{i:02d}" for i in range(100)])
_D5 = _strings([f"{i:05d}" for i in range(100_000)])


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _uuids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = pa.array(
        np.frombuffer(raw.tobytes().hex().encode(), dtype="S32").astype(object), pa.binary()
    )
    hexed = pc.cast(hexed, pa.string())
    s = [
        pc.utf8_slice_codeunits(hexed, a, b)
        for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
    ]
    return _join(s[0], "-", s[1], "-", s[2], "-", s[3], "-", s[4])


KEY_ORDERS = ("ordered", "hashed")


def _hashed(numbers: np.ndarray, seed: int, kind: int) -> np.ndarray:
    """A bijection of 64-bit numbers keyed by (seed, kind): splitmix64's finalizer of the number
    xor a key, so distinct numbers keep distinct keys and their order is lost."""
    with np.errstate(over="ignore"):
        key = np.uint64((seed * 0x9E3779B97F4A7C15 + kind * 0xD1B54A32D192ED03) & (2**64 - 1))
        z = numbers.astype(np.uint64) ^ key
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _keys(prefix: str, numbers: np.ndarray, seed: int, keys: str, kind: int) -> pa.Array:
    """The keys of items ``numbers``: prefix + number, or prefix + 16 hex digits of its hash."""
    if keys == "ordered":
        return _join(prefix, pc.cast(pa.array(numbers), pa.string()))
    raw = _hashed(numbers, seed, kind).astype(">u8").tobytes().hex().encode()
    hexed = pc.cast(
        pa.array(np.frombuffer(raw, dtype="S16").astype(object), pa.binary()), pa.string()
    )
    return _join(prefix, hexed)


def key(prefix: str, number: int, seed: int, keys: str = "ordered") -> str:
    """The key of item ``number`` (``prefix`` tr, al or ar: track, album or artist) as the
    generator writes it."""
    kind = {"tr": 0, "al": 1, "ar": 2}[prefix]
    return str(_keys(prefix, np.array([number], dtype=np.int64), seed, keys, kind)[0].as_py())


def _artist_names(ids: np.ndarray) -> pa.Array:
    """Deterministic names from the Zipf vocabulary, a pure function of the artist number."""
    return vocabulary.names(ids)


def check_arguments(seed: int, chunk_tracks: int, keys: str = "ordered") -> None:
    """Refuse a seed, chunk size or key order no catalog is generated from, naming the argument."""
    _check_keys(keys)
    if seed < 0:  # numpy's generator takes non-negative seeds only
        raise InputError(f"seed (--seed) must be 0 or more, not {seed}")
    if chunk_tracks < 1:
        raise InputError(f"chunk_tracks (--chunk-tracks) must be at least 1, not {chunk_tracks}")


def _check_keys(keys: str) -> None:
    if keys not in KEY_ORDERS:
        raise InputError(f"keys (--keys) must be one of {', '.join(KEY_ORDERS)}, not {keys!r}")


def chunk_count(tracks: int, chunk_tracks: int) -> int:
    return max(1, math.ceil(tracks / chunk_tracks))


def generate_chunk(
    tracks: int, seed: int, index: int, chunk_tracks: int, keys: str = "ordered"
) -> pa.Table:
    """Chunk ``index`` of a ``tracks``-track catalog: a table of flat track records (``keys``:
    see the module docstring)."""
    _check_keys(keys)
    start = index * chunk_tracks
    n = max(0, min(tracks, start + chunk_tracks) - start)
    rng = np.random.default_rng([seed, index, 0x4C50])
    n_artists = max(1, tracks // TRACKS_PER_ARTIST)

    # Albums: sizes until the chunk is full; album numbers are global (start + local number).
    sizes = rng.choice(np.arange(1, 31), size=n // 3 + 2, p=_SIZE_P)
    ends = np.cumsum(sizes)
    n_albums = int(np.searchsorted(ends, n) + 1)
    sizes = sizes[:n_albums].copy()
    sizes[-1] -= int(ends[n_albums - 1] - n)
    album_no = start + np.arange(n_albums, dtype=np.int64)
    album_artist = np.floor(n_artists * rng.random(n_albums) ** 3).astype(np.int64)
    compilation = (rng.random(n_albums) < 0.05) & (sizes >= 6)
    year = np.clip(np.round(2026 - rng.exponential(14, n_albums)), 1950, 2026).astype(np.int64)
    month = rng.integers(1, 13, n_albums)
    day = rng.integers(1, 29, n_albums)
    precision = rng.random(n_albums)
    dates = [
        f"{y}" if p < 0.1 else f"{y}-{m:02d}" if p < 0.15 else f"{y}-{m:02d}-{d:02d}"
        for y, m, d, p in zip(
            year.tolist(), month.tolist(), day.tolist(), precision.tolist(), strict=True
        )
    ]
    bodies = [f"8{a:010d}" for a in album_no.tolist()]
    upcs = [b + str(gtin_check_digit(b)) for b in bodies]
    album_type = np.where(
        compilation,
        "compilation",
        np.where(sizes <= 3, "single", np.where(sizes <= 6, "ep", "album")),
    )
    album_genre = rng.integers(0, len(_GENRES), n_albums)
    # Text comes from its own random stream, so every other column is what it was before the
    # Zipf vocabulary (the two draws that used to pick title words are still made, unused).
    words_rng = np.random.default_rng([seed, index, 0x574F])
    rng.integers(0, 77, n_albums), rng.integers(0, 77, n_albums)
    album_titles = vocabulary.phrases(words_rng, n_albums, 1, 4)

    # Tracks: the album of each track, its position, disc.
    t_album = np.repeat(np.arange(n_albums), sizes)
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    pos = np.arange(n) - np.repeat(first, sizes)
    two_discs = np.repeat(sizes > 20, sizes)
    half = np.repeat((sizes + 1) // 2, sizes)
    disc = np.where(two_discs & (pos >= half), 2, 1)
    track_no = np.where(two_discs & (pos >= half), pos - half + 1, pos + 1)
    track_index = start + np.arange(n, dtype=np.int64)

    # Recordings: most tracks are their own recording; some re-release an earlier one.
    rec = np.arange(n)
    dup = rng.random(n) < DUPLICATE_SHARE
    dup[0] = False
    originals = np.flatnonzero(~dup)
    rec[dup] = originals[
        np.floor(
            rng.random(int(dup.sum())) * np.searchsorted(originals, np.flatnonzero(dup))
        ).astype(np.int64)
    ]
    rec_global = start + rec
    t_artist = np.where(
        np.repeat(compilation, sizes),
        np.floor(n_artists * rng.random(n) ** 3).astype(np.int64),
        album_artist[t_album],
    )
    t_artist = t_artist[rec]  # a re-release keeps its recording's artist
    feat = (rng.random(n) < 0.1)[rec]
    feat_artist = np.floor(n_artists * rng.random(n) ** 3).astype(np.int64)[rec]

    rng.integers(0, 77, n), rng.integers(0, 77, n)  # the old title draws (see above)
    titles = vocabulary.phrases(words_rng, n, 1, 6).take(pa.array(rec))
    block = rec_global // 100_000
    isrc = _join(
        _strings(_COUNTRIES).take(pa.array(block % len(_COUNTRIES))),
        _B36.take(pa.array((block // len(_COUNTRIES)) % 36**3)),
        _D2.take(pa.array(year[t_album][rec] % 100)),
        _D5.take(pa.array(rec_global % 100_000)),
    )
    has_mbid = (rng.random(n) < 0.7)[rec]
    mbid = pc.if_else(
        pa.array(has_mbid), _uuids(rng, n).take(pa.array(rec)), pa.nulls(n, pa.string())
    )
    duration = np.clip(rng.lognormal(math.log(205_000), 0.35, n), 30_000, 1_200_000).astype(
        np.int64
    )[rec]
    duration = duration + np.where(dup, rng.integers(-400, 400, n), 0)
    q = rng.random(n) + 1e-12
    listens = np.floor(0.5 * (q**-1.2 - 1)).astype(np.int64)
    users = listens // rng.integers(2, 40, n)
    pops = [popularity.popularity_from_listens(x) for x in listens.tolist()] if n < 50_000 else None
    explicit = (rng.random(n) < 0.08)[rec]

    # Artists as list<struct>: the main artist, plus "feat." artist for some.
    n_per = 1 + feat.astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(n_per))).astype(np.int32)
    flat_ids = np.empty(int(offsets[-1]), dtype=np.int64)
    flat_ids[offsets[:-1]] = t_artist
    flat_ids[offsets[:-1][feat] + 1] = feat_artist[feat]
    joins = np.full(flat_ids.shape, "", dtype=object)
    joins[offsets[:-1][feat]] = " feat. "
    artists = _artist_list(offsets, flat_ids, joins, seed, keys)
    album_artists = _artist_list(
        np.arange(n + 1, dtype=np.int32),
        np.where(np.repeat(compilation, sizes), -1, album_artist[t_album]),
        np.full(n, "", dtype=object),
        seed,
        keys,
    )

    ta = pa.array(t_album)
    table = pa.table(
        {
            "track_key": _keys("tr", track_index, seed, keys, 0),
            "title": titles,
            "isrc": isrc,
            "mbid": mbid,
            "duration_ms": pa.array(duration),
            "disc_number": pa.array(disc, pa.int32()),
            "track_number": pa.array(track_no, pa.int32()),
            "explicit": pa.array(explicit),
            "popularity": pa.array(pops, pa.int32())
            if pops is not None
            else pa.nulls(n, pa.int32()),
            "listen_count": pa.array(listens),
            "user_count": pa.array(users),
            "genres": pa.nulls(n, pa.list_(pa.string())),  # genres live on albums here
            "license": pa.nulls(n, pa.string()),
            "artists": artists,
            "album_key": _keys("al", album_no, seed, keys, 1).take(ta),
            "album_title": album_titles.take(ta),
            "album_type": pa.array(album_type).take(ta),
            "release_date": pa.array(dates, pa.string()).take(ta),
            "label": _strings(_LABELS)
            .take(pa.array((album_artist * 7 + year) % len(_LABELS)))
            .take(ta),
            "upc": pa.array(upcs, pa.string()).take(ta),
            "total_tracks": pa.array(sizes, pa.int32()).take(ta),
            "album_mbid": _uuids(rng, n_albums).take(ta),
            "album_genres": pa.ListArray.from_arrays(
                pa.array(np.arange(n_albums + 1, dtype=np.int32)),
                _strings(_GENRES).take(pa.array(album_genre)),
            ).take(ta),
            "album_artists": album_artists,
        }
    )
    return table


def _artist_list(
    offsets: np.ndarray, ids: np.ndarray, joins: np.ndarray, seed: int, keys: str
) -> pa.Array:
    """list<struct<key,name,mbid,join_phrase>>; an id of -1 is 'Various Artists'."""
    various = ids < 0
    safe = np.where(various, 0, ids)
    uniq, inverse = np.unique(safe, return_inverse=True)
    names = _artist_names(uniq).take(pa.array(inverse))
    names = pc.if_else(pa.array(various), "Various Artists", names)
    credit_keys = pc.if_else(pa.array(various), "various", _keys("ar", safe, seed, keys, 2))
    mb = _uuid_for_ids(uniq).take(pa.array(inverse))
    mb = pc.if_else(pa.array(various), pa.scalar(None, pa.string()), mb)
    struct = pa.StructArray.from_arrays(
        [credit_keys, names, mb, pa.array(joins.tolist(), pa.string())],
        names=["key", "name", "mbid", "join_phrase"],
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)


def _uuid_for_ids(ids: np.ndarray) -> pa.Array:
    """A stable UUID per artist number, the same in every chunk."""
    out = []
    for a in ids.tolist():
        h = f"{(a * 0x9E3779B97F4A7C15) & (2**64 - 1):016x}{(a * 0xC2B2AE3D27D4EB4F + 1) & (2**64 - 1):016x}"
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}")
    return pa.array(out, pa.string())


def with_popularity(table: pa.Table) -> pa.Table:
    """Fill the popularity column from listens (vectorized; same rule as the catalog's)."""
    listens = table.column("listen_count").to_numpy()
    pop = np.minimum(
        100, np.floor(100 * np.log10(1 + np.maximum(listens, 0)) / popularity.LOG_SPAN + 0.5)
    )
    return table.set_column(
        table.schema.get_field_index("popularity"), "popularity", pa.array(pop.astype(np.int32))
    )


def chunks(
    tracks: int, seed: int, chunk_tracks: int, keys: str = "ordered"
) -> Iterator[tuple[int, pa.Table]]:
    for i in range(chunk_count(tracks, chunk_tracks)):
        yield i, with_popularity(generate_chunk(tracks, seed, i, chunk_tracks, keys))


def write(
    out_dir: Path,
    tracks: int,
    seed: int = 1,
    fmt: str = "parquet",
    chunk_tracks: int = 1_000_000,
    keys: str = "ordered",
) -> list[Path]:
    """Write the catalog as flat-record files, one per chunk; existing complete chunks are kept."""
    from longplay import progress

    if fmt not in ("parquet", "jsonl"):
        raise InputError(f"format must be parquet or jsonl, not {fmt!r}")
    check_arguments(seed, chunk_tracks, keys)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    con = duckdb.connect()
    n = chunk_count(tracks, chunk_tracks)
    with progress.progress("synthetic", tracks, "tracks") as bar:
        for i in range(n):
            path = out_dir / f"tracks-{i:05d}.{fmt}"
            paths.append(path)
            size = min(tracks, (i + 1) * chunk_tracks) - i * chunk_tracks
            if not path.exists():
                table = with_popularity(generate_chunk(tracks, seed, i, chunk_tracks, keys))
                con.register("_chunk", table)
                tmp = path.with_name(path.name + ".tmp")
                opts = "FORMAT PARQUET, COMPRESSION zstd" if fmt == "parquet" else "FORMAT JSON"
                con.execute(f"COPY (SELECT * FROM _chunk) TO '{tmp}' ({opts})")
                con.unregister("_chunk")
                tmp.replace(path)
            bar.advance(size)
    con.close()
    return paths


def units(tracks: int, seed: int, chunk_tracks: int, keys: str = "ordered") -> list:  # list[Unit]
    """Ingest units, one per chunk, generated in memory when the unit runs (nothing on disk)."""
    from longplay.catalog.ingest import Unit

    def loader(index: int):
        def load(con: duckdb.DuckDBPyConnection) -> None:
            table = with_popularity(generate_chunk(tracks, seed, index, chunk_tracks, keys))
            con.register("_chunk", table)
            cols = ", ".join(FLAT_COLUMNS)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _in AS SELECT {cols} FROM _chunk")
            con.unregister("_chunk")

        return load

    n = chunk_count(tracks, chunk_tracks)
    return [
        Unit(
            name=f"chunk-{i:05d}",
            input=f"synthetic(tracks={tracks}, seed={seed}) chunk {i}",
            load=loader(i),
            size=min(tracks, (i + 1) * chunk_tracks) - i * chunk_tracks,
            position_word="row",
        )
        for i in range(n)
    ]
