"""The image tools (the image-tools API's catalogue), one module per category of its tables.

A new category module is one line in ``CATEGORIES``; a new tool is one ``ImageToolSpec`` in its module.
REST (``/v1/tools/{id}``), file pipelines, ``GET /v1/pipeline/tools``, the MCP meta-tools and the
generated documents all read this list.
"""

from __future__ import annotations

from tools_manifest.image_tools import (
    adjustments, essentials, formats, generative, layout, optimization, overlay, utilities, vision,
)
from tools_manifest.image_tools.spec import Category, ImageToolSpec
from tools_manifest.spec import unique_ids

CATEGORIES = [  # the image-tools API's own order of its tables
    essentials,
    optimization,
    adjustments,
    vision,
    generative,
    overlay,
    utilities,
    layout,
    formats,
]


def image_tools() -> list[ImageToolSpec]:
    """Every image tool, in catalogue order; ids are unique (checked at import of the server)."""
    return unique_ids([tool for module in CATEGORIES for tool in module.TOOLS], "image tools")


def get_image_tool(tool_id: str) -> ImageToolSpec | None:
    return next((tool for tool in image_tools() if tool.id == tool_id), None)


__all__ = ["Category", "ImageToolSpec", "get_image_tool", "image_tools"]
