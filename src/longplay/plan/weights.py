"""What a recording weighs: its listens (coverage) and its bytes (budget), as SQL expressions.

Listens. A track's weight is its listen count where the source knows it, else the listens its
0–100 popularity score stands for, by the catalog's documented inverse mapping
(``catalog/popularity.py``: listens(p) = 10^(9·p/100) − 1, 0 for p = 0). A recording's listens
are the sum over its tracks (the tracks that share its ISRC or recording MBID), so keeping one
file of a recording covers the listens of every release of it.

Bytes. A file that was scanned weighs its real size. Otherwise its size is *virtual*, estimated
from its duration and a bitrate::

    size = ceil(duration_ms × bitrate / 8000 × (1 + CONTAINER_OVERHEAD)) + HEADER_BYTES

with the bitrate ``plan_original_bitrate`` (default 160 kbit/s, the reference Ogg Vorbis) for
originals and ``opus_bitrate`` (default 75 kbit/s) for Opus re-encodes. CONTAINER_OVERHEAD (1%)
is Ogg framing (page headers and lacing values: about 0.5–1% at these bitrates) and
HEADER_BYTES (4 KiB) the codec headers and tags each file starts with (a Vorbis setup header alone
is ~3–4 KiB). A track of unknown duration is assumed to last UNKNOWN_DURATION_MS.
"""

from __future__ import annotations

import math

CONTAINER_OVERHEAD = 0.01
HEADER_BYTES = 4096
UNKNOWN_DURATION_MS = 240_000  # 4 minutes: a little above the typical track, so never flattering


def listen_weight_sql(t: str = "") -> str:
    """SQL for the listen weight of a track row (``t``: its table alias, or empty)."""
    p = f"{t}." if t else ""
    return f"coalesce({p}listen_count, listens_from_popularity({p}popularity))"


def virtual_size_sql(duration_ms: str, bitrate: int) -> str:
    """SQL for the estimated size in bytes of a file of ``duration_ms`` at ``bitrate`` bits/s."""
    per_ms = bitrate * (1 + CONTAINER_OVERHEAD) / 8000
    return (
        f"(CAST(ceil(coalesce({duration_ms}, {UNKNOWN_DURATION_MS}) * {per_ms!r}) AS BIGINT)"
        f" + {HEADER_BYTES})"
    )


def virtual_size(duration_ms: int | None, bitrate: int) -> int:
    """The same estimate in Python (for tests and tools)."""
    ms = UNKNOWN_DURATION_MS if duration_ms is None else duration_ms
    return math.ceil(ms * (bitrate * (1 + CONTAINER_OVERHEAD) / 8000)) + HEADER_BYTES


# The track a recording keeps, as one HUGEINT so that arg_max stays on fixed-size values (a struct
# key made the aggregation 2–4x slower at tens of millions of recordings). Most significant
# first: has a scanned file (bit 125), its bitrate in bits/s capped below 2^24 (bits 101–124),
# canonical (bit 100), listens capped below 2^37 (bits 63–99), then 2^63−1−track_id so that the
# lowest ID wins a tie. Every part is non-negative and below its field, so the order is exact.
_PICK_KEY = """(CASE WHEN file_size IS NULL THEN 0 ELSE 1 END::HUGEINT * (1::HUGEINT << 125)
    + least(greatest(coalesce(file_bitrate, 0), 0), 16777215)::HUGEINT * (1::HUGEINT << 101)
    + CASE WHEN coalesce(is_canonical, false) THEN 1 ELSE 0 END::HUGEINT * (1::HUGEINT << 100)
    + least(greatest(coalesce(listens, 0), 0), 137438953471)::HUGEINT * (1::HUGEINT << 63)
    + (9223372036854775807 - track_id))"""


def recordings_sql(
    candidates: str,
    *,
    original_bitrate: int,
    opus_bitrate: int,
    licensed: str = "true",
    eligible: str = "true",
    with_files: bool = True,
) -> str:
    """SQL of one row per recording of the candidate relation, with its listens and sizes.

    Columns: recording_id, listens (sum over all its tracks), popularity (the highest of its
    tracks, 0 when unknown), tracks, any_licensed (a track passes ``licensed``), the kept track
    — track_id, duration_ms, file_path, file_size, file_codec, file_bitrate, file_duration_ms:
    among the tracks for which ``licensed`` and ``eligible`` hold, one with a scanned file first,
    then the highest bitrate, the canonical track, the most listened, the lowest ID — then
    has_file, original_size (the file's real size, else virtual), opus_est (virtual size of an
    Opus re-encode) and opus_size (the smaller of the two: a file no larger than its re-encode is
    kept as it is). A recording without eligible tracks has a NULL track_id and sizes.
    ``with_files=False`` promises the file columns are all NULL, and skips them.
    """
    filtered = not (licensed == "true" and eligible == "true")
    flt = " FILTER (WHERE _eligible)" if filtered else ""
    picks = ["track_id", "duration_ms"] + (
        ["file_size", "file_bitrate", "file_duration_ms", "file_path", "file_codec"]
        if with_files
        else []
    )
    cols = ", ".join(f"arg_max({c}, _k){flt} AS {c}" for c in picks)
    if not with_files:
        cols += (
            ", NULL::BIGINT AS file_size, NULL::INTEGER AS file_bitrate, NULL::INTEGER AS file_duration_ms,"
            " NULL::VARCHAR AS file_path, NULL::VARCHAR AS file_codec"
        )
    flags = (
        (
            f"coalesce({licensed}, false) AS _licensed, "
            f"coalesce({licensed}, false) AND coalesce({eligible}, false) AS _eligible, "
        )
        if filtered
        else ""
    )
    any_licensed = "bool_or(_licensed)" if filtered else "true"
    original = (
        f"CASE WHEN track_id IS NULL THEN NULL WHEN file_size IS NOT NULL THEN file_size "
        f"ELSE {virtual_size_sql('duration_ms', original_bitrate)} END"
    )
    opus = (
        f"CASE WHEN track_id IS NULL THEN NULL ELSE "
        f"{virtual_size_sql('coalesce(file_duration_ms, duration_ms)', opus_bitrate)} END"
    )
    return f"""
        SELECT *, file_size IS NOT NULL AS has_file, least(opus_est, original_size) AS opus_size
        FROM (
            SELECT *, {original} AS original_size, {opus} AS opus_est
            FROM (
                SELECT recording_id, coalesce(sum(listens), 0)::BIGINT AS listens,
                       coalesce(max(popularity), 0)::SMALLINT AS popularity,
                       count(*)::INTEGER AS tracks, {any_licensed} AS any_licensed, {cols}
                FROM (SELECT recording_id, listens, popularity, {flags}{_PICK_KEY} AS _k, {", ".join(picks)}
                      FROM {candidates})
                GROUP BY recording_id))"""
