"""The list of tool groups. A new group module is one line in ``GROUPS``."""

from __future__ import annotations

from typing import Any

from tools_manifest import (
    analysis, assets, generation, imaging, jobs, library, pipelines, render, scrape, search, usage,
)
from tools_manifest.spec import ToolSpec, unique_ids

GROUPS = [
    assets,
    render,
    search,
    usage,
    jobs,
    imaging,
    generation,
    scrape,
    analysis,
    pipelines,
    library,
]


def all_tools() -> list[ToolSpec[Any, Any]]:
    """Every tool, in group order; ids are unique (checked here, so a clash fails at import of the server)."""
    return unique_ids([tool for group in GROUPS for tool in group.TOOLS], "tools")


def get_tool(tool_id: str) -> ToolSpec[Any, Any] | None:
    return next((tool for tool in all_tools() if tool.id == tool_id), None)
