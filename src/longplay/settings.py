"""Every setting declared once, as data: name, type, default, help.

Values come from the defaults below, then ``ARCHIVE/longplay.toml``, then ``LONGPLAY_*``
environment variables (``torrent_version`` -> ``LONGPLAY_TORRENT_VERSION``). An unknown key or a
value of the wrong type is a :class:`SettingsError` that names the key and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from longplay.errors import InputError, SettingsError
from longplay.units import parse_size

ENV_PREFIX = "LONGPLAY_"
# LONGPLAY_* variables that are not settings: the archive path, process switches, and the test
# suite's own knobs (`make soak` sets them for a whole pytest run, in-process archives included).
RESERVED_ENV = frozenset(
    {
        "LONGPLAY_ARCHIVE",
        "LONGPLAY_DEBUG",
        "LONGPLAY_NO_PROGRESS",
        "LONGPLAY_FUZZ_EXAMPLES",
        "LONGPLAY_CRASH_POINTS",
        "LONGPLAY_CRASH_RESULTS",
    }
)


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()


class ByteSize(int):
    """An int that settings parse from strings like ``4GB``."""


SETTINGS: tuple[Setting, ...] = (
    Setting("workers", int, 0, "Worker processes for per-file jobs (0: one per core)."),
    Setting(
        "cluster",
        str,
        "",
        "Dask scheduler that runs per-file jobs (scan, analyze, build, large torrents' hashing, "
        "mirror verify), e.g. 'tcp://HOST:8786' (empty: local worker processes; docs/cluster.md).",
    ),
    Setting(
        "duckdb_memory_limit",
        str,
        "",
        "DuckDB memory limit, e.g. '8GB' (empty: DuckDB's default of 80% of RAM).",
    ),
    Setting("duckdb_threads", int, 0, "DuckDB threads (0: one per core)."),
    Setting(
        "keep_generations",
        int,
        2,
        "Catalog generations `longplay gc` keeps, the current one included.",
    ),
    Setting(
        "synthetic_chunk_tracks",
        int,
        1_000_000,
        "Tracks per chunk file written by the synthetic source (one resumable unit each).",
    ),
    Setting(
        "export_compression",
        str,
        "zstd",
        "Parquet compression of exports and manifests.",
        ("zstd", "snappy", "none"),
    ),
    Setting(
        "opus_bitrate",
        ByteSize,
        75_000,
        "Bitrate of Opus re-encodes for the long tail, bits/s (75k = 75000).",
    ),
    Setting(
        "torrent_version",
        str,
        "hybrid",
        "BitTorrent format of created torrents: hybrid (v1+v2) or v1.",
        ("hybrid", "v1"),
    ),
    Setting(
        "torrent_target_size",
        ByteSize,
        100 * 10**9,
        "Target data size of one bulk torrent, e.g. '100GB'.",
    ),
    Setting(
        "torrent_trackers",
        str,
        "",
        "Tracker announce URLs written into torrents, comma-separated (none by default).",
    ),
    Setting(
        "archive_name",
        str,
        "longplay",
        "Name prefix of torrents and of the release, e.g. 'longplay'.",
    ),
    Setting(
        "listen_interface", str, "0.0.0.0:6881", "Address:port the BitTorrent session listens on."
    ),
    Setting("upload_limit", ByteSize, 0, "Upload limit of seed/fetch, bytes/s (0: unlimited)."),
    Setting("download_limit", ByteSize, 0, "Download limit of fetch, bytes/s (0: unlimited)."),
    Setting(
        "peers",
        str,
        "",
        "BitTorrent peers the server's swarm connects to, HOST:PORT comma-separated "
        "(added to the torrents' trackers and `serve --peer`).",
    ),
    Setting(
        "swarm_timeout",
        float,
        10.0,
        "Seconds the server waits for a peer to send a byte of a track it does not hold "
        "before answering 'not available right now'.",
    ),
    Setting(
        "swarm_cache_size",
        ByteSize,
        10 * 10**9,
        "Disk budget of tracks fetched from the swarm into ARCHIVE/cache/swarm/ "
        "(least recently played evicted; 0: no limit).",
    ),
    # -- audio (scan, match, tag) --
    Setting(
        "scan_decode",
        bool,
        True,
        "Decode every frame while scanning: exact durations, corrupt frames found (false: demux only, faster).",
    ),
    Setting(
        "analysis_essentia",
        bool,
        True,
        "Tempo, key and descriptors with Essentia when the longplay[analysis] extra is installed.",
    ),
    Setting(
        "match_duration_tolerance_ms",
        int,
        2000,
        "Largest duration difference, in ms, for matching a file to a track by title and artist.",
    ),
    # mirror: seed/fetch sessions
    Setting(
        "peer_transport",
        str,
        "tcp+utp-in",
        "Peer connections of seed/fetch: tcp+utp-in connects out over TCP and also accepts uTP; tcp is TCP only (uTP-first peers take seconds to fall back); tcp+utp uses uTP both ways (libtorrent's uTP moved ~4x less than TCP on loopback).",
        ("tcp+utp-in", "tcp", "tcp+utp"),
    ),
    # Open metadata sources (catalog/sources/musicbrainz/, listenbrainz.py)
    Setting(
        "musicbrainz_chunk_documents",
        int,
        20_000,
        "MusicBrainz dump documents per ingest unit (one resumable transaction each; at most 2,000,000).",
    ),
    # -- plan ------------------------------------------------------------------------------
    Setting(
        "plan_original_bitrate",
        ByteSize,
        160_000,
        "Bitrate assumed for originals without a scanned file, bits/s: their virtual size is "
        "duration × bitrate plus Ogg overhead (docs/plan.md).",
    ),
    Setting(
        "plan_original_popularity",
        int,
        0,
        "The reference plan keeps originals for recordings with popularity above this and "
        "Opus re-encodes (opus_bitrate) for the rest.",
    ),
    Setting(
        "plan_tiers",
        str,
        "50,30,15,1",
        "Popularity tier boundaries, descending: '50,30,15,1' makes tier 0 popularity ≥ 50, "
        "tier 1 30–49, tier 2 15–29, tier 3 1–14, tier 4 popularity 0. Torrents never mix tiers.",
    ),
    # -- serve (the OpenSubsonic server) -----------------------------------------------------------
    Setting("server_host", str, "127.0.0.1", "Address `longplay serve` listens on."),
    Setting("server_port", int, 4533, "Port `longplay serve` listens on."),
    Setting(
        "base_url",
        str,
        "",
        "Path prefix the server is reached under behind a reverse proxy, e.g. '/music' "
        "(empty: served at the root).",
    ),
    Setting("metrics", bool, False, "Serve Prometheus metrics at /metrics."),
    Setting(
        "transcode_cache_size",
        ByteSize,
        2 * 10**9,
        "Disk budget of finished transcodes and resized covers kept in ARCHIVE/cache/.",
    ),
    Setting("max_transcodes", int, 4, "Transcodes running at once across the server."),
    Setting("max_transcodes_per_user", int, 2, "Transcodes running at once for one user."),
    Setting(
        "auth_attempts_per_minute",
        int,
        10,
        "Failed authentications per user name and per client address in a minute before "
        "further attempts are refused (0: no limit).",
    ),
    Setting(
        "server_max_connections",
        int,
        4096,
        "Connections and requests in flight past which new requests get 503 (uvicorn's "
        "limit_concurrency; idle connections count, so keep it well above the clients you "
        "expect).",
    ),
    Setting(
        "server_max_body",
        ByteSize,
        1 << 20,
        "Largest request body (a formPost form); a larger one gets 413 before it is read.",
    ),
    Setting(
        "server_max_head",
        ByteSize,
        256 << 10,
        "Largest request line and headers together; a longer request gets 431 and is closed.",
    ),
    Setting(
        "server_header_timeout",
        int,
        10,
        "Seconds a connection may take to send a request's line and headers (slow clients "
        "are closed with 408 past it); a connection that sends nothing is closed as well.",
    ),
    Setting(
        "server_answer_cache",
        ByteSize,
        64 << 20,
        "Memory for rendered browsing answers of the current generation (albums, album lists, "
        "searches), reused for callers without stars, ratings or plays among their items "
        "(0: off).",
    ),
    Setting(
        "server_keepalive_timeout",
        int,
        5,
        "Seconds an idle keep-alive connection is kept open between requests.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def declared(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SettingsError(f"unknown setting {name!r} (see `longplay settings`)") from None


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    where = f"setting {setting.name!r} from {origin}"
    try:
        if setting.type is bool:
            if isinstance(value, bool):
                out: Any = value
            elif str(value).lower() in ("1", "true", "yes", "on"):
                out = True
            elif str(value).lower() in ("0", "false", "no", "off"):
                out = False
            else:
                raise ValueError(f"expected true or false, got {value!r}")
        elif setting.type is ByteSize:
            if isinstance(value, bool):
                raise ValueError(f"expected a size, got {value!r}")
            out = int(value) if isinstance(value, int) else parse_size(value)
        elif setting.type is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"expected an integer, got {value!r}")
            out = int(value)
        elif setting.type is float:
            if isinstance(value, bool):
                raise ValueError(f"expected a number, got {value!r}")
            out = float(value)
            if not out >= 0:  # NaN too
                raise ValueError(f"expected a number of at least 0, got {value!r}")
        elif setting.type is str:
            if not isinstance(value, str):
                raise ValueError(f"expected a string, got {value!r}")
            out = value
        else:  # pragma: no cover - declared types are the ones above
            out = setting.type(value)
    except (ValueError, InputError) as exc:
        raise SettingsError(f"{where}: {exc}") from None
    if setting.choices and out not in setting.choices:
        raise SettingsError(f"{where}: {out!r} is not one of {', '.join(setting.choices)}")
    return out


class Settings(Mapping[str, Any]):
    """Resolved settings of one archive; read like a mapping or as attributes."""

    def __init__(self, values: dict[str, Any], origins: dict[str, str]):
        self._values = values
        self.origins = origins

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def load(
    toml_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    origins = {s.name: "default" for s in SETTINGS}
    if toml_path is not None and toml_path.exists():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_path}: not valid TOML: {exc}") from None
        for key, value in data.items():
            setting = declared(key) if key in _BY_NAME else None
            if setting is None:
                raise SettingsError(
                    f"{toml_path}: unknown setting {key!r} (see `longplay settings`)"
                )
            values[key] = _coerce(setting, value, str(toml_path))
            origins[key] = str(toml_path)
    for env_key, raw in environ.items():
        if not env_key.startswith(ENV_PREFIX) or env_key in RESERVED_ENV:
            continue
        key = env_key[len(ENV_PREFIX) :].lower()
        if key not in _BY_NAME:
            raise SettingsError(f"environment variable {env_key}: unknown setting {key!r}")
        values[key] = _coerce(_BY_NAME[key], raw, f"${env_key}")
        origins[key] = f"${env_key}"
    for key, value in (overrides or {}).items():
        values[key] = _coerce(declared(key), value, "the command line")
        origins[key] = "command line"
    return Settings(values, origins)


def default_toml() -> str:
    """The longplay.toml written by ``longplay init``: every setting, commented out."""
    lines = [
        "# Longplay archive settings. Every key is listed by `longplay settings`;",
        "# uncomment a line to change it. LONGPLAY_<KEY> environment variables override.",
        "",
    ]
    for s in SETTINGS:
        lines.append(f"# {s.help}")
        default = s.default
        shown = (
            f'"{default}"'
            if isinstance(default, str)
            else str(default).lower()
            if isinstance(default, bool)
            else str(default)
        )
        lines.append(f"# {s.name} = {shown}")
        lines.append("")
    return "\n".join(lines)


def markdown() -> str:
    """docs/settings.md, generated: `longplay settings --markdown > docs/settings.md`."""
    lines = [
        "# Settings",
        "",
        "Every setting, its type, default and meaning. Values come from the defaults, then",
        "`ARCHIVE/longplay.toml`, then `LONGPLAY_<NAME>` environment variables (highest).",
        "`longplay settings` prints the resolved values and where each came from. An unknown key",
        "or a value of the wrong type is an error naming the key. This page is generated by",
        "`longplay settings --markdown`; a test fails when it is out of date.",
        "",
        "| setting | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        kind = "size (e.g. 75k, 2GB)" if s.type is ByteSize else s.type.__name__
        extra = f" One of: {', '.join(s.choices)}." if s.choices else ""
        lines.append(f"| `{s.name}` | {kind} | `{s.default!r}` | {s.help}{extra} |")
    return "\n".join(lines) + "\n"
