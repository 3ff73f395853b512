"""JSON written by a client (a body, a form field, a query parameter), read strictly.

``json.loads`` alone lets through ``NaN``, ``Infinity`` and ``1e999`` (which no catalog or answer can hold)
and fails with ``ValueError`` or ``RecursionError`` (not a ``JSONDecodeError``) on numbers of thousands of
digits and on deep nesting; here all of those are the caller's error with its code.
"""

from __future__ import annotations

import json
import math
from typing import Any

from engine.errors import InvalidInput

VALID = "standard JSON (numbers finite and under 4300 digits, no NaN or Infinity)"


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def parse_json(raw: str | bytes, *, what: str, code: str) -> Any:
    """The parsed value, or ``InvalidInput(code)`` naming ``what`` was sent and what is valid."""
    try:
        return json.loads(raw, parse_constant=_constant, parse_float=_finite)
    except json.JSONDecodeError as error:
        problem = error.msg
    except UnicodeDecodeError:
        problem = "it is not UTF-8 text"
    except (ValueError, RecursionError) as error:
        problem = str(error).split(";")[0] if isinstance(error, ValueError) else "it is nested too deeply"
    raise InvalidInput(f"{what} must be {VALID}: {problem}.", code=code)
