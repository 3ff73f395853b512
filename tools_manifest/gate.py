"""Before a tool runs, on every path (MCP, REST ``/v1/tools``, pipeline steps): the account has not turned
it off, and its work is within the account's quota and the caller's rate limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from engine.plans import Work
from engine.usage import UsageKind
from tools_manifest.spec import Cost

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

WORK_BY_ID = {"scrape_images": Work.SCRAPE}  # costly by what it starts, not by what it bills


class Tool(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def cost(self) -> Cost: ...


def work_of(tool: Tool) -> Work:
    """What a call counts as: by its ledger kinds (generated images, AI operations), else one request."""
    if tool.id in WORK_BY_ID:
        return WORK_BY_ID[tool.id]
    if UsageKind.GENERATION in tool.cost.billed_as:
        return Work.GENERATE
    if UsageKind.AI_OPERATION in tool.cost.billed_as:
        return Work.ANALYSIS
    return Work.REQUEST


async def admit_tool(engine: Engine, principal: Principal, tool: Tool) -> None:
    """403 ``tool_disabled``, 402 ``quota_exceeded`` or 429 ``rate_limited`` before the tool starts; the
    request that carries the call already counted as one."""
    await engine.plans.tool_call(principal, tool.id, work_of(tool), counted=1)


def tool_ids() -> list[str]:
    """Every tool an account may turn off: agent tools and image tools."""
    from tools_manifest.image_tools import image_tools
    from tools_manifest.registry import all_tools

    return [tool.id for tool in all_tools()] + [tool.id for tool in image_tools()]
