"""Sizes and rates: one parser and one formatter, as every command and report uses them."""

from __future__ import annotations

import pytest

from longplay.errors import InputError
from longplay.units import format_bytes, format_rate, parse_size


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("300TB", 300 * 10**12),
        ("2 TiB", 2 * 2**40),
        ("1.5TiB", int(1.5 * 2**40)),
        ("500gb", 500 * 10**9),
        ("10MB", 10**7),
        ("75k", 75_000),
        ("1_048_576", 1_048_576),
        ("0", 0),
        (4096, 4096),
    ],
)
def test_sizes_parse(text: str | int, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["lots", "", "-5GB", "5XB", "nan", "inf", "1e999TB", "GB"])
def test_not_a_size_names_the_input(text: str) -> None:
    with pytest.raises(InputError, match="not a size"):
        parse_size(text)


def test_bytes_format_in_decimal_units() -> None:
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(1_300_000) == "1.30 MB"
    assert format_bytes(81_250) == "81.25 kB"
    assert format_bytes(300 * 10**12) == "300.00 TB"
    assert format_bytes(2 * 10**15) == "2.00 PB"
    assert format_bytes(-2_000_000) == "-2.00 MB"
    assert format_bytes(1_234_567, ".3g") == "1.23 MB"


def test_rates_format_with_their_unit() -> None:
    assert format_rate(1_500_000) == "1.5 MB/s"
    assert format_rate(512) == "512 B/s"
    assert format_rate(2_300, "files") == "2.3k files/s"
    assert format_rate(12, "records") == "12 records/s"
    assert format_rate(3.2e9) == "3.2 GB/s"
