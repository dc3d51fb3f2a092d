"""The coverage plot: share of listens against files kept and against bytes kept (PNG, matplotlib)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from longplay.units import format_bytes

if TYPE_CHECKING:
    from longplay.plan.coverage import CoverageReport


def _count_label(x: float, _pos: int = 0) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            v = x / scale
            return f"{v:g}{suffix}"
    return f"{x:g}"


def _bytes_label(x: float, _pos: int = 0) -> str:
    return format_bytes(x, ".3g")


def draw_coverage(rep: CoverageReport, out: Path) -> Path:
    """Write the two-panel coverage plot to ``out`` (PNG) atomically; returns ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, MultipleLocator

    total = rep.listens or 1
    files = [p["files"] for p in rep.curve]
    pct = [100.0 * p["listens"] / total for p in rep.curve]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), dpi=110, sharey=True)
    fig.suptitle(
        f"Listens covered — {rep.generation}: {rep.recordings:,} recordings, "
        f"{rep.listens:,} listens",
        fontsize=12,
    )

    left.plot(files, pct, color="tab:blue", lw=2)
    left.set_xscale("log")
    left.set_xlabel("files kept (recordings, most listened first)")
    left.set_ylabel("share of all listens covered (%)")
    left.xaxis.set_major_formatter(FuncFormatter(_count_label))

    right.plot(
        [p["bytes_original"] for p in rep.curve],
        pct,
        color="tab:blue",
        lw=2,
        label=f"all originals ({rep.original_bitrate / 1000:g} kbit/s)",
    )
    right.plot(
        [p["bytes_mix"] for p in rep.curve],
        pct,
        color="tab:orange",
        lw=2,
        ls="--",
        label=f"mix: Opus {rep.opus_bitrate / 1000:g} kbit/s for popularity ≤ {rep.original_popularity}",
    )
    right.set_xscale("log")
    right.set_xlabel("bytes kept")
    right.xaxis.set_major_formatter(FuncFormatter(_bytes_label))

    for ax in (left, right):
        ax.set_ylim(0, 101)
        ax.yaxis.set_major_locator(MultipleLocator(10))
        ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
        ax.grid(True, which="major", alpha=0.4)
        ax.grid(True, which="minor", axis="x", alpha=0.12)
        for n in rep.needed:
            if n["target"] in (90.0, 99.0):
                ax.axhline(n["target"], color="grey", lw=0.8, ls=":")
    for n in rep.needed:
        if n["target"] in (90.0, 99.0):  # where the curve crosses 90% and 99%, with its figures
            left.plot([n["files"]], [n["target"]], "o", ms=4, color="grey")
            left.annotate(
                f"{n['target']:g}%: {n['files']:,} files",
                (n["files"], n["target"]),
                xytext=(8, -16 if n["target"] == 99.0 else -14),
                textcoords="offset points",
                fontsize=9,
                color="dimgrey",
            )
            right.plot([n["bytes_mix"]], [n["target"]], "o", ms=4, color="grey")
            right.annotate(
                _bytes_label(n["bytes_mix"]),
                (n["bytes_mix"], n["target"]),
                xytext=(8, -14),
                textcoords="offset points",
                fontsize=9,
                color="dimgrey",
            )
    if rep.plan and rep.plan["files"]:
        p = rep.plan
        left.plot([p["files"]], [p["share"]], "o", color="tab:red", label="current plan")
        right.plot(
            [p["bytes"]],
            [p["share"]],
            "o",
            color="tab:red",
            label=f"current plan ({_bytes_label(p['budget'])} budget)",
        )
        left.legend(loc="lower right")
    right.legend(loc="lower right")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, out)
    return out
