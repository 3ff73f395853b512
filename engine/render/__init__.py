"""Render: on-demand image transformations with libvips, signed URLs and a derivative cache.

``engine.render`` on an ``Engine`` is a ``RenderService``; ``RenderParams`` is the one parameter model.
Names are imported lazily so ``engine.settings`` can import ``engine.render.settings`` without a cycle.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "RenderParams": "engine.render.params",
    "RenderResult": "engine.render.models",
    "RenderService": "engine.render.service",
    "RenderSettings": "engine.render.settings",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    return getattr(import_module(_EXPORTS[name]), name)
