"""Sizes and rates as people write them: one parser and one formatter each, used everywhere.

Decimal units by default, as budgets and disks are sold (300TB = 300·10¹² bytes); binary
units when asked for by name (2TiB = 2·2⁴⁰). The same parser reads bitrates (75k = 75,000).
"""

from __future__ import annotations

from longplay.errors import InputError

_UNITS = {
    "": 1,
    "B": 1,
    "K": 10**3,
    "KB": 10**3,
    "M": 10**6,
    "MB": 10**6,
    "G": 10**9,
    "GB": 10**9,
    "T": 10**12,
    "TB": 10**12,
    "P": 10**15,
    "PB": 10**15,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
    "PIB": 2**50,
}
_DECIMAL = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
EXAMPLES = "300TB, 2TiB, 512MB, 75k"


def parse_size(text: str | int) -> int:
    """Bytes (or bits/s) from ``300TB``, ``2 TiB``, ``1.5TiB``, ``512MB``, ``75k`` or ``1048576``.

    Raises :class:`InputError` naming the text when it is not a size.
    """
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    s = str(text).strip().upper().replace(" ", "").replace("_", "")
    number = s.rstrip("KMGTPIB")
    unit = s[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    # `not value >= 0` also refuses NaN; inf would overflow int() below.
    if not number or unit not in _UNITS or not value >= 0 or value == float("inf"):
        raise InputError(f"not a size: {text!r} (try {EXAMPLES})")
    return int(value * _UNITS[unit])


def format_bytes(n: float, spec: str = ".2f") -> str:
    """``1.30 MB``: decimal units from kB to PB, whole bytes below 1 kB."""
    for scale, prefix in _DECIMAL:
        if abs(n) >= scale:
            return f"{n / scale:{spec}} {prefix}B"
    return f"{int(n)} B"


def format_rate(per_second: float, unit: str = "B") -> str:
    """``1.5 MB/s`` for bytes, ``1.5k files/s`` for anything else; one decimal."""
    for scale, prefix in _DECIMAL[2:]:
        if per_second >= scale:
            value = f"{per_second / scale:.1f}"
            return f"{value} {prefix}B/s" if unit == "B" else f"{value}{prefix} {unit}/s"
    return f"{per_second:.0f} {unit}/s"
