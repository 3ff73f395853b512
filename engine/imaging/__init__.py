"""Image operations for the image tools and file pipelines: one ``Operation`` per tool, run by ``chain``.

Inputs are sniffed files; pictures stay decoded between steps; outputs are files (or JSON). Geometry and
watermarks are the render steps' own (``chain.render_on``), so a resize here is a render's resize. The
runner is ``engine.imaging.chain`` and the service ``engine.imaging.service`` (imported from there: this
package is imported by the settings, before the services exist).
"""

from engine.imaging.items import (
    RASTER_FORMATS, Encoding, Gives, ImageFile, Item, Picture, Result, Takes, ToolFile,
)
from engine.imaging.operation import Operation, Wants, Workbench

__all__ = [
    "RASTER_FORMATS", "Encoding", "Gives", "ImageFile", "Item", "Operation", "Picture", "Result", "Takes", "ToolFile",
    "Wants", "Workbench",
]
