"""Numbers in request text: ASCII digits only, bounded, finite."""

from __future__ import annotations

import pytest

from engine.numerals import ascii_float, ascii_int

HOSTILE = ["", " ", "²", "٣", "１", "-1", "+1", "1.0", "1e3", "0x10", "9" * 19, "9" * 5000, "nan", "inf", "1_000", "1 2"]


@pytest.mark.parametrize("raw", HOSTILE)
def test_ascii_int_refuses(raw: str) -> None:
    assert ascii_int(raw) is None


@pytest.mark.parametrize(("raw", "value"), [("0", 0), (" 42 ", 42), ("9" * 18, 10**18 - 1), (7, 7)])
def test_ascii_int_reads(raw: object, value: int) -> None:
    assert ascii_int(raw) == value


@pytest.mark.parametrize("raw", ["", "nan", "NaN", "inf", "-Infinity", "1e999", "٠.٥", "0x1p3", "1,5", "9" * 5000, float("nan")])
def test_ascii_float_refuses(raw: object) -> None:
    assert ascii_float(raw) is None


@pytest.mark.parametrize(("raw", "value"), [("0.5", 0.5), (".25", 0.25), ("-1e3", -1000.0), ("1", 1.0), (2, 2.0)])
def test_ascii_float_reads(raw: object, value: float) -> None:
    assert ascii_float(raw) == value
