"""Catalog statistics: counts, unique ISRCs, popularity histogram, per-source provenance."""

from __future__ import annotations

from typing import Any

from longplay.catalog.identity import TRACK_ISRCS
from longplay.catalog.store import CatalogStore


def catalog_stats(store: CatalogStore) -> dict[str, Any]:
    with store.read() as con:

        def one(sql: str) -> Any:
            return con.execute(sql).fetchall()[0][0]

        out: dict[str, Any] = {
            "generation": store.current_name(),
            "tracks": one("SELECT count(*) FROM tracks"),
            # Over every ISRC a track carries, not tracks.isrc alone: a recording's second
            # ISRC (track_isrcs) is as much an ISRC of the catalog as its first.
            "unique_isrcs": one(f"SELECT count(DISTINCT isrc) FROM ({TRACK_ISRCS})"),
            "tracks_with_isrc": one(f"SELECT count(DISTINCT track_id) FROM ({TRACK_ISRCS})"),
            "recordings": one("SELECT count(DISTINCT recording_id) FROM tracks"),
            "artists": one("SELECT count(*) FROM artists"),
            "albums": one("SELECT count(*) FROM albums"),
            "genres": one("SELECT count(*) FROM genres"),
            "listens": int(one("SELECT coalesce(sum(listen_count), 0) FROM tracks")),
        }
        hist = con.execute("""
            SELECT bucket, count(*) FROM (
                SELECT CASE WHEN popularity IS NULL THEN NULL WHEN popularity = 0 THEN 0
                            ELSE least(90, (popularity - 1) // 10 * 10 + 1) END AS bucket
                FROM tracks) GROUP BY bucket ORDER BY bucket NULLS LAST""").fetchall()
        out["popularity_histogram"] = [
            {
                "range": "unknown"
                if b is None
                else "0"
                if b == 0
                else f"{b}-{b + 9 if b < 91 else 100}",
                "tracks": n,
            }
            for b, n in hist
        ]
        out["sources"] = [
            {"source": s, "tracks": n}
            for s, n in con.execute(
                "SELECT source, count(*) FROM tracks GROUP BY source ORDER BY source"
            ).fetchall()
        ]
    return out


def format_stats(s: dict[str, Any]) -> str:
    lines = [f"generation      {s['generation']}"]
    for key in ("tracks", "unique_isrcs", "recordings", "artists", "albums", "genres", "listens"):
        lines.append(f"{key.replace('_', ' '):<15} {s[key]:>14,}")
    lines.append("popularity      tracks")
    top = max((h["tracks"] for h in s["popularity_histogram"]), default=1) or 1
    for h in s["popularity_histogram"]:
        bar = "█" * max(1 if h["tracks"] else 0, round(30 * h["tracks"] / top))
        lines.append(f"  {h['range']:<12} {h['tracks']:>14,} {bar}")
    if len(s["sources"]) > 1:
        lines.append("sources")
        lines.extend(f"  {x['source']:<12} {x['tracks']:>14,}" for x in s["sources"])
    return "\n".join(lines)
