"""Image operations for the image tools and file pipelines: one ``Operation`` per tool, run by ``chain``.

Inputs are sniffed files; pictures stay decoded between steps; outputs are files (or JSON). Geometry and
watermarks are the render steps' own (``chain.render_on``), so a resize here is a render's resize.
Names are imported lazily so ``engine.settings`` can import ``engine.imaging.models`` without a cycle.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    **dict.fromkeys(("check_inputs", "decode", "encode", "render_on", "run", "sniffed"), "engine.imaging.chain"),
    **dict.fromkeys(("RASTER_FORMATS", "Encoding", "Gives", "ImageFile", "Item", "Picture", "Result", "Takes",
                     "ToolFile"), "engine.imaging.items"),
    **dict.fromkeys(("ImagingSettings", "missing_model", "require_models"), "engine.imaging.models"),
    **dict.fromkeys(("Operation", "Wants", "Workbench"), "engine.imaging.operation"),
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    return getattr(import_module(_EXPORTS[name]), name)
