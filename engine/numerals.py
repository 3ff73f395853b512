"""Numbers written in request text (headers, query strings, cursors): ASCII only, bounded, finite.

``int()`` and ``float()`` accept far more than a client means: other scripts' digits (``'٣'``), ``'²'``
passes ``str.isdigit`` and then fails ``int()``, thousands of digits, ``nan`` and ``inf``. Request text
is read here instead, and anything else is ``None`` for the caller to refuse with its own error code.
"""

from __future__ import annotations

import math
import re

MAX_DIGITS = 18  # every accepted integer fits a signed 64-bit catalog column
ASCII_INTEGER = f"ASCII digits 0-9 (at most {MAX_DIGITS})"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)


def ascii_int(raw: object) -> int | None:
    """The value of ``raw`` when it is 1-18 ASCII digits (surrounding spaces allowed), else ``None``."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw < 10**MAX_DIGITS else None
    text = raw.strip(" \t")
    if not 0 < len(text) <= MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def ascii_float(raw: object) -> float | None:
    """A finite decimal written in ASCII (``0.5``, ``-1e3``), else ``None`` (no ``nan``, ``inf``, ``1e999``)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw) if math.isfinite(raw) else None
    if not isinstance(raw, str) or not _DECIMAL.fullmatch(raw.strip(" \t")):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None
