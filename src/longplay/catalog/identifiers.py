"""ISRC and UPC/EAN normalization and checks, and stable numeric IDs.

Each rule exists twice, in Python and as a DuckDB macro, so that batch ingest runs as SQL and
single values (tags, CLI arguments) use the same rule; tests check the two agree.
"""

from __future__ import annotations

import hashlib
import re

_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}")
_GTIN = re.compile(r"[0-9]{8}|[0-9]{12,14}")


def normalize_isrc(value: str) -> str:
    return value.strip().upper().replace("-", "").replace(" ", "")


def isrc_problem(value: str) -> str | None:
    """None when ``value`` (already normalized) is a well-formed ISRC, else what is wrong."""
    if len(value) != 12:
        return f"ISRC {value!r} has {len(value)} characters, not 12"
    if not _ISRC.fullmatch(value):
        return (
            f"ISRC {value!r} is not CC-XXX-YY-NNNNN "
            "(2-letter country, 3 alphanumeric registrant, 2-digit year, 5-digit designation)"
        )
    return None


def normalize_upc(value: str) -> str:
    return value.strip().replace("-", "").replace(" ", "")


def gtin_check_digit(body: str) -> int:
    """GS1 check digit of the digits before it (UPC-A, EAN-8/13, GTIN-14)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def upc_problem(value: str) -> str | None:
    """None when ``value`` (already normalized) is a valid UPC/EAN/GTIN, else what is wrong."""
    if not _GTIN.fullmatch(value):
        return f"UPC {value!r} is not 8, 12, 13 or 14 digits"
    if gtin_check_digit(value[:-1]) != int(value[-1]):
        return f"UPC {value!r} fails its check digit (expected {gtin_check_digit(value[:-1])})"
    return None


def stable_id(text: str) -> int:
    """A positive 63-bit ID from a key; equal to the SQL macro ``stable_id``."""
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest(), "little") >> 65


SQL_MACROS = r"""
CREATE OR REPLACE MACRO stable_id(s) AS (md5_number(s) >> 65)::BIGINT;
CREATE OR REPLACE MACRO norm_isrc(s) AS nullif(upper(replace(replace(trim(s), '-', ''), ' ', '')), '');
CREATE OR REPLACE MACRO isrc_ok(s) AS regexp_full_match(s, '[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}');
CREATE OR REPLACE MACRO norm_upc(s) AS nullif(replace(replace(trim(s), '-', ''), ' ', ''), '');
-- GS1: digits weighted 1, 3, 1, 3, ... from the right (check digit included) sum to 0 mod 10.
-- Integer arithmetic on the number itself: an order of magnitude faster than string lambdas.
CREATE OR REPLACE MACRO gtin_sum(n) AS (((n // 1) % 10) * 1 + ((n // 10) % 10) * 3 + ((n // 100) % 10) * 1 + ((n // 1000) % 10) * 3 + ((n // 10000) % 10) * 1 + ((n // 100000) % 10) * 3 + ((n // 1000000) % 10) * 1 + ((n // 10000000) % 10) * 3 + ((n // 100000000) % 10) * 1 + ((n // 1000000000) % 10) * 3 + ((n // 10000000000) % 10) * 1 + ((n // 100000000000) % 10) * 3 + ((n // 1000000000000) % 10) * 1 + ((n // 10000000000000) % 10) * 3);
CREATE OR REPLACE MACRO gtin_ok(s) AS coalesce(
    regexp_full_match(s, '[0-9]{8}|[0-9]{12,14}') AND gtin_sum(TRY_CAST(s AS BIGINT)) % 10 = 0, false);
"""
