"""The filename a ``download=true`` answer carries: made from the original name and the output format."""

from __future__ import annotations

import re
from pathlib import PurePath

EXTENSIONS = {"jpeg": "jpg"}


def download_name(original: str, fmt: str) -> str:
    """``Quarterly Report.pdf`` + webp -> ``quarterly_report-altered.webp``; the client's wishes are ignored."""
    stem = PurePath(original.replace("\\", "/")).stem.lower()
    safe = re.sub(r"[^a-z0-9._-]+", "_", stem).strip("._-")[:100] or "asset"
    return f"{safe}-altered.{EXTENSIONS.get(fmt, fmt)}"
