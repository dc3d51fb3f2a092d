"""What a plan says, read back from the catalog: totals per action, reason and tier, as text or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from longplay.plan.budget import tier_label
from longplay.units import format_bytes


def share(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database() "
            "AND NOT temporary",
            [name],
        ).fetchall()[0][0]
    )


@dataclass
class PlanReport:
    generation: str
    meta: dict[str, Any]  # options, job, base, phase, created_at
    rows: list[dict[str, Any]]  # plan_summary rows
    exclusions: list[dict[str, Any]] = field(default_factory=list)
    reused: bool = False  # the current generation already had this plan

    @property
    def fresh(self) -> bool:
        """Made in the generation it was read from (a later ingest copies plan tables along)."""
        return self.meta.get("generation") == self.generation

    # -- totals -----------------------------------------------------------------------------
    def _sum(self, key: str, **where: Any) -> int:
        return sum(int(r[key]) for r in self.rows if all(r[k] == v for k, v in where.items()))

    @property
    def total_listens(self) -> int:
        return self._sum("listens")

    @property
    def recordings(self) -> int:
        return self._sum("recordings")

    def kept(self, key: str) -> int:
        return self._sum(key) - self._sum(key, action="skip")

    def totals(self) -> dict[str, Any]:
        listens = self.total_listens
        return {
            "recordings": self.recordings,
            "files": self.kept("recordings"),
            "bytes": self.kept("bytes"),
            "tracks_covered": self.kept("tracks"),
            "listens": listens,
            "listens_covered": self.kept("listens"),
            "share_covered": share(self.kept("listens"), listens),
            "budget": self.meta["options"]["budget"],
            "missing": {
                "files": self._sum("missing"),
                "bytes": self._sum("missing_bytes"),
                "listens": self._sum("missing_listens"),
            },
            "by_action": {
                a: {
                    "files": self._sum("recordings", action=a),
                    "bytes": self._sum("bytes", action=a),
                    "listens": self._sum("listens", action=a),
                }
                for a in ("original", "opus", "skip")
            },
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "totals": self.totals()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    # -- text -------------------------------------------------------------------------------
    def format(self) -> str:
        o = self.meta["options"]
        t = self.totals()
        tiers = tuple(o["tiers"])
        L = t["listens"]
        lines = [
            f"plan {self.generation}{' (already current)' if self.reused else ''}: budget "
            f"{format_bytes(o['budget'])}, policy {o['policy']}: originals for popularity > "
            f"{o['original_popularity']}, Opus {o['opus_bitrate'] / 1000:g} kbit/s for the rest",
            f"sizes: {'scanned files where matched, else ' if o['files_scanned'] else ''}virtual: "
            f"duration × {o['original_bitrate'] / 1000:g} kbit/s for originals, "
            f"{o['opus_bitrate'] / 1000:g} kbit/s for Opus, plus Ogg overhead",
            (
                f"everything plannable fits as Opus ({format_bytes(self.meta['base'])}), so nothing is "
                "skipped for the budget; the least-listened originals are demoted to Opus as needed"
                if self.meta["phase"] == "demote"
                else f"even everything as Opus ({format_bytes(self.meta['base'])}) exceeds the budget: "
                "all are Opus and the least-listened recordings are skipped"
            ),
            "",
            f"{'action':<9} {'reason':<15} {'files':>13} {'bytes':>11} {'listens':>16} {'share':>8}",
        ]
        by_ar: dict[tuple[str, str], dict[str, int]] = {}
        for r in self.rows:
            k = (r["action"], r["reason"] or "")
            d = by_ar.setdefault(k, {"recordings": 0, "bytes": 0, "listens": 0})
            for key in d:
                d[key] += int(r[key])
        order = {"original": 0, "opus": 1, "skip": 2}
        for (action, reason), d in sorted(
            by_ar.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])
        ):
            lines.append(
                f"{action:<9} {reason:<15} {d['recordings']:>13,} {format_bytes(d['bytes']):>11} "
                f"{d['listens']:>16,} {share(d['listens'], L):>7.2f}%"
            )
        lines.append(
            f"{'kept':<9} {'':<15} {t['files']:>13,} {format_bytes(t['bytes']):>11} "
            f"{t['listens_covered']:>16,} {t['share_covered']:>7.2f}%"
        )
        used = share(t["bytes"], o["budget"]) if o["budget"] else 0.0
        lines.append(
            f"budget used {used:.2f}% of {format_bytes(o['budget'])}; "
            f"{t['tracks_covered']:,} catalog tracks covered by {t['files']:,} files "
            f"(of {t['recordings']:,} recordings)"
        )
        lines += [
            "",
            f"{'tier':<4} {'popularity':<17} {'files':>13} {'bytes':>11} {'share':>8} "
            f"{'originals':>11} {'opus':>11} {'skipped':>11}",
        ]
        for tier in sorted({int(r["tier"]) for r in self.rows}):
            files = self._sum("recordings", tier=tier) - self._sum(
                "recordings", tier=tier, action="skip"
            )
            byts = self._sum("bytes", tier=tier)
            cov = self._sum("listens", tier=tier) - self._sum("listens", tier=tier, action="skip")
            lines.append(
                f"{tier:<4} {tier_label(tier, tiers):<17} {files:>13,} {format_bytes(byts):>11} "
                f"{share(cov, L):>7.2f}% {self._sum('recordings', tier=tier, action='original'):>11,} "
                f"{self._sum('recordings', tier=tier, action='opus'):>11,} "
                f"{self._sum('recordings', tier=tier, action='skip'):>11,}"
            )
        m = t["missing"]
        if o["files_scanned"]:
            lines.append("")
            lines.append(
                f"wanted but missing: {m['files']:,} recordings without a scanned file "
                f"({format_bytes(m['bytes'])} estimated, {share(m['listens'], L):.2f}% of listens)"
            )
        if self.exclusions:
            hit = sum(int(e["recordings"]) for e in self.exclusions)
            lines.append("")
            lines.append(
                f"exclusions: {len(self.exclusions)} entries skipped {self._sum('recordings', reason='excluded'):,} "
                f"recordings ({hit:,} entry matches)"
            )
            for e in self.exclusions:
                if not e["recordings"]:
                    lines.append(f"  line {e['line']}: {e['kind']}:{e['value']} matched nothing")
        return "\n".join(lines)


def load(
    con: duckdb.DuckDBPyConnection, generation: str, *, reused: bool = False
) -> PlanReport | None:
    """The plan stored in a catalog connection, or None when it has none."""
    if not table_exists(con, "plan_meta"):
        return None
    meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM plan_meta").fetchall()}
    cols = [d[0] for d in con.execute("SELECT * FROM plan_summary LIMIT 0").description]
    rows = [
        dict(zip(cols, r, strict=True))
        for r in con.execute("SELECT * FROM plan_summary").fetchall()
    ]
    excl: list[dict[str, Any]] = []
    if table_exists(con, "plan_exclusions"):
        ecols = [d[0] for d in con.execute("SELECT * FROM plan_exclusions LIMIT 0").description]
        excl = [
            dict(zip(ecols, r, strict=True))
            for r in con.execute("SELECT * FROM plan_exclusions ORDER BY line").fetchall()
        ]
    return PlanReport(generation=generation, meta=meta, rows=rows, exclusions=excl, reused=reused)
