"""`longplay mirror plan`: which torrents a mirror holds under a disk budget.

Works from torrents.json alone (a new mirror has no catalog). Metadata torrents come first
(small, and the key to everything else). Then, greedily, while the budget lasts:

* ``coverage``: the most listens covered per byte first (ties: lower tier, then name);
* ``least-seeded``: the fewest seeders first, from a statistics file (JSON: info-hash ->
  {"seeders", "leechers", "completed"}); a torrent the file does not name counts as 0 seeders,
  since nobody reported seeding it; ties broken by listens per byte.

A torrent that does not fit is skipped and smaller ones may still fill the rest. The choice
is stored in ``DIR/mirror.json`` so `longplay fetch` and `longplay seed` know what to run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from longplay.errors import InputError
from longplay.pack.listing import Listing, TorrentEntry, read_listing

PREFER = ("coverage", "least-seeded")
MIRROR_FILE = "mirror.json"


@dataclass(frozen=True)
class SeedStats:
    seeders: int
    leechers: int
    completed: int


@dataclass(frozen=True)
class Plan:
    torrents_json: Path
    budget: int
    prefer: str
    chosen: tuple[TorrentEntry, ...]

    @property
    def size(self) -> int:
        return sum(t.data_size for t in self.chosen)

    @property
    def listens_share(self) -> float:
        return min(1.0, sum(t.listens_share for t in self.chosen))

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "torrents_json": str(self.torrents_json),
                "budget": self.budget,
                "prefer": self.prefer,
                "bytes": self.size,
                "listens_share": self.listens_share,
                "torrents": [t.name for t in self.chosen],
            },
            option=orjson.OPT_INDENT_2,
        )


def read_stats(path: Path) -> dict[str, SeedStats]:
    """The statistics file: lower-case hex info-hash (v1 or v2) -> seeders, leechers, completed."""
    try:
        doc = orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: no such statistics file") from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected an object of info-hash -> statistics")
    out = {}
    for key, value in doc.items():
        h = key.lower()
        if len(h) not in (40, 64) or any(c not in "0123456789abcdef" for c in h):
            raise InputError(f"{path}: {key!r} is not a hex info-hash")
        if not isinstance(value, dict):
            raise InputError(f"{path}: {key}: expected an object")
        nums = []
        for field in ("seeders", "leechers", "completed"):
            n = value.get(field, 0)
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise InputError(f"{path}: {key}.{field}: expected a count, got {n!r}")
            nums.append(n)
        out[h] = SeedStats(*nums)
    return out


def _per_byte(t: TorrentEntry) -> float:
    return t.listens_covered / max(t.data_size, 1)


def choose(
    listing: Listing,
    budget: int,
    prefer: str = "coverage",
    stats: dict[str, SeedStats] | None = None,
    torrents_json: Path = Path(),
) -> Plan:
    """Pick the torrents that fit ``budget`` bytes; see the module docstring for the order."""
    if prefer not in PREFER:
        raise InputError(f"--prefer {prefer!r}: expected one of {', '.join(PREFER)}")
    if budget < 0:
        raise InputError(f"budget {budget} is negative")
    if prefer == "least-seeded" and stats is None:
        raise InputError("--prefer least-seeded needs --stats FILE (info-hash -> seeders)")

    def seeders(t: TorrentEntry) -> int:
        for h in (t.info_hash_v1, t.info_hash_v2):
            if h and stats and h in stats:
                return stats[h].seeders
        return 0

    def key(t: TorrentEntry) -> tuple[Any, ...]:
        first = (not t.is_metadata,)
        if prefer == "least-seeded":
            return (*first, seeders(t), -_per_byte(t), t.tier, t.name)
        return (*first, -_per_byte(t), t.tier, t.name)

    chosen, left = [], budget
    for t in sorted(listing.torrents, key=key):
        if t.data_size <= left:
            chosen.append(t)
            left -= t.data_size
    return Plan(Path(torrents_json), budget, prefer, tuple(chosen))


def plan_mirror(
    directory: Path,
    torrents_json: Path | None,
    budget: int,
    prefer: str = "coverage",
    stats_path: Path | None = None,
) -> Plan:
    """Choose from ``torrents_json`` (default DIR/torrents/torrents.json), store DIR/mirror.json."""
    directory = Path(directory)
    source = Path(torrents_json) if torrents_json else directory / "torrents" / "torrents.json"
    listing = read_listing(source)
    stats = read_stats(stats_path) if stats_path else None
    # Stored relative to DIR when inside it, so a mirror directory can be moved whole.
    stored = source.resolve()
    if directory.resolve() in stored.parents:
        stored = stored.relative_to(directory.resolve())
    plan = choose(listing, budget, prefer, stats, stored)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{MIRROR_FILE}.tmp"
    tmp.write_bytes(plan.to_json())
    os.replace(tmp, directory / MIRROR_FILE)
    return plan


@dataclass(frozen=True)
class MirrorChoice:
    """What DIR/mirror.json says: the listing it came from and the names chosen."""

    torrents_json: Path
    names: tuple[str, ...]


def read_choice(directory: Path) -> MirrorChoice | None:
    path = Path(directory) / MIRROR_FILE
    if not path.exists():
        return None
    try:
        doc = orjson.loads(path.read_bytes())
        names = doc["torrents"]
        source = doc["torrents_json"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path}: not a mirror plan ({exc}); rerun `longplay mirror plan`"
        ) from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{path}: 'torrents' is not a list of names")
    if not isinstance(source, str):
        raise InputError(f"{path}: 'torrents_json' is not a path")
    return MirrorChoice(Path(directory) / source, tuple(names))


def chosen_entries(directory: Path) -> tuple[Path, list[TorrentEntry]]:
    """The listing file and the entries DIR/mirror.json chose (all of them without one)."""
    choice = read_choice(directory)
    source = choice.torrents_json if choice else directory / "torrents" / "torrents.json"
    listing = read_listing(source)
    if choice is None:
        return source, list(listing.torrents)
    by_name = listing.by_name()
    unknown = [n for n in choice.names if n not in by_name]
    if unknown:
        raise InputError(f"{directory / 'mirror.json'}: {', '.join(unknown)} not in {source}")
    return source, [by_name[n] for n in choice.names]
