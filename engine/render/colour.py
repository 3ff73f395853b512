"""Colours for libvips: a normalised ``rrggbbaa`` string to band values."""

from __future__ import annotations


def rgba(hex8: str) -> list[int]:
    return [int(hex8[i : i + 2], 16) for i in range(0, 8, 2)]
