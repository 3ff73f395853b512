"""Previews for models: any image a model is shown is small enough for it (long side and bytes capped).

``engine.previews`` on an ``Engine`` is a ``PreviewService``. Originals never go to a model; a preview is
rendered through ``engine.render`` (so documents and every decodable format work) and then shrunk until
it fits ``PreviewSettings``. Names are imported lazily so ``engine.settings`` can import the settings model.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Preview": "engine.previews.fit",
    "fit_for_model": "engine.previews.fit",
    "PreviewService": "engine.previews.service",
    "PreviewSettings": "engine.previews.settings",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    return getattr(import_module(_EXPORTS[name]), name)
